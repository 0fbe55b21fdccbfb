// Checks of the platform declarations: hosts, links, datastores, VMs and their workloads.
import { dirname, resolve } from "node:path";
import type { ContentMixNode, DatastoreDecl, HostDecl, LinkDecl, Node, PatternNode, PropertyProblem, Quantity, VmDecl, WorkloadNode } from "../ast.js";
import { DEFAULT_MIX, type ContentMix } from "../../core/memory/content.js";
import type { Activity, AccessPattern, DiskActivity, WorkloadSpec } from "../../core/workload/spec.js";
import { defaultRunConfig, PAGE_SIZE } from "../../core/config.js";
import { asWhole, LIMITS, type Dimension } from "../../core/units.js";
import type { VmSpec } from "../../core/world/vm-spec.js";
import { BANDWIDTH_BOUNDS, inDimension, inRange, plainNumber, SAFE_MAX, timeBounds, written, type Bounds } from "./values.js";
import type { ValidationContext } from "./context.js";

const DEFAULT_NIC = 10e9 / 8;
const DEFAULT_DATASTORE_LATENCY = 100_000;

/** Memory: at least one page, at most what 32-bit frame numbers can address. */
const MEMORY_BOUNDS: Bounds = { min: PAGE_SIZE, minText: "one page (4 KiB)", max: LIMITS.maxPages * PAGE_SIZE, maxText: "8 TiB", maxHint: "frame and page numbers are 32-bit: a host holds at most 2^31 pages of 4 KiB" };
const DISK_BOUNDS: Bounds = { whole: "bytes", max: LIMITS.maxDiskBytes, maxText: "1 PiB", maxHint: "a disk's dirty-block log has one entry per 1 MiB block, at most 2^30 of them" };
const DEVICE_STATE_BOUNDS: Bounds = { whole: "bytes", max: LIMITS.maxDeviceStateBytes, maxText: "1 GiB", maxHint: "a checkpoint holds the device state in one buffer" };

function problems(ctx: ValidationContext, list: readonly PropertyProblem[], owner: string): void {
  for (const p of list) ctx.error("VMSCN0214", `${owner} gives "${p.property}" twice`, p.loc, "keep one of them");
}

function required<T>(ctx: ValidationContext, value: T | undefined, what: string, owner: Node & { name?: { text: string } }, ownerText: string): value is T {
  if (value === undefined) {
    ctx.error("VMSCN0209", `${ownerText} needs ${what}`, (owner.name as Node | undefined)?.loc ?? owner.loc);
    return false;
  }
  return true;
}

export function checkHost(h: HostDecl, ctx: ValidationContext): void {
  const who = `host "${h.name.text}"`;
  problems(ctx, h.problems, who);
  let cpus: number | undefined;
  let memory: number | undefined;
  if (required(ctx, h.cpus, "a number of CPUs (cpus 16)", h, who)) cpus = plainNumber(h.cpus, `the CPUs of ${who}`, ctx.diagnostics, { min: 1, integer: true, ...SAFE_MAX });
  if (required(ctx, h.memory, "memory (memory 64 GiB)", h, who)) memory = quantity(ctx, h.memory, "bytes", `the memory of ${who}`, MEMORY_BOUNDS);
  const nic = h.nic ? quantity(ctx, h.nic, "bandwidth", `the NIC of ${who}`, BANDWIDTH_BOUNDS) : DEFAULT_NIC;
  if (memory !== undefined) ctx.hostMemory.set(h.name.text, memory);
  const nodes = h.nodes ? plainNumber(h.nodes, `the nodes of ${who}`, ctx.diagnostics, { min: 1, integer: true, ...SAFE_MAX }) : undefined;
  if (cpus !== undefined && memory !== undefined && nic !== undefined && (h.nodes === undefined || nodes !== undefined)) {
    ctx.plan.hosts.push({
      name: h.name.text,
      cpus,
      memoryBytes: memory,
      nicBandwidth: nic,
      rdma: h.rdma !== undefined,
      ...(nodes !== undefined ? { nodes } : {}),
      ...(h.vmm ? { vmm: h.vmm.value } : {}),
      ...(h.hypercalls ? { hypercalls: h.hypercalls.value } : {}),
    });
  }
}

