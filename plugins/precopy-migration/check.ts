// What can be known before the run is refused at validation time (VMSCN0222), at the argument
// concerned: a destination that is the VM's own host, one too small for it as the scenario
// declares the placement, RDMA without RDMA NICs, a disk the destination cannot reach when
// copying disks is refused. What depends on the run (free memory after other migrations, a
// VM already migrating) is still checked when the action runs.
import { formatBytes, type OptionValue, type ScenarioView, type VerbProblem } from "../../core/api.js";

export function checkMigrate(call: { args: Record<string, OptionValue>; options: Record<string, OptionValue> }, s: ScenarioView): VerbProblem[] {
  return [...checkCoding(call.args, call.options), ...checkPostcopy(call.args, call.options), ...checkPlacement(call, s)];
}

/** QEMU's post-copy is a capability of QEMU's loop: it needs converge qemu, and pre-copy first. */
function checkPostcopy(args: Record<string, OptionValue>, o: Record<string, OptionValue>): VerbProblem[] {
  const out: VerbProblem[] = [];
  if (o["postcopy-ram"] === true && o["converge"] !== "qemu") out.push({ message: "postcopy-ram follows QEMU's loop, which converge qemu runs", at: "postcopy-ram", hint: "add converge qemu, or use after demand-paging for the other rules" });
  if (o["postcopy-ram"] === true && args["mode"] === "demand-paging") out.push({ message: "postcopy-ram switches to post-copy after some pre-copy; with demand-paging there is none", at: "postcopy-ram", hint: "use with precopy" });
  if (o["postcopy-ram"] === true && Array.isArray(o["after"]) && !(o["after"].length === 1 && o["after"][0] === "stop-and-copy")) out.push({ message: "postcopy-ram decides itself what moves the pages left (the source pushes them; a touched page is requested)", at: "after", hint: "drop after" });
  if (o["wire"] === "raw") {
    // Coded pages and zero-block markers are QEMU's formats, with their headers.
    for (const name of ["compress", "xbzrle", "zero-blocks"]) {
      const v = o[name];
      if (v === true || (name === "compress" && v !== undefined && v !== "none")) out.push({ message: `wire raw carries page and block payloads only; ${name} is one of QEMU's formats, with its headers`, at: name, hint: `drop ${name}, or use wire qemu` });
    }
  }
  if (o["start-postcopy-after"] !== undefined && o["postcopy-ram"] !== true) out.push({ message: "start-postcopy-after needs postcopy-ram", at: "start-postcopy-after", hint: "add postcopy-ram" });
  return out;
}

function checkPlacement(call: { args: Record<string, OptionValue>; options: Record<string, OptionValue> }, s: ScenarioView): VerbProblem[] {
  const vmName = String(call.args["vm"]);
  const destName = String(call.args["host"]);
  const vm = s.vms.get(vmName);
  const dest = s.hosts.get(destName);
  if (!vm || !dest) return [];
  if (vm.host === destName) return [{ message: `VM "${vmName}" is declared on host "${destName}" already`, at: "host" }];
  const problems: VerbProblem[] = [];
  const placed = [...s.vms.values()].filter((v) => v.host === destName).reduce((sum, v) => sum + v.memoryBytes, 0);
  const free = dest.memoryBytes - placed;
  if (vm.memoryBytes > free) {
    problems.push({
      message: `host "${destName}" cannot hold VM "${vmName}": it needs ${formatBytes(vm.memoryBytes)} and the VMs declared on it leave ${formatBytes(free)}`,
      at: "host",
      hint: "migrate to a larger host, or move a VM away first",
    });
  }
  if (call.options["transport"] === "rdma") {
    const src = s.hosts.get(vm.host);
    if (!dest.rdma || !src?.rdma) problems.push({ message: `RDMA transport needs RDMA NICs on both hosts; host "${!dest.rdma ? destName : vm.host}" has none`, at: "transport", hint: 'add "rdma" to the host, or use transport tcp' });
  }
  if (call.options["disk"] === "refuse") {
    for (const ds of vm.disks) {
      if (!(s.datastores.get(ds)?.hosts ?? []).includes(destName)) {
        problems.push({ message: `VM "${vmName}" has a disk on datastore "${ds}", which host "${destName}" cannot reach, and disk copy is refused`, at: "disk", hint: "use disk copy, or a datastore both hosts share" });
      }
    }
  }
  return problems;
}

/** Compression and XBZRLE options that would do nothing are refused rather than ignored. */
function checkCoding(args: Record<string, OptionValue>, o: Record<string, OptionValue>): VerbProblem[] {
  const out: VerbProblem[] = [];
  const compress = o["compress"] ?? "none";
  if (o["compress-level"] !== undefined && compress !== "zlib") out.push({ message: `compress-level is zlib's level; this migration's codec is ${compress}`, at: "compress-level", hint: "add compress zlib, or drop compress-level" });
  if (compress === "none") {
    for (const name of ["compress-threads", "decompress-threads"]) if (o[name] !== undefined) out.push({ message: `${name} needs a codec (compress zlib or compress snappy)`, at: name });
  }
  if (o["xbzrle-cache-size"] !== undefined && o["xbzrle"] !== true) out.push({ message: "xbzrle-cache-size needs xbzrle", at: "xbzrle-cache-size", hint: "add xbzrle" });
  // QEMU refuses the parameter otherwise (migrate_params_check: "a power of two no less than the target page size").
  const cache = o["xbzrle-cache-size"];
  if (typeof cache === "number" && !isPowerOfTwo(cache)) out.push({ message: `xbzrle-cache-size must be a power of two (QEMU refuses ${cache} B)`, at: "xbzrle-cache-size", hint: `use ${2 ** Math.floor(Math.log2(cache))} B or ${2 ** Math.ceil(Math.log2(cache))} B` });
  if (args["mode"] === "demand-paging" && (compress !== "none" || o["xbzrle"] === true)) {
    out.push({ message: "compress and xbzrle code pre-copied pages, and with demand-paging no page is pre-copied", at: compress !== "none" ? "compress" : "xbzrle", hint: "use with precopy" });
  }
  return out;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}
