// The fault matrix of transparent page sharing (plugin tps): three busy VMs booted from one
// image on a host whose scanner is turned on. Phases: the first full scan (checksums taken,
// nothing merged yet), the second (pages merging), and after convergence (merged pages, their
// sharers writing: copy-on-write breaks). Faults: the host crashes, the scanner world is
// killed, the host's memory is exhausted. A baseline run cut at each phase's instant checks
// that the phase is what it is named. Each cell's outcome is a row of plugins/tps/README.md
// "Failures"; in every cell each VM is on exactly one host, the invariants hold (reference
// counts of merged frames included), and a VM that survived holds exactly what its guest wrote.
import "reflect-metadata";
import t from "tap";
import { HOST_CRASH, OOM_KILL, checkVms, runCells, simulate, type Json, type Outcome } from "./harness.js";

const VMS = ["v1", "v2", "v3"];
const PAGES = 4096; // 16 MiB each
const BATCH = 1024;
const SLEEP = 10_000_000;
const ON = 100_000_000;

const platform = (fault: string, until = "1 s") => `scenario "tps-matrix" {
  host a { cpus 8  memory 128 MiB }
${VMS.map((v) => `  vm ${v} on a { vcpus 1  memory 16 MiB  initial image "base" 80%, random 20%  workload { writes 500 pages/s zipf 0.9 over 30%  reads 5000 pages/s uniform } }`).join("\n")}
${VMS.map((v) => `  at 0 s: start ${v}`).join("\n")}
  at ${ON} ns: tps on a { pages-to-scan ${BATCH}  sleep ${SLEEP} ns }
${fault}
  run until ${until}
}
`;

// A full scan of the three VMs takes ⌈3 × 4096 / 1024⌉ = 12 batches, one every `sleep` from the
// instant TPS is turned on; pages merge in the second scan (README, "Convergence").
const SCAN = Math.ceil((VMS.length * PAGES) / BATCH) * SLEEP;
const PHASES: Record<string, number> = {
  "first scan": ON + SCAN / 2,
  "second scan, merging": ON + SCAN + SCAN / 2,
  "merged, sharers writing": ON + 5 * SCAN,
};

const FAULTS: Record<string, string> = {
  "host crash": "crash a",
  "scanner killed": 'kill "ksmd.a#1"',
  "memory exhausted": "exhaust a",
};

type Counters = Record<string, number | string | boolean>;

/** The counters a fault's README row speaks of, as the run's report gives them. */
function observed(fault: string, k: Json, before: Counters): Counters {
  const stopped = String(k.stopped).replace(/[\d.]+ s$/, "T");
  if (fault === "host crash") return { run: k.run, pages_shared: k.pages_shared, pages_sharing: k.pages_sharing, pages_unshared: k.pages_unshared, pages_volatile: k.pages_volatile, ksm_zero_pages: k.ksm_zero_pages, full_scans: k.full_scans, stopped };
  if (fault === "scanner killed") return { run: k.run, full_scans: k.full_scans, merged: k.pages_sharing > 0, stopped };
  return { run: k.run, "scans on": k.full_scans > Number(before.full_scans) };
}

/** README.md's Failures rows: the VMs' fate, and the counters at the end (`before`: at the fault). */
function expected(phase: string, fault: string, before: Counters): { vms: string | string[]; ksm: Counters } {
  switch (fault) {
    case "host crash":
      // The memory is gone, so are the trees; the cumulative counters keep their counts.
      return { vms: "host", ksm: { run: 0, pages_shared: 0, pages_sharing: 0, pages_unshared: 0, pages_volatile: 0, ksm_zero_pages: 0, full_scans: before.full_scans!, stopped: 'host "a" crashed at T' } };
    case "scanner killed":
      // Scanning stops as after `tps off`: merged pages stay merged, no scan completes any more.
      return { vms: "runs", ksm: { run: 0, full_scans: before.full_scans!, merged: phase !== "first scan", stopped: 'the scanner "ksmd.a#1" was killed at T' } };
    default:
      // Merging gives frames back, so while pages still merge the COW breaks that follow find
      // frames; once converged, the first sharer's write to a merged page finds none: the OOM
      // rule kills it, which frees its frames, so the other sharers' COW breaks find frames
      // and they run on. The scanner goes on.
      return { vms: phase === "merged, sharers writing" ? ["oom", "runs", "runs"] : "runs", ksm: { run: 1, "scans on": true } };
  }
}

function fate(o: Outcome, vm: string): string {
  const v = o.report.vms[vm];
  if (v.state !== "stopped") return "runs";
  if (HOST_CRASH.test(v.failure)) return "host";
  if (OOM_KILL.test(v.failure)) return "oom";
  return `unexpected: ${v.failure}`;
}

t.test("tps on a host of three VMs from one image", async (t) => {
  // The baseline, cut at each phase: the counters say which phase it is.
  const at: Record<string, Counters> = {};
  for (const [phase, time] of Object.entries(PHASES)) {
    const cut = await simulate(platform("", `${time} ns`));
    at[phase] = cut.report.ksm.a as Counters;
    checkVms(t, cut, `baseline cut at the ${phase}`, VMS);
  }
  t.same([at["first scan"]!.full_scans, at["first scan"]!.pages_sharing], [0, 0], "the first scan merges nothing");
  t.same(at["second scan, merging"]!.full_scans, 1, "the second scan is under way");
  t.ok(Number(at["second scan, merging"]!.pages_sharing) > 0, "and merging");
  t.ok(Number(at["merged, sharers writing"]!.full_scans) >= 4, "converged");
  t.ok(Number(at["merged, sharers writing"]!.cow_breaks) > 0, "its sharers break copy-on-write");
  const base = await simulate(platform(""));
  checkVms(t, base, "baseline", VMS);
  t.ok(Number(base.report.ksm.a.pages_sharing) > 0, "the baseline shares pages");

  const cells = await runCells(t, PHASES, () => FAULTS, (_c, statement) => simulate(platform(statement)), ({ phase, fault, name: cell }, o) => {
    const e = expected(phase, fault, at[phase]!);
    t.same(VMS.map((v) => fate(o, v)), typeof e.vms === "string" ? VMS.map(() => e.vms) : e.vms, `${cell}: the VMs`);
    t.same(observed(fault, o.report.ksm.a, at[phase]!), e.ksm, `${cell}: the counters`);
    t.equal(o.report.actions.at(-1).state, "done", `${cell}: the fault took effect`);
    checkVms(t, o, cell, VMS);
    // After a crash no merged frame is left behind.
    if (fault === "host crash") t.equal(o.kernel.memory.machine(0).used, 0, `${cell}: no frame is left in use`);
  });
  t.equal(cells, 3 * 3, "cells");
});
