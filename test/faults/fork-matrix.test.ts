// The fault matrix of the VM fork (plugin hypercall-fork, with its next-host worker through
// clone-api): a fork of three workers — two child VMs sharing the parent's frames
// copy-on-write on its host, and an on-demand clone with a background fetcher on the next
// host — by the verb and by the guest's hypercall. Phases: the capture; the load (children
// queued at the VMM); the instant the first child is loaded; the children running with their
// memory shared while the clone still fetches; everything running with the memory still
// shared. Faults: the parent's host crashes, the next host crashes, either host's memory is
// exhausted, the link goes down, a helper world (the image server, the clone's fetcher) is
// killed. Each cell's outcome is a row of plugins/hypercall-fork/README.md "Failures" (and
// clone-api's for the clone); in every cell each VM is on exactly one host, the invariants
// hold, and every VM that survived holds exactly what its guest wrote (its parent's contents
// at the capture, then its own writes).
import "reflect-metadata";
import t from "tap";
import { HOST_CRASH, OOM_KILL, checkCoded, checkVms, middle, runCells, simulate, withHelpers, type Json, type Outcome } from "./harness.js";

const START = {
  verb: "at 100 ms: fork web { children 3  placement auto  memory on-demand  background }",
  hypercall: "at 100 ms: web hypercall fork { children 3  placement auto  memory on-demand  background }",
};

const platform = (start: string, fault: string) => `scenario "fork-matrix" {
  host a { cpus 8  memory 96 MiB  nodes 3 }
  host b { cpus 8  memory 96 MiB  nodes 2 }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }
  vm web on a { vcpus 2  memory 16 MiB  initial random 100%  workload { writes 2000 pages/s zipf 0.9 over 30%  reads 10000 pages/s uniform } }
  at 0 s: start web
  ${start}
${fault}
  run until 1 s
}
`;

const VMS = ["web", "web-child1", "web-child2", "web-clone1"] as const;
const WORKERS = VMS.slice(1);

/** Workers start from the parent's contents when the capture paused it. */
function run(start: string, fault = ""): Promise<Outcome> {
  return simulate(platform(start, fault), { startFrom: "web" });
}

const FAULTS: Record<string, string> = {
  "parent's host crash": "crash a",
  "next host crash": "crash b",
  "parent's host memory exhausted": "exhaust a",
  "next host memory exhausted": "exhaust b",
  "link down": "link a<->b down",
  "image server killed": 'kill "web.image-server#1"',
  "fetcher killed": 'kill "web-clone1.fetcher"',
};

/** The helper worlds alive in each phase (a kill is a cell only where its world exists). */
const HELPERS: Record<string, string[]> = {
  capture: [],
  "capsule on the wire": ["image server killed"],
  load: ["image server killed"],
  "first child's load instant": ["image server killed"],
  "running, clone fetching": ["image server killed", "fetcher killed"],
  "running, memory shared": [],
};

function phases(r: Json): Record<string, number> {
  const f = r.fork.web;
  const req = f["requested-at"];
  const sealed = req + f["capture-time"];
  const child1 = req + r.fork["web-child1"]["launch-latency"];
  const clone = r.clone["web-clone1"];
  // On demand, the next host's VMM loads the clone as soon as its capsule arrives.
  const capsuleArrived = req + clone["launch-latency"] - clone["load-time"];
  const allRunning = req + f["all-running-time"];
  const home = req + r.clone["web-clone1"]["memory-home-time"];
  return {
    capture: middle(req, sealed),
    "capsule on the wire": middle(sealed, capsuleArrived),
    load: middle(capsuleArrived, child1),
    "first child's load instant": child1,
    "running, clone fetching": middle(allRunning, home),
    "running, memory shared": middle(home, 1e9),
  };
}

/**
 * A VM's fate: `runs`, `fetching` (runs, pages still on the source), `host` (died with its
 * host), `oom` (killed by the OOM rule: a write found no free frame), `failed` (the launch
 * failed it: coded); for a worker, then its status in the report and whether it ever ran.
 */
function fate(o: Outcome, vm: string): string {
  const v = o.report.vms[vm];
  const entry = vm === "web" ? undefined : (o.report.fork[vm] ?? o.report.clone?.[vm]);
  const suffix = entry === undefined ? "" : `/${entry.status}/${entry["launch-latency"] === null ? "never ran" : "ran"}`;
  if (v.state !== "stopped") return (entry?.status === "fetching" ? "fetching" : "runs") + suffix;
  if (HOST_CRASH.test(v.failure)) return `host${suffix}`;
  if (OOM_KILL.test(v.failure)) return `oom${suffix}`;
  if (/^VMSCN(7106|7208) at /.test(v.failure)) return `failed${suffix}`;
  return `unexpected: ${v.failure}`;
}

type Fates = Record<(typeof VMS)[number], string>;

const RUNS = "runs/running/ran";
/** Killed by the OOM rule, or running on: the order of the writes decides (README). */
const OOM_OR_RUNS = "oom or runs/running/ran";

