// The fault matrix of RDMA migration with deferred shared pages (plugin rdma-share, on the
// pre-copy engine of precopy-migration and the page sharing of tps): vm1 and vm2 share half
// of their pages on host a (page sharing merged them); vm1 moves to b over RDMA, leaving the
// shared pages behind, then reads them over RDMA and copies them over on its writes (remote
// copy-on-write), or a background copier brings them. Phases: the pre-copy round; the
// remote-shared period (just after the resume, and later); a remote copy-on-write in flight
// (a scripted write to a page left behind, the fault 12 µs into its 24 µs copy); the
// background copier at work; vm1 local again. Faults: the source or the destination crashes,
// the link goes down, either host's memory is exhausted, a helper world (the migration
// sender, the RDMA responder, the copier) is killed. Each cell's outcome is a row of
// plugins/rdma-share/README.md "Failures"; in every cell each VM is on exactly one host, the
// invariants hold (remote references included), a VM that survived holds exactly what its
// guest wrote, and the report's remote pages are the page map's.
import "reflect-metadata";
import t from "tap";
import { PageState, STATE_MASK } from "../../core/api.js";
import { HOST_CRASH, OOM_KILL, TWO_HOST_FAULTS, checkCoded, checkVms, middle, runCells, simulate, withHelpers, type Json, type Outcome } from "./harness.js";

const MODES = { "remote-cow on-write": "", "remote-background": "  remote-background" };
type Mode = keyof typeof MODES;
/** A page both VMs hold from the image (shared) that no workload writes: remote until written. */
const COW_PAGE = 2000;

const platform = (mode: Mode, extra: string, until = "1 s") => `scenario "rdma-matrix" {
  host a { cpus 8  memory 256 MiB  rdma }
  host b { cpus 8  memory 256 MiB  rdma }
  link a <-> b { bandwidth 1024 MB/s  latency 10 us }
  vm vm1 on a { vcpus 2  memory 16 MiB  initial image "app" 100%  workload { writes 500 pages/s zipf 0.9 over 20%  reads 3000 pages/s uniform } }
  vm vm2 on a { vcpus 1  memory 16 MiB  initial image "app" 100%  workload { writes 200 pages/s zipf 0.9 over 10% } }
  at 0 s: start vm1
  at 0 s: start vm2
  # pages 0..2047 stay equal in both (the image's); page sharing merges them by 40 ms
  at 1 ms: vm1 writes pages 2048..4095
  at 1 ms: vm2 writes pages 3072..4095
  at 10 ms: tps on a { pages-to-scan 4096  sleep 10 ms }
  at 100 ms: migrate vm1 to b { transport rdma${MODES[mode]} }
${extra}
  run until ${until}
}
`;

const VMS = ["vm1", "vm2"];

const FAULTS: Record<string, string> = {
  ...TWO_HOST_FAULTS,
  "sender killed": 'kill "vm1.migration-sender#1"',
  "responder killed": 'kill "vm1.rdma-responder.a#1"',
  "copier killed": 'kill "vm1.remote-copier#1"',
};

/** The helper worlds alive in a phase (a kill is a cell only where its world exists). */
function alive(phase: string): string[] {
  if (phase === "pre-copy") return ["sender killed"];
  if (phase === "background copier") return ["responder killed", "copier killed"];
  return phase === "local again" ? [] : ["responder killed"];
}

/** vm1's fate (`host`: died with its host; `oom`; `VMSCNxxxx`: failed with that code) and where; vm2's. */
function fate(o: Outcome, vm: string): string {
  const v = o.report.vms[vm];
  if (v.state !== "stopped") return `runs on ${v.host}`;
  if (HOST_CRASH.test(v.failure)) return `host ${v.host}`;
  if (OOM_KILL.test(v.failure)) return `oom ${v.host}`;
  const code = /^(VMSCN\d{4}) at [\d.]+ s: /.exec(v.failure);
  return code ? `${code[1]} ${v.host}` : `unexpected: ${v.failure}`;
}

/** README.md's Failures rows, cell by cell: [vm1, vm2, the migration's status]. */
function expected(mode: Mode, phase: string, fault: string): [string, string, string] {
  if (phase === "pre-copy") {
    // As any pre-copy migration: it fails and vm1 stays on the source.
    switch (fault) {
      case "source crash":
        return ["host a", "host a", "failed"];
      case "source memory exhausted":
        // Their writes to the pages they share need frames (COW breaks): the OOM rule kills
        // vm2 at its first, which frees its frames, so vm1's COW breaks find frames: vm1 moves.
        return ["runs on b", "oom a", "completed"];
      default:
        return ["runs on a", "runs on a", "failed"];
    }
  }
  const dependent = phase !== "local again";
  switch (fault) {
    case "source crash":
      return [dependent ? "VMSCN7603 b" : "runs on b", "host a", "completed"];
    case "destination crash":
      return ["host b", "runs on a", "completed"];
    case "link down":
    case "responder killed":
      return [dependent ? "VMSCN7604 b" : "runs on b", "runs on a", "completed"];
    case "destination memory exhausted":
      // A remote copy (vm1's write, or the copier's batch) finds no frame on b: vm1 fails.
      return [dependent ? "VMSCN5002 b" : "runs on b", "runs on a", "completed"];
    case "source memory exhausted":
      // vm2's next write to a page vm1 still maps on a is a COW break with no frame: the OOM
      // rule kills vm2 (freeing its frames); vm1's pages there need nothing. Once vm1 is local,
      // vm2 shares nothing.
      return ["runs on b", dependent ? "oom a" : "runs on a", "completed"];
    default:
      // The copier killed: background copying stops, reads and copies on demand go on.
      return ["runs on b", "runs on a", "completed"];
  }
}