export function checkLink(l: LinkDecl, ctx: ValidationContext): void {
  const name = `${l.a.text}<->${l.b.text}`;
  const who = `link ${name}`;
  problems(ctx, l.problems, who);
  const okA = ctx.resolve("host", l.a);
  const okB = ctx.resolve("host", l.b);
  if (okA && okB && l.a.text === l.b.text) ctx.error("VMSCN0213", `${who} connects a host to itself`, l.b.loc);
  let bandwidth: number | undefined;
  if (required(ctx, l.bandwidth, "a bandwidth (bandwidth 10 Gbit/s)", l, who)) bandwidth = quantity(ctx, l.bandwidth, "bandwidth", `the bandwidth of ${who}`, BANDWIDTH_BOUNDS);
  // The kernel takes a latency in whole ns: the value is rounded (1.1 ms is not exact in binary).
  const latency = l.latency ? quantity(ctx, l.latency, "time", `the latency of ${who}`, timeBounds(), true) : 0;
  if (okA && okB && bandwidth !== undefined && latency !== undefined) ctx.plan.links.push({ a: l.a.text, b: l.b.text, bandwidth, latency, name });
}

export function checkDatastore(d: DatastoreDecl, ctx: ValidationContext): void {
  const who = `datastore "${d.name.text}"`;
  problems(ctx, d.problems, who);
  let hosts: string[] = [];
  let ok = true;
  if (d.sharedBy && d.on) {
    ctx.error("VMSCN0213", `${who} is either shared (shared-by) or local (on), not both`, d.on.loc);
    ok = false;
  } else if (d.sharedBy) {
    for (const h of d.sharedBy) ok = ctx.resolve("host", h) && ok;
    hosts = d.sharedBy.map((h) => h.text);
  } else if (d.on) {
    ok = ctx.resolve("host", d.on);
    hosts = [d.on.text];
  } else {
    ctx.error("VMSCN0209", `${who} needs its hosts: "shared-by a, b" for shared storage or "on a" for local storage`, d.name.loc);
    ok = false;
  }
  let bandwidth: number | undefined;
  if (required(ctx, d.bandwidth, "a bandwidth (bandwidth 1 GB/s)", d, who)) bandwidth = quantity(ctx, d.bandwidth, "bandwidth", `the bandwidth of ${who}`, BANDWIDTH_BOUNDS);
  const latency = d.latency ? quantity(ctx, d.latency, "time", `the latency of ${who}`, timeBounds(), true) : DEFAULT_DATASTORE_LATENCY;
  const iops = d.iops ? plainNumber(d.iops, `the IOPS of ${who}`, ctx.diagnostics, { min: 1, ...SAFE_MAX }) : undefined;
  if (ok && bandwidth !== undefined && latency !== undefined && (d.iops === undefined || iops !== undefined)) {
    ctx.plan.datastores.push({ name: d.name.text, hosts, bandwidth, latency, ...(iops !== undefined ? { iops } : {}) });
  }
}