/** README.md's Failures rows, cell by cell. */
function expected(phase: string, fault: string): Fates {
  const beforeRun = !phase.startsWith("running");
  const home = phase === "running, memory shared";
  const ok: Fates = { web: "runs", "web-child1": RUNS, "web-child2": RUNS, "web-clone1": RUNS };
  // The on-demand clone runs before its pages arrive: a page that cannot land kills it after it ran.
  const cloneLost = beforeRun ? "failed/failed/never ran" : "failed/failed/ran";
  switch (fault) {
    case "parent's host crash":
      // Before the children ran, the launch fails them; after, they are VMs like another. The
      // clone loses the image its pages come from (a clone of a capture that failed, or one
      // still fetching), unless all its memory is home.
      return {
        web: "host",
        "web-child1": beforeRun ? "host/failed/never ran" : "host/running/ran",
        "web-child2": beforeRun ? "host/failed/never ran" : "host/running/ran",
        "web-clone1": home ? RUNS : cloneLost,
      };
    case "next host crash":
      return { ...ok, "web-clone1": home ? "host/running/ran" : beforeRun ? "host/failed/never ran" : "host/failed/ran" };
    case "parent's host memory exhausted":
      // A fork needs no frame; every write to a shared page does (a COW break): the first VM
      // to write one (the parent) is killed by the OOM rule, which frees its frames; a child
      // then writes on while frames are left, and is killed at a COW break that finds none:
      // which child survives depends on the order of their writes. The image keeps its
      // frames: the clone completes.
      return { web: "oom", "web-child1": OOM_OR_RUNS, "web-child2": OOM_OR_RUNS, "web-clone1": RUNS };
    case "next host memory exhausted":
      // The clone runs, then its first page has nowhere to land.
      return { ...ok, "web-clone1": home ? RUNS : "failed/failed/ran" };
    case "link down":
      // No route: a clone whose capsule was on the wire fails before it ran; a clone being
      // loaded runs, and its first fetch fails; one with all its memory home runs on.
      return { ...ok, "web-clone1": home ? RUNS : phase === "capture" || phase === "capsule on the wire" ? cloneLost : "failed/failed/ran" };
    case "image server killed":
      // The image is lost: a clone still bringing its memory fails at once.
      return { ...ok, "web-clone1": home ? RUNS : cloneLost };
    default:
      // The fetcher killed: background paging stops, demand fetches go on.
      return { ...ok, "web-clone1": "fetching/fetching/ran" };
  }
}

for (const [mode, start] of Object.entries(START)) {
  t.test(`fork by the ${mode}`, async (t) => {
    const base = await run(start);
    t.same(
      VMS.map((vm) => fate(base, vm)),
      ["runs", RUNS, RUNS, RUNS],
      "the baseline: every worker runs",
    );
    checkVms(t, base, "baseline", VMS);
    const windows = phases(base.report);
    const cells = await runCells(t, windows, (phase) => withHelpers(FAULTS, HELPERS[phase]!), (_c, statement) => run(start, statement), ({ phase, fault, name: cell }, o) => {
      const want = expected(phase, fault);
      t.same(Object.fromEntries(VMS.map((vm) => [vm, want[vm] === OOM_OR_RUNS && /^(oom|runs)\/running\/ran$/.test(fate(o, vm)) ? OOM_OR_RUNS : fate(o, vm)])), want, cell);
      checkVms(t, o, cell, VMS, { absentOk: want["web-clone1"].startsWith("fetching") });
      t.equal(o.report.actions.find((a: Json) => a.verb !== "fork" && a.verb !== "start").state, "done", `${cell}: the fault took effect`);
      // A worker that failed before it ran fails the launch; one that died later had launched.
      const lost = WORKERS.filter((w) => want[w].endsWith("/failed/never ran"));
      t.equal(o.report.fork.web.failed, lost.length, `${cell}: ${lost.length} workers failed to launch`);
      for (const w of lost) if (o.report.vms[w].failure.startsWith("VMSCN")) checkCoded(t, o.report.vms[w].failure, `${cell}: ${w}`);
      if (mode === "verb") {
        const fork = o.report.actions.find((a: Json) => a.verb === "fork");
        if (lost.length === 0) t.equal(fork.state, "done", `${cell}: the fork is done`);
        else {
          t.equal(fork.state, "failed", `${cell}: the fork failed`);
          checkCoded(t, fork.failure, `${cell}: the fork`);
          t.match(fork.failure, new RegExp(`^VMSCN7106 at [^:]*: ${lost.length} of 3 workers of "web" failed: `), `${cell}: the fork counts its lost workers`);
          for (const w of lost) t.match(fork.failure, new RegExp(`${w}: \\w+`), `${cell}: the fork names ${w} and why`);
        }
      }
    });
    // 6 phases × 5 faults, plus the helpers alive: the image server in 4 phases, the fetcher in 1.
    t.equal(cells, 6 * 5 + 4 + 1, "cells");
  });
}
