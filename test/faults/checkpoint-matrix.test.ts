// The fault matrix of lazy checkpoints (plugin lazy-checkpoint, with plugin compression's
// codecs): a busy VM with disk IO is saved to a shared datastore, then a second VM on another
// host is restored from the file — lazily uncompressed, lazily with zlib, and in suspend mode
// with snappy. Phases: the save's quiesce (pending disk IO let finish), its vCPU-thread phase
// (the VM runs traced, before the background threads start), its background phase; the
// restore before the VM resumes (header, device state, maps), and its lazy phase. Faults, on
// the host of the VM being saved or restored: the host crashes, the datastore fills up or
// slows down, a helper world (a background save or restore thread) is killed, the host's
// memory is exhausted. Each cell's outcome is a row of plugins/lazy-checkpoint/README.md
// "Failures"; in every cell each VM is on exactly one host, the invariants hold, a VM that
// survived holds exactly what its guest wrote (the restored VM: the saved VM's contents at the
// quiesce, then its own writes), and the output folder holds exactly the final file after a
// save that completed and nothing after one that failed.
import "reflect-metadata";
import t from "tap";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HOST_CRASH, OOM_KILL, checkCoded, checkVms, middle, runCells, simulate, type Cell, type Json, type Outcome } from "./harness.js";

const FILLED = "initial random 50%, zero 20%, compressible 30% at 50%";

/**
 * The save's options, the restore's, and how the saved VM starts, by mode. Without `initial`
 * the VM's pages are untouched until it writes them: the save encodes them as such, and a
 * write to one needs a frame.
 */
const MODES = {
  lazy: ["", "", FILLED],
  "lazy, zlib, accessed bits, untouched pages": ["compression zlib  level 1  access-window 20 ms", "", ""],
  "suspend, snappy": ["mode suspend  compression snappy", "background-threads 2", FILLED],
};
type Mode = keyof typeof MODES;

const platform = (mode: Mode, fault: string) => `scenario "checkpoint-matrix" {
  host a { cpus 8  memory 256 MiB }
  host b { cpus 8  memory 256 MiB }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }
  datastore san { shared-by a, b  bandwidth 200 MB/s }
  vm web on a { vcpus 2  memory 8 MiB  disk san 256 MiB  ${MODES[mode][2]}  workload { writes 2000 pages/s zipf 0.9 over 30%  reads 10000 pages/s uniform  disk writes 100 MB/s sequential } }
  vm copy on b { vcpus 2  memory 8 MiB  workload { writes 2000 pages/s zipf 0.9 over 30%  reads 10000 pages/s uniform } }
  at 0 s: start web
  at 100300 us: checkpoint web to san { ${MODES[mode][0]} }
  at 1 s: restore copy from san { file "web.ckpt"  ${MODES[mode][1]} }
${fault}
  run until 2 s
}
`;

/** The restored VM starts from the saved VM's contents at the quiesce. */
function run(mode: Mode, fault = "", outDir?: string): Promise<Outcome> {
  return simulate(platform(mode, fault), { startFrom: "web", ...(outDir !== undefined ? { outDir } : {}) });
}

const SAVE_PHASES = ["accessed bits", "quiesce", "vCPU threads", "background threads"];

function phases(mode: Mode, r: Json): Record<string, number> {
  const s = r.checkpoint.web.save;
  const x = r.checkpoint.copy.restore;
  const st = s["start-time"];
  // The quiesce begins after the accessed-bits window, if any: the instant the file holds.
  const q = s["checkpoint-time"];
  const quiesced = q + s["quiesce-time"];
  const background = st + s["background-start"];
  const out: Record<string, number> = {};
  if (q > st) out["accessed bits"] = middle(st, q);
  out.quiesce = middle(q, quiesced);
  if (mode !== "suspend, snappy") out["vCPU threads"] = middle(q + s.downtime, background);
  // Early in the background phase: the threads stop once no block is left, before the save's end.
  const from = Math.max(background, quiesced);
  out["background threads"] = middle(from, middle(from, st + s["total-time"]));
  const resumed = x["start-time"] + x["time-to-resume"];
  out["restore, before resume"] = middle(x["start-time"], resumed);
  // Just after the resume, the background threads' first IO block reads are in flight.
  out["restore, first reads in flight"] = resumed + 1000;
  out["restore, lazy"] = middle(resumed, x["start-time"] + x["total-time"]);
  return out;
}

/** The faults, on the host of the VM the phase is about (a for the save, b for the restore). */
function faults(phase: string): Record<string, string> {
  const saving = SAVE_PHASES.includes(phase);
  const host = saving ? "a" : "b";
  const out: Record<string, string> = {
    "host crash": `crash ${host}`,
    "datastore fill": "fill san",
    "datastore slow": "slow san { bandwidth 120 MB/s }",
    "memory exhausted": `exhaust ${host}`,
  };
  // The helper threads alive: a background save thread once they started, a background restore thread after resume.
  if (phase === "background threads") out["helper killed"] = 'kill "web.checkpoint-save#1.0"';
  if (phase.startsWith("restore, ") && phase !== "restore, before resume") out["helper killed"] = 'kill "copy.checkpoint-restore#2.0"';
  return out;
}

interface Want {
  web: "runs" | "host" | "oom";
  copy: "runs" | "host" | "as it was" | "failed";
  /** The checkpoint action: done, or failed with this code. */
  save: string;
  /** The restore action: done, or failed with this code. */
  restore: string;
}

