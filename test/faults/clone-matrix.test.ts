// The fault matrix of the VM clone command (plugin clone-api): a clone of a busy VM to the
// next host with its memory eager, on demand, and on demand with a background fetcher.
// Phases: the capture; the capsule (and, eager, the image) on the wire; the next VMM loading
// the clone; the instant it runs; on demand, the clone running while it fetches (by demand,
// or by demand and background); everything home. Faults: the source crashes, the destination
// crashes, the link goes down, the destination's or the source's memory is exhausted, a
// helper world (the image server, the background fetcher) is killed. Each cell's outcome is a
// row of plugins/clone-api/README.md "Failures"; in every cell each VM is on exactly one
// host, the invariants hold, and a VM that survived holds exactly what its guest wrote (the
// clone: the parent's contents when the capture paused it, then its own writes).
import "reflect-metadata";
import t from "tap";
import { HOST_CRASH, OOM_KILL, TWO_HOST_FAULTS, checkCoded, checkVms, middle, runCells, simulate, withHelpers, type Json, type Outcome } from "./harness.js";

const MODES = { eager: "memory eager", "on-demand": "memory on-demand", "on-demand, background": "memory on-demand  background" };
type Mode = keyof typeof MODES;

const platform = (mode: Mode, fault: string) => `scenario "clone-matrix" {
  host a { cpus 8  memory 96 MiB }
  host b { cpus 8  memory 96 MiB }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }
  vm web on a { vcpus 2  memory 16 MiB  initial random 100%  workload { writes 2000 pages/s zipf 0.9 over 30%  reads 10000 pages/s uniform } }
  at 0 s: start web
  at 100 ms: clone web to b { ${MODES[mode]} }
${fault}
  run until 1 s
}
`;

/** The clone starts from the parent's contents when the capture paused it. */
function run(mode: Mode, fault = ""): Promise<Outcome> {
  return simulate(platform(mode, fault), { startFrom: "web" });
}

const FAULTS: Record<string, string> = {
  ...TWO_HOST_FAULTS,
  "image server killed": 'kill "web.image-server#1"',
  "fetcher killed": 'kill "web-clone1.fetcher"',
};

function phases(mode: Mode, c: Json): Record<string, number> {
  const req = c["requested-at"];
  const sealed = req + c["capture-time"];
  const runs = req + c["launch-latency"];
  if (mode === "eager") {
    const home = req + c["memory-home-time"];
    return { capture: middle(req, sealed), "capsule and image on the wire": middle(sealed, home), load: middle(home, runs), "run instant": runs, running: middle(runs, 1e9) };
  }
  // On demand, the next VMM loads the clone as soon as its capsule arrives.
  const arrived = runs - c["load-time"];
  const out: Record<string, number> = { capture: middle(req, sealed), "capsule on the wire": middle(sealed, arrived), load: middle(arrived, runs), "run instant": runs };
  if (mode === "on-demand") out["demand fetch"] = middle(runs, 1e9);
  else {
    const home = req + c["memory-home-time"];
    out["background fetch"] = middle(runs, home);
    out.home = middle(home, 1e9);
  }
  return out;
}

/** The helper worlds alive in a phase: the image server from the seal until the memory is home; the fetcher while it fetches. */
function alive(mode: Mode, phase: string): string[] {
  if (phase === "background fetch") return ["image server killed", "fetcher killed"];
  if (mode === "eager") return phase === "capsule and image on the wire" ? ["image server killed"] : [];
  return phase === "capture" || phase === "home" ? [] : ["image server killed"];
}

/** The clone's fate: kind (runs, fetching, host, failed), its status, and whether it ever ran. */
function fate(o: Outcome, vm: string): string {
  const v = o.report.vms[vm];
  const e = vm === "web" ? undefined : o.report.clone[vm];
  const suffix = e === undefined ? "" : `/${e.status}/${e["launch-latency"] === null ? "never ran" : "ran"}`;
  if (v.state !== "stopped") return (e?.status === "fetching" ? "fetching" : "runs") + suffix;
  if (HOST_CRASH.test(v.failure)) return `host${suffix}`;
  if (OOM_KILL.test(v.failure)) return `oom${suffix}`;
  if (/^VMSCN7208 at /.test(v.failure)) return `failed${suffix}`;
  return `unexpected: ${v.failure}`;
}

const RUNS = "runs/running/ran";
const NEVER = "failed/failed/never ran";
const DIED = "failed/failed/ran";