export function checkVm(v: VmDecl, ctx: ValidationContext): void {
  const who = `VM "${v.name.text}"`;
  problems(ctx, v.problems, who);
  const hostOk = ctx.resolve("host", v.host);
  let vcpus: number | undefined;
  let memory: number | undefined;
  if (required(ctx, v.vcpus, "a number of vCPUs (vcpus 4)", v, who)) vcpus = plainNumber(v.vcpus, `the vCPUs of ${who}`, ctx.diagnostics, { min: 1, integer: true, max: LIMITS.maxVcpus, maxHint: "as KVM's KVM_MAX_VCPUS" });
  if (required(ctx, v.memory, "memory (memory 4 GiB)", v, who)) memory = guestMemory(ctx, v.memory, `the memory of ${who}`);
  const hostMemory = ctx.hostMemory.get(v.host.text);
  if (memory !== undefined && hostMemory !== undefined && memory > hostMemory) {
    ctx.error("VMSCN0206", `${who} has ${v.memory!.value} ${v.memory!.unit} of memory, more than host "${v.host.text}" has`, v.memory!.loc, `host "${v.host.text}" has ${hostMemory / 1024 ** 3} GiB`);
  }
  if (memory !== undefined) ctx.vmPages.set(v.name.text, memory / PAGE_SIZE);
  if (vcpus !== undefined) ctx.vmVcpus.set(v.name.text, vcpus);
  const disks: VmSpec["disks"] = [];
  let disksOk = true;
  for (const d of v.disks) {
    const size = quantity(ctx, d.size, "bytes", `the disk of ${who}`, DISK_BOUNDS);
    if (!ctx.resolve("datastore", d.datastore)) {
      disksOk = false;
      continue;
    }
    const ds = ctx.symbols.datastores.get(d.datastore.text)!;
    const reach = ds.sharedBy?.map((h) => h.text) ?? (ds.on ? [ds.on.text] : []);
    if (hostOk && !reach.includes(v.host.text)) {
      ctx.error("VMSCN0219", `${who} runs on host "${v.host.text}", which cannot reach datastore "${d.datastore.text}" (${reach.join(", ") || "no host"})`, d.datastore.loc);
      disksOk = false;
    }
    if (size === undefined) disksOk = false;
    else disks.push({ datastore: d.datastore.text, sizeBytes: size });
  }
  const deviceState = v.deviceState ? quantity(ctx, v.deviceState, "bytes", `the device state of ${who}`, DEVICE_STATE_BOUNDS, true) : undefined;
  const boot = v.boot ? duration(ctx, v.boot, `the boot time of ${who}`) : undefined;
  const init = v.init ? duration(ctx, v.init, `the initialisation time of ${who}`) : undefined;
  const appLaunch = v.appLaunch ? duration(ctx, v.appLaunch, `the application launch time of ${who}`) : undefined;
  let mac: string | undefined;
  if (v.mac) {
    if (/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v.mac.value)) mac = v.mac.value.toLowerCase();
    else ctx.error("VMSCN0213", `"${v.mac.value}" is not a MAC address`, v.mac.loc, 'write six hex pairs separated by colons, such as "02:00:00:00:01:0a"');
  }
  const initial = v.initial ? checkMix(v.initial, ctx, `the initial contents of ${who}`) : undefined;
  const workload = v.workload ? checkWorkload(v.workload, ctx, who, v.disks.length) : undefined;
  if (hostOk && vcpus !== undefined && memory !== undefined && disksOk && (v.initial === undefined || initial) && (v.workload === undefined || workload)) {
    ctx.plan.vms.push({
      name: v.name.text,
      host: v.host.text,
      vcpus,
      memoryBytes: memory,
      ...(initial ? { initial } : {}),
      ...(workload ? { workload } : {}),
      disks,
      ...(deviceState !== undefined ? { deviceStateBytes: deviceState } : {}),
      ...(mac ? { mac } : {}),
      ...(boot !== undefined ? { bootNs: boot } : {}),
      ...(init !== undefined ? { initNs: init } : {}),
      ...(appLaunch !== undefined ? { appLaunchNs: appLaunch } : {}),
      ...(v.guest ? { guest: v.guest.value } : {}),
      ...(v.usage ? { usage: v.usage.value } : {}),
    });
  }
}

function checkMix(m: ContentMixNode, ctx: ValidationContext, what: string): ContentMix | undefined {
  const mix: ContentMix = { zero: 0, images: [], random: 0, compressible: [] };
  let total = 0;
  let ok = true;
  for (const part of m.parts) {
    const f = inDimension(part.percent, "percent", `a part of ${what}`, ctx.diagnostics);
    if (f === undefined || inRange(f, part.percent, `a part of ${what}`, ctx.diagnostics, { min: 0, max: 1 }) === undefined) {
      ok = false;
      continue;
    }
    total += f;
    if (part.kind === "zero") mix.zero += f;
    else if (part.kind === "random") mix.random += f;
    else if (part.kind === "image") mix.images.push({ name: part.image!.value, fraction: f });
    else {
      let level = 8;
      if (part.at) {
        const c = inDimension(part.at, "percent", `the compressible share of ${what}`, ctx.diagnostics);
        if (c === undefined || inRange(c, part.at, `the compressible share of ${what}`, ctx.diagnostics, { min: 0, max: 1 }) === undefined) ok = false;
        else level = Math.round(c * 16);
      }
      mix.compressible.push({ level, fraction: f });
    }
  }
  if (ok && Math.abs(total - 1) > 1e-9) {
    ctx.error("VMSCN0215", `${what} adds up to ${Number((total * 100).toFixed(6))}%, not 100%`, m.loc);
    ok = false;
  }
  return ok ? mix : undefined;
}