/** README.md's Failures rows, cell by cell. */
function expected(mode: Mode, phase: string, fault: string): Want {
  const ok: Want = { web: "runs", copy: "runs", save: "done", restore: "done" };
  if (SAVE_PHASES.includes(phase)) {
    // A failed save leaves the file incomplete; a restore refuses it: truncated if the save
    // failed before its header was written (while it gathered accessed bits or quiesced), else incomplete.
    const refused = phase === "quiesce" || phase === "accessed bits" ? "VMSCN7302" : "VMSCN7305";
    switch (fault) {
      case "host crash":
        return { web: "host", copy: "as it was", save: "VMSCN7309", restore: refused };
      case "datastore fill":
        return { web: "runs", copy: "as it was", save: "VMSCN7307", restore: refused };
      case "helper killed":
        // Its buffer's blocks are lost: the save cannot complete; the VM goes on untraced.
        return { web: "runs", copy: "as it was", save: "VMSCN7309", restore: "VMSCN7305" };
      case "memory exhausted":
        // A save allocates no frame; but a guest write to a page it never wrote needs one: the
        // OOM rule kills the VM at its first (once it runs again after a quiesce: before its
        // header is on the disk), and the save stops with it.
        if (mode.includes("untouched")) return { web: "oom", copy: "as it was", save: "VMSCN7309", restore: refused };
        return ok;
      default:
        // Slower IO only delays the save; a save allocates no frame, so memory running out changes nothing.
        return ok;
    }
  }
  switch (fault) {
    case "host crash":
      return { ...ok, copy: "host", restore: "VMSCN7309" };
    case "memory exhausted":
      // Before resume the restore is refused and the VM is as it was; after, it cannot run without its memory.
      return phase === "restore, before resume" ? { ...ok, copy: "as it was", restore: "VMSCN5002" } : { ...ok, copy: "failed", restore: "VMSCN5002" };
    default:
      // A restore writes nothing (fill), slower reads only delay it, and with a background
      // thread killed the vCPUs' faults load what it would have.
      return ok;
  }
}

function got(o: Outcome): Want {
  const vms = o.report.vms;
  const code = (verb: string): string => {
    const a = o.report.actions.find((x: Json) => x.verb === verb);
    return a.state === "done" ? "done" : a.state === "failed" ? a.failure.slice(0, 9) : a.state;
  };
  const fate = (vm: string): string => {
    const v = vms[vm];
    if (v.state === "created") return "as it was";
    if (v.state !== "stopped") return "runs";
    if (HOST_CRASH.test(v.failure)) return "host";
    if (OOM_KILL.test(v.failure)) return "oom";
    return /^VMSCN\d{4} at [\d.]+ s: checkpoint restore: /.test(v.failure) ? "failed" : `unexpected: ${v.failure}`;
  };
  return { web: fate("web") as Want["web"], copy: fate("copy") as Want["copy"], save: code("checkpoint"), restore: code("restore") };
}

const root = mkdtempSync(join(tmpdir(), "vmscn-ckpt-matrix-"));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

for (const mode of Object.keys(MODES) as Mode[]) {
  t.test(`checkpoint { ${MODES[mode][0] || "lazy"} }, then restore { ${MODES[mode][1] || "lazily"} }`, async (t) => {
    const base = await run(mode);
    t.same(got(base), { web: "runs", copy: "runs", save: "done", restore: "done" }, "the baseline: saved, then restored");
    checkVms(t, base, "baseline", ["web", "copy"]);
    const windows = phases(mode, base.report);
    t.ok(Object.values(windows).every((at, i, all) => i === 0 || at > all[i - 1]!), "the phases follow each other");
    // The real file's names are checked in one mode (the others keep the bytes in memory).
    const outOf = (c: Cell): string | undefined => (mode === "lazy, zlib, accessed bits, untouched pages" ? join(root, c.name.replace(/\W+/g, "-")) : undefined);
    const cells = await runCells(t, windows, faults, (c, statement) => run(mode, statement, outOf(c)), (c, o) => {
      const { phase, fault, name: cell } = c;
      const out = outOf(c);
      const want = expected(mode, phase, fault);
      t.same(got(o), want, cell);
      checkVms(t, o, cell, ["web", "copy"]);
      t.equal(o.report.actions.at(-1).state, "done", `${cell}: the fault took effect`);
      for (const verb of ["checkpoint", "restore"]) {
        const a = o.report.actions.find((x: Json) => x.verb === verb);
        if (a.state === "failed") checkCoded(t, a.failure, `${cell}: ${verb}`);
      }
      if (want.copy === "failed") checkCoded(t, o.report.vms.copy.failure, `${cell}: the restored VM`);
      const s = o.report.checkpoint.web.save;
      t.equal(s["failure-code"] ?? "done", want.save, `${cell}: the save's report says why`);
      if (out !== undefined) {
        // Temporary name, then renamed: a complete file under its final name, or nothing at all.
        t.same(readdirSync(join(out, "san")), want.save === "done" ? ["web.ckpt"] : [], `${cell}: the output folder`);
        t.equal(s.path, want.save === "done" ? join(out, "san", "web.ckpt") : null, `${cell}: the save's path`);
        rmSync(out, { recursive: true, force: true });
      }
    });
    // Save: 3 phases (2 in suspend mode, 4 with accessed bits) × 4 faults, the background
    // phase also a killed thread; restore: 3 phases × 4 faults, the two after resume also a
    // killed thread.
    const savePhases = { lazy: 3, "lazy, zlib, accessed bits, untouched pages": 4, "suspend, snappy": 2 }[mode];
    t.equal(cells, savePhases * 4 + 1 + 3 * 4 + 2, "cells");
  });
}
