// Property-based tests: random valid scenarios (hosts, VMs, workloads, the kernel's and the
// plugins' actions, faults at random times) run for a few simulated seconds with the
// invariants checked. Whatever happens, no VM is lost or duplicated, every failure says why,
// and the world stays consistent. A failure shrinks to a minimal scenario, printed as .vmscn.
// VMSCN_LONG=1 runs many more cases.
import "reflect-metadata";
import t from "tap";
import fc from "fast-check";
import { files, run } from "../dsl/validate/helpers.js";

const LONG = process.env["VMSCN_LONG"] === "1";
const RUNS = LONG ? 500 : 25;

const HOSTS = ["a", "b", "c"];

interface Vm {
  name: string;
  host: string;
  memoryMiB: number;
  vcpus: number;
  writes: number;
  zipf: boolean;
  disk: boolean;
}

const vmArb = (i: number) =>
  fc.record({
    name: fc.constant(`vm${i}`),
    host: fc.constantFrom(...HOSTS),
    memoryMiB: fc.constantFrom(16, 32, 64, 128),
    vcpus: fc.integer({ min: 1, max: 2 }),
    writes: fc.constantFrom(0, 1000, 20_000),
    zipf: fc.boolean(),
    disk: fc.boolean(),
  });

const time = fc.integer({ min: 0, max: 2000 }).map((ms) => `${ms} ms`);

/** One action line, given the VMs. */
const actionArb = (vms: string[]) =>
  fc.oneof(
    fc.tuple(time, fc.constantFrom(...vms), fc.constantFrom(...HOSTS), fc.constantFrom("", "{ after demand-paging, background }", "{ max-rounds 2 }", "{ bandwidth 200 MB/s  after stop-and-copy }")).map(([t, v, h, o]) => `at ${t}: migrate ${v} to ${h} ${o}`),
    fc.tuple(time, fc.constantFrom(...vms), fc.constantFrom("suspend", "resume", "stop")).map(([t, v, verb]) => `at ${t}: ${verb} ${v}`),
    fc.tuple(time, fc.constantFrom(...HOSTS), fc.constantFrom("crash", "recover", "relieve")).map(([t, h, verb]) => `at ${t}: ${verb} ${h}`),
    fc.tuple(time, fc.constantFrom(...HOSTS), fc.constantFrom(0, 8, 64)).map(([t, h, leave]) => `at ${t}: exhaust ${h} { leave ${leave} MiB }`),
    fc.tuple(time, fc.constantFrom("a<->b", "b<->c"), fc.constantFrom("up", "down")).map(([t, l, s]) => `at ${t}: link ${l} ${s}`),
    fc.tuple(time, fc.constantFrom("fill san", "unfill san", "slow san { bandwidth 5 MB/s }")).map(([t, a]) => `at ${t}: ${a}`),
    fc.tuple(time, fc.constantFrom(...vms), fc.integer({ min: 0, max: 4000 })).map(([t, v, p]) => `at ${t}: ${v} writes pages ${p}..${p + 63}`),
  );

const scenarioArb = fc
  .integer({ min: 1, max: 3 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => vmArb(i))))
  .chain((vms) => fc.tuple(fc.constant(vms as Vm[]), fc.array(actionArb(vms.map((v) => v.name)), { maxLength: 8 }), fc.integer({ min: 1, max: 1000 })));

function render([vms, actions, seed]: [Vm[], string[], number]): string {
  const vmLines = vms.map((v) => {
    const work = [v.writes > 0 ? `writes ${v.writes} pages/s ${v.zipf ? "zipf 0.9 over 20%" : "uniform"}` : "", v.disk ? "disk writes 10 MB/s sequential" : ""].filter(Boolean).join("  ");
    return `  vm ${v.name} on ${v.host} { vcpus ${v.vcpus}  memory ${v.memoryMiB} MiB  disk san 256 MiB  initial zero 20%, image "os" 30%, random 50%${work ? `  workload { ${work} }` : ""} }`;
  });
  return `scenario "property" {
  seed ${seed}
  host a { cpus 4  memory 512 MiB  rdma }
  host b { cpus 4  memory 512 MiB  rdma }
  host c { cpus 2  memory 512 MiB }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }
  link b <-> c { bandwidth 1 Gbit/s  latency 100 us }
  datastore san { shared-by a, b, c  bandwidth 200 MB/s }
${vmLines.join("\n")}
${vms.map((v) => `  at 0 s: start ${v.name}`).join("\n")}
${actions.map((a) => `  ${a}`).join("\n")}
  run until 3 s
}
`;
}

type Report = {
  hosts: Record<string, { up: boolean; worlds: string[] }>;
  vms: Record<string, { host: string; state: string; failure?: string }>;
  actions: { verb: string; state: string; failure?: string }[];
};

t.test(`random scenarios keep the world consistent (${RUNS} cases)`, async (t) => {
  let ran = 0;
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (sc) => {
      const text = render(sc);
      const r = await run(files({ "p.vmscn": text }), { checkInvariants: true });
      if (r.failedPhase === "validate") return; // a request the static checks refuse: fine
      if (r.failedPhase === "parse") throw new Error(`the generator wrote an unparsable scenario: ${r.diagnostics[0]?.message}`);
      if (r.error) throw new Error(`the run failed: ${r.error.describe()}`);
      ran++;
      const rep = r.report as unknown as Report;
      for (const v of sc[0]) {
        const vm = rep.vms[v.name];
        if (!vm) throw new Error(`VM ${v.name} was lost`);
        const on = Object.entries(rep.hosts).filter(([, h]) => h.worlds.includes(v.name)).map(([n]) => n);
        if (on.length !== 1 || on[0] !== vm.host) throw new Error(`VM ${v.name} is on hosts [${on.join(", ")}], the report says ${vm.host}`);
        if (vm.state === "running" && !rep.hosts[vm.host]!.up) throw new Error(`VM ${v.name} runs on host ${vm.host}, which is down`);
        if (vm.state === "stopped" && vm.failure === undefined && !rep.actions.some((a) => a.verb === "stop" && a.state === "done")) {
          throw new Error(`VM ${v.name} stopped without a reason`);
        }
      }
      for (const a of rep.actions) if (a.state === "failed" && !/^VMSCN\d{4} at .+: .{10,}/.test(a.failure ?? "")) throw new Error(`action ${a.verb} failed without a coded reason: ${a.failure}`);
    }),
    {
      numRuns: RUNS,
      seed: 20261122,
      reporter: (out) => {
        if (out.failed && out.counterexample) t.fail(`minimal failing scenario (seed ${out.seed}):\n${render(out.counterexample[0])}\n${String(out.errorInstance)}`);
      },
    },
  );
  t.ok(ran > RUNS / 2, `${ran} of ${RUNS} scenarios ran (the others were refused at validation)`);
});