function checkPattern(p: PatternNode, ctx: ValidationContext, what: string): AccessPattern | undefined {
  if (p.kind === "uniform") return { kind: p.kind };
  const skew = p.kind === "zipf" && p.skew ? plainNumber(p.skew, `the zipf skew of ${what}`, ctx.diagnostics, { min: 0.01, max: 10 }) : undefined;
  const over = p.over ? workingSet(p.over, ctx, `the ${p.kind} working set of ${what}`) : 1;
  if (over === undefined) return undefined;
  // A sequential pattern carries `over` only when written, so the plan of `sequential` is as before.
  if (p.kind === "sequential") return p.over ? { kind: "sequential", over } : { kind: "sequential" };
  return skew !== undefined ? { kind: "zipf", skew, over } : undefined;
}

/** `over P%`: a percentage above 0 and at most 100%. */
function workingSet(q: Quantity, ctx: ValidationContext, what: string): number | undefined {
  const v = inDimension(q, "percent", what, ctx.diagnostics);
  return v === undefined ? undefined : inRange(v, q, what, ctx.diagnostics, { min: 1e-9, max: 1 });
}

function checkWorkload(w: WorkloadNode, ctx: ValidationContext, who: string, disks: number): WorkloadSpec | undefined {
  problems(ctx, w.problems, `the workload of ${who}`);
  const activities: Activity[] = [];
  let ok = true;
  const disk: DiskActivity[] = [];
  for (const a of w.disk) {
    const what = `the disk ${a.op}s of ${who}`;
    const rate = inDimension(a.rate, "bandwidth", what, ctx.diagnostics);
    if (rate === undefined || inRange(rate, a.rate, what, ctx.diagnostics, { min: 0, max: BANDWIDTH_BOUNDS.max!, maxText: BANDWIDTH_BOUNDS.maxText! }) === undefined) ok = false;
    if (a.pattern.kind === "zipf") {
      ctx.error("VMSCN0213", `${what} can be uniform or sequential, not zipf`, a.pattern.loc);
      ok = false;
    } else if (a.pattern.over) {
      ctx.error("VMSCN0213", `${what} sweep the whole disk: "over" is for guest memory activities`, a.pattern.over.loc, `remove "over ${a.pattern.over.unit === "%" ? `${a.pattern.over.value}%` : written(a.pattern.over)}"`);
      ok = false;
    }
    if (a.pace) {
      ctx.error("VMSCN0213", `${what} take no pace: guest disk IO issues its rate while the VM runs, up to its queue depth, and drops what it cannot`, a.pace.loc, `"paced" and "catch-up" are for guest memory activities; remove "${a.pace.value}"`);
      ok = false;
    }
    if (disks === 0) {
      ctx.error("VMSCN0209", `${who} has no disk for ${what}`, a.loc, "declare one in the VM: disk DATASTORE SIZE");
      ok = false;
    }
    if (ok && rate !== undefined && a.pattern.kind !== "zipf") disk.push({ op: a.op, rate, pattern: a.pattern.kind });
  }
  for (const a of w.activities) {
    const what = `the ${a.op}s of ${who}`;
    const rate = a.rate ? inDimension(a.rate, "rate", what, ctx.diagnostics) : undefined;
    const pattern = checkPattern(a.pattern, ctx, what);
    if (rate === undefined || inRange(rate, a.rate, what, ctx.diagnostics, { min: 0, ...SAFE_MAX }) === undefined || !pattern) ok = false;
    else {
      activities.push(a.pace ? { op: a.op, rate, pattern, pace: a.pace.value } : { op: a.op, rate, pattern });
      // How many accesses one tick may issue depends on the tick, checked at the end (checkRates).
      ctx.rates.push({ rate, q: a.rate!, what });
    }
  }
  const mix = w.content ? checkMix(w.content, ctx, `the content of ${who}'s writes`) : DEFAULT_MIX;
  if (!mix) ok = false;
  let writeBytes: number | undefined;
  if (w.writeSize) {
    const what = `the write size of ${who}`;
    const v = inDimension(w.writeSize, "bytes", what, ctx.diagnostics);
    writeBytes = v === undefined ? undefined : inRange(v, w.writeSize, what, ctx.diagnostics, { min: 1, max: 4096, integer: true });
    if (writeBytes === undefined) ok = false;
  }
  let writeOffset: number | undefined;
  if (w.writeOffset) {
    const what = `the write offset of ${who}`;
    const v = inDimension(w.writeOffset, "bytes", what, ctx.diagnostics);
    writeOffset = v === undefined ? undefined : inRange(v, w.writeOffset, what, ctx.diagnostics, { min: 0, max: 4095, integer: true });
    if (writeOffset === undefined) ok = false;
    else if (!w.writeSize) {
      ctx.error("VMSCN0213", `${what} needs a write size: a write of the whole page starts at 0`, w.writeOffset.loc, "add write-size, such as write-size 64 B");
      ok = false;
    } else if (writeBytes !== undefined && writeOffset + writeBytes > 4096) {
      ctx.error("VMSCN0213", `the writes of ${who} would end past their page: ${writeOffset} B + ${writeBytes} B > 4096 B`, w.writeOffset.loc, `use a write offset of at most ${4096 - writeBytes} B`);
      ok = false;
    }
  }
  if (!ok || !mix) return undefined;
  // A trace path is relative to the file that names it.
  return { activities, mix, scripted: [], ...(writeBytes === undefined ? {} : { writeBytes }), ...(writeOffset === undefined ? {} : { writeOffset }), ...(disk.length > 0 ? { disk } : {}), ...(w.trace ? { trace: resolve(dirname(w.trace.loc.file), w.trace.value) } : {}) };
}

