// The fault matrix of pre-copy migration: each phase (setup, first round, last round,
// stop-and-copy, demand paging, background paging) × each fault (destination crash, source
// crash, link down, destination memory exhausted, a helper world killed). A baseline run
// without the fault gives each phase's time window; the fault is injected in its middle.
// Every cell's outcome is the one plugins/precopy-migration/README.md defines, and in every
// cell the VM is on exactly one host (or failed with a reason), the invariants hold, and a VM
// that survived holds exactly what its guest wrote (harness.ts).
import "reflect-metadata";
import t from "tap";
import { checkVms, simulate, type Outcome as Run } from "./harness.js";

type Mig = {
  status: string;
  failure?: string;
  "start-time": number;
  "total-time-ns": number;
  "downtime-ns": number | null;
  rounds: Record<string, { start: number; duration: number }>;
  "source-dependency-time": number;
};
type Report = {
  migration: Record<string, Mig>;
  vms: Record<string, { host: string; state: string; failure?: string }>;
  hosts: Record<string, { worlds: string[] }>;
};

const platform = (after: string, fault: string) => `scenario "matrix" {
  host a { cpus 4  memory 1 GiB }
  host b { cpus 4  memory 1 GiB }
  link a <-> b { bandwidth 1 Gbit/s  latency 100 us }
  datastore san { shared-by a, b  bandwidth 500 MB/s }
  vm web on a { vcpus 2  memory 64 MiB  disk san 1 GiB  initial zero 10%, random 90%  workload { writes 3000 pages/s zipf 0.9 over 20%  reads 20000 pages/s uniform } }
  at 0 s: start web
  at 100 ms: migrate web to b { max-rounds 4  threshold 64  after ${after} }
${fault}
  run until 10 s
}
`;

function simulateMatrix(after: string, fault = ""): Promise<Run> {
  return simulate(platform(after, fault));
}

/** The middle of each phase, in ns, from a run without faults. */
function phases(m: Mig, postcopy: boolean): Record<string, number> {
  const start = m["start-time"];
  const rounds = Object.values(m.rounds);
  const first = rounds[0]!;
  const last = rounds[rounds.length - 1]!;
  const out: Record<string, number> = {
    // The connection and setup: from the request to the first round.
    setup: start + Math.floor((first.start - start) / 2),
    "first round": first.start + Math.floor(first.duration / 2),
    "last round": last.start + Math.floor(last.duration / 2),
  };
  const lastEnd = last.start + last.duration;
  if (!postcopy) out["stop-and-copy"] = lastEnd + Math.floor(m["downtime-ns"]! / 2);
  else {
    const resume = start + m["total-time-ns"] - m["source-dependency-time"];
    out["post-copy"] = resume + Math.floor(m["source-dependency-time"] / 2);
  }
  return out;
}

type Outcome = "aborted, runs on source" | "died with source" | "died with destination" | "died: lost its source" | "killed: out of memory" | "completed";

const FAULTS: Record<string, (at: number) => string> = {
  "destination crash": (at) => `  at ${at} ns: crash b`,
  "source crash": (at) => `  at ${at} ns: crash a`,
  "link down": (at) => `  at ${at} ns: link a<->b down`,
  "destination memory exhausted": (at) => `  at ${at} ns: exhaust b`,
  "sender killed": (at) => `  at ${at} ns: kill "web.migration-sender#1"`,
};

/** What README.md says happens, by phase kind (before or after switch-over) and fault. */
function expected(phase: string, fault: string): Outcome {
  const after = phase === "post-copy";
  switch (fault) {
    case "destination crash":
      return after ? "died with destination" : "aborted, runs on source";
    case "source crash":
      return after ? "died: lost its source" : "died with source";
    case "link down":
      return after ? "died: lost its source" : "aborted, runs on source";
    case "destination memory exhausted":
      // A page with nowhere to land aborts the migration while the VM runs on the source;
      // from stop-and-copy on, the VM dies on the destination: a page of it has nowhere to
      // land, or its next write that needs a frame gets it killed (a host's OOM killer).
      return after || phase === "stop-and-copy" ? "killed: out of memory" : "aborted, runs on source";
    default:
      // The sender sends the pages: killing it before switch-over aborts the migration; after
      // it, the destination VM has lost the side that serves its missing pages.
      return after ? "died: lost its source" : "aborted, runs on source";
  }
}

function outcome(r: Report): Outcome {
  const m = r.migration["web"]!;
  const vm = r.vms["web"]!;
  if (m.status === "completed" && vm.host === "b" && vm.state === "running") return "completed";
  if (m.status === "failed" && vm.host === "a" && vm.state === "running") return "aborted, runs on source";
  if (vm.state === "stopped" && vm.host === "a" && /host "a" crashed/.test(vm.failure ?? "")) return "died with source";
  if (vm.state === "stopped" && vm.host === "b" && /host "b" crashed/.test(vm.failure ?? "")) return "died with destination";
  if (vm.state === "stopped" && vm.host === "b" && /out of memory/.test(vm.failure ?? "")) return "killed: out of memory";
  if (vm.state === "stopped" && vm.host === "b" && /migration/.test(vm.failure ?? "")) return "died: lost its source";
  throw new Error(`unexpected: migration ${m.status} (${m.failure ?? ""}), VM ${vm.state} on ${vm.host} (${vm.failure ?? ""})`);
}

for (const after of ["stop-and-copy", "demand-paging, background"]) {
  t.test(`migrate { after ${after} }`, async (t) => {
    const baseRun = await simulateMatrix(after);
    const base = baseRun.report as Report;
    t.equal(base.migration["web"]!.status, "completed", "the baseline completes");
    checkVms(t, baseRun, "baseline", ["web"]);
    const windows = phases(base.migration["web"]!, after !== "stop-and-copy");
    let cells = 0;
    for (const [phase, at] of Object.entries(windows)) {
      for (const [fault, line] of Object.entries(FAULTS)) {
        let o: Run;
        try {
          o = await simulateMatrix(after, line(at));
        } catch (err) {
          t.fail(`${phase} × ${fault}: ${(err as Error).message}`);
          continue;
        }
        const r = o.report as Report;
        checkVms(t, o, `${phase} × ${fault}`, ["web"]);
        let got: string;
        try {
          got = outcome(r);
        } catch (err) {
          got = (err as Error).message;
        }
        t.equal(got, expected(phase, fault), `${phase} × ${fault}`);
        cells++;
      }
    }
    t.equal(cells, Object.keys(windows).length * Object.keys(FAULTS).length);
  });
}