/** README.md's Failures rows, cell by cell: [the parent, the clone]. */
function expected(mode: Mode, phase: string, fault: string): [string, string] {
  const eager = mode === "eager";
  // The clone needs nothing of the source any more: eager once its image landed, on demand once every page is home.
  const home = eager ? phase === "load" || phase === "run instant" || phase === "running" : phase === "home";
  const notRun = phase === "capture" || phase.startsWith("capsule") || phase === "load";
  const onDemandLive = mode === "on-demand" ? "fetching/fetching/ran" : RUNS;
  switch (fault) {
    case "source crash":
      // A clone still bringing its memory loses the image (on demand, a clone whose run falls
      // on the crash's instant runs first, then finds its source gone).
      return ["host", home ? RUNS : notRun ? NEVER : DIED];
    case "destination crash":
      return ["runs", notRun || phase === "run instant" ? "host/failed/never ran" : home ? "host/running/ran" : "host/failed/ran"];
    case "link down":
      // No route: a transfer on the wire fails the clone before it ran; a clone loaded on
      // demand runs, and its first fetch fails.
      return ["runs", home ? RUNS : eager || phase === "capture" || phase.startsWith("capsule") ? NEVER : DIED];
    case "destination memory exhausted":
      // Eager: the image has nowhere to land. On demand: the clone runs, its first page has nowhere to land.
      return ["runs", home ? RUNS : eager ? NEVER : DIED];
    case "source memory exhausted":
      // The image shares the parent's frames: while it is kept, each parent write to a page
      // needs a frame (a COW break), and the parent is killed at its first (the OOM rule); the
      // image keeps its frames, so the clone completes.
      return [home ? "runs" : "oom", home ? RUNS : onDemandLive];
    case "image server killed":
      return ["runs", notRun ? NEVER : DIED];
    default:
      // The fetcher killed: background paging stops, demand fetches go on.
      return ["runs", "fetching/fetching/ran"];
  }
}

for (const mode of Object.keys(MODES) as Mode[]) {
  t.test(`clone { ${MODES[mode]} }`, async (t) => {
    const base = await run(mode);
    t.same([fate(base, "web"), fate(base, "web-clone1")], ["runs", mode === "on-demand" ? "fetching/fetching/ran" : RUNS], "the baseline: the clone runs");
    checkVms(t, base, "baseline", ["web", "web-clone1"], { absentOk: mode === "on-demand" });
    const windows = phases(mode, base.report.clone["web-clone1"]);
    let kills = 0;
    const cells = await runCells(t, windows, (phase) => withHelpers(FAULTS, alive(mode, phase)), (_c, statement) => run(mode, statement), ({ phase, fault, line, name: cell }, o) => {
      if (line.startsWith("kill")) kills++;
      const [parent, clone] = expected(mode, phase, fault);
      t.same([fate(o, "web"), fate(o, "web-clone1")], [parent, clone], cell);
      checkVms(t, o, cell, ["web", "web-clone1"], { absentOk: clone.startsWith("fetching") });
      t.equal(o.report.actions[2].state, "done", `${cell}: the fault took effect`);
      const action = o.report.actions[1];
      if (o.report.vms["web-clone1"].failure?.startsWith("VMSCN")) checkCoded(t, o.report.vms["web-clone1"].failure, `${cell}: the clone`);
      // A clone that failed before it ran fails the command; one that ran had launched.
      if (clone.endsWith("never ran")) {
        t.equal(action.state, "failed", `${cell}: the clone command failed`);
        t.match(action.failure, /^VMSCN7208 at [\d.]+ s: 1 of 1 clone of "web" failed: web-clone1: \w/, `${cell}: the command says which clone failed and why`);
        t.equal(o.report.clone.web.failed, 1, `${cell}: one launch failed`);
      } else {
        t.equal(action.state, "done", `${cell}: the clone command is done`);
        t.same([o.report.clone.web.running, o.report.clone.web.failed], [1, 0], `${cell}: the clone launched`);
      }
      // The image is dropped once no clone needs it: no page map is left behind on the source.
      const images = o.kernel.memory.liveGuests().filter((g) => g.name.startsWith("web.image#"));
      t.equal(images.length, clone.startsWith("fetching") ? 1 : 0, `${cell}: the image is kept only while the clone fetches`);
    });
    t.equal(cells - kills, Object.keys(windows).length * 5, "every phase meets the five host and link faults");
    t.equal(kills, { eager: 1, "on-demand": 4, "on-demand, background": 5 }[mode], "and a kill of each helper alive in it");
  });
}