/**
 * One tick issues each activity's accesses of the tick as one batch of typed arrays: a rate
 * whose batch would not fit is refused, with the rate the tick allows.
 */
export function checkRates(ctx: ValidationContext): void {
  const tickNs = ctx.plan.tickNs ?? defaultRunConfig().tickNs;
  const max = LIMITS.maxAccessesPerTick;
  for (const r of ctx.rates) {
    if ((r.rate * tickNs) / 1e9 <= max) continue;
    const allowed = Math.floor((max * 1e9) / tickNs);
    ctx.error("VMSCN0212", `${r.what} must be at most ${allowed} pages/s with a tick of ${tickNs / 1e6} ms (got ${written(r.q)})`, r.q.loc, `one tick issues at most ${max} accesses of an activity; a shorter tick ("tick 100 us") allows a higher rate`);
  }
}

/** `q` in `dim`, above 0 (at least 0 with `zero`), within the kernel's bounds for its kind. */
function quantity(ctx: ValidationContext, q: Quantity, dim: Dimension, what: string, b: Bounds, zero = false): number | undefined {
  const v = inDimension(q, dim, what, ctx.diagnostics);
  const signed = zero ? nonNegative(ctx, q, v, what) : positive(ctx, q, v, what);
  return signed === undefined ? undefined : inRange(signed, q, what, ctx.diagnostics, b);
}

/** A boot, initialisation or launch time: checked, and kept as written (the kernel rounds it). */
function duration(ctx: ValidationContext, q: Quantity, what: string): number | undefined {
  const v = nonNegative(ctx, q, inDimension(q, "time", what, ctx.diagnostics), what);
  return v !== undefined && inRange(v, q, what, ctx.diagnostics, timeBounds()) !== undefined ? v : undefined;
}

/** A VM's memory: a whole number of pages, at least one, at most 8 TiB; in bytes. */
function guestMemory(ctx: ValidationContext, q: Quantity, what: string): number | undefined {
  const v = positive(ctx, q, inDimension(q, "bytes", what, ctx.diagnostics), what);
  if (v === undefined) return undefined;
  const pages = asWhole(v / PAGE_SIZE);
  if (pages === undefined || pages < 1) {
    const near = Math.max(1, Math.round(v / PAGE_SIZE));
    ctx.error("VMSCN0212", `${what} must be a whole number of 4 KiB pages, at least one (got ${written(q)})`, q.loc, `a guest's memory is made of pages: ${near === 1 ? "one page is" : `${near} pages are`} ${near * PAGE_SIZE} B`);
    return undefined;
  }
  return inRange(pages * PAGE_SIZE, q, what, ctx.diagnostics, MEMORY_BOUNDS);
}

function positive(ctx: ValidationContext, q: Quantity, v: number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!(v > 0)) {
    ctx.error("VMSCN0212", `${what} must be more than 0`, q.loc);
    return undefined;
  }
  return v;
}

function nonNegative(ctx: ValidationContext, q: Quantity, v: number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (v < 0) {
    ctx.error("VMSCN0212", `${what} cannot be negative`, q.loc);
    return undefined;
  }
  return v;
}