/** Remote pages in vm1's page map now. */
function remotePages(o: Outcome): number {
  const g = o.kernel.cluster.world("vm1").memory!;
  let n = 0;
  for (let p = 0; p < g.pages; p++) if ((g.meta[p]! & STATE_MASK) === PageState.Remote) n++;
  return n;
}

for (const mode of Object.keys(MODES) as Mode[]) {
  t.test(`migrate vm1 to b { transport rdma${MODES[mode]} }`, async (t) => {
    // A probe without the scripted write gives the resume; the write comes 1 ms after it (a
    // scripted write draws its contents when it happens, so nothing before it changes).
    const probe = await simulate(platform(mode, ""));
    const m = probe.report.migration.vm1;
    const resume = m["start-time"] + m["total-time-ns"];
    const cowAt = resume + 1_000_000;
    const write = `  at ${cowAt} ns: vm1 writes page ${COW_PAGE}`;
    const base = await simulate(platform(mode, write));
    const r = base.report.rdma.vm1;
    t.same([base.report.migration.vm1.status, r["pages-left-remote"] > 1000], ["completed", true], "the baseline: vm1 moved, its shared pages left behind");
    checkVms(t, base, "baseline", VMS);
    const first = Object.values(m.rounds as Record<string, { start: number; duration: number }>)[0]!;
    const phases: Record<string, number> = { "pre-copy": first.start + Math.floor(first.duration / 2) };
    if (mode === "remote-cow on-write") {
      // The copy of COW_PAGE: 10 µs request, 4 µs on the wire, 10 µs back; 12 µs in, it is in flight.
      const cut = async (ns: number) => ((await simulate(platform(mode, write, `${ns} ns`))).kernel.cluster.world("vm1").memory!.meta[COW_PAGE]! & STATE_MASK);
      t.same([await cut(cowAt + 12_000), await cut(cowAt + 30_000)], [PageState.Remote, PageState.Present], "the remote COW of the scripted write is in flight 12 µs after it, done 30 µs after");
      t.equal(r["depends-on-source"], true, "vm1 still depends on a at the end");
      Object.assign(phases, { "remote-shared, just after the resume": middle(resume, cowAt), "remote COW in flight": cowAt + 12_000, "remote-shared, later": middle(cowAt + 1_000_000, 1e9) });
    } else {
      const end = resume + r["dependence-time"];
      t.same([r["dependence-end"], r["background-pages"] > 1000], ["local", true], "the copier brought the pages: vm1 no longer depends on a");
      Object.assign(phases, { "background copier": middle(resume, end), "local again": middle(end, 1e9) });
    }
    const faultsOf = (phase: string): Record<string, string> => {
      const out = withHelpers(FAULTS, alive(phase));
      // Whether vm2 writes a page vm1 still maps on a before the copier brought it is a race: left out.
      if (phase === "background copier") delete out["source memory exhausted"];
      return out;
    };
    const cells = await runCells(t, phases, faultsOf, (_c, statement) => simulate(platform(mode, `${write}\n${statement}`)), ({ phase, fault, name: cell }, o) => {
      const [vm1, vm2, migration] = expected(mode, phase, fault);
      t.same([fate(o, "vm1"), fate(o, "vm2"), o.report.migration.vm1.status], [vm1, vm2, migration], cell);
      checkVms(t, o, cell, VMS);
      t.equal(o.report.actions.at(-1).state, "done", `${cell}: the fault took effect`);
      if (/^VMSCN/.test(vm1)) checkCoded(t, o.report.vms.vm1.failure, `${cell}: vm1`);
      const rr = o.report.rdma.vm1;
      t.equal(rr["pages-remote"], remotePages(o), `${cell}: the report's remote pages are the page map's`);
      if (o.report.vms.vm1.state === "stopped") t.same([rr["pages-remote"], rr["depends-on-source"]], [0, false], `${cell}: a failed VM maps nothing remotely`);
      if (fault === "copier killed") t.match(rr["background-stopped"], /^the copier "vm1.remote-copier#1" was killed at /, `${cell}: the report says why the copier stopped`);
    });
    // Each phase meets the five host and link faults (but the one race left out), and a kill of
    // each helper alive in it: the sender in the pre-copy, the responder while vm1 depends on
    // a, the copier while it copies.
    t.equal(cells, mode === "remote-cow on-write" ? 4 * 5 + 4 : 3 * 5 - 1 + 3, "cells");
  });
}
