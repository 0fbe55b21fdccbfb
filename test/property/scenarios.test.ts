// Property-based tests: random valid scenarios (hosts, VMs, workloads, the kernel's actions and
// faults and every built-in plugin's verbs, at random times; generator.ts) run for a few
// simulated seconds with the invariants checked. Whatever happens, no VM is lost or duplicated,
// none runs on a down host, every failure says what, where and when, no plugin crashes
// (VMSCN6xxx), no vCPU waits forever (half the scenarios suspend every VM at the end, so one
// shows as a deadlock), and the world stays consistent. A failure shrinks to a minimal
// scenario, printed as .vmscn.
// VMSCN_LONG=1 runs 500 cases (VMSCN_CASES=N any number), VMSCN_SEED=N other ones.
import "reflect-metadata";
import t from "tap";
import fc from "fast-check";
import { files, run } from "../dsl/validate/helpers.js";
import { render, scenarioArb, type Scenario } from "./generator.js";

const LONG = process.env["VMSCN_LONG"] === "1";
const RUNS = Number(process.env["VMSCN_CASES"] ?? (LONG ? 500 : 100));
/** VMSCN_SEED=N explores other scenarios; a failure prints its seed. */
const SEED = Number(process.env["VMSCN_SEED"] ?? 20261122);

interface Action {
  verb: string;
  state: string;
  args: Record<string, unknown>;
  failure?: string;
}
type Report = Record<string, unknown> & {
  hosts: Record<string, { up: boolean; worlds: string[] }>;
  vms: Record<string, { host: string; state: string; failure?: string }>;
  actions: Action[];
  hypercalls: { vm: string; name: string; state: string; failure?: string }[];
};

/** A coded failure: "VMSCNxxxx at <when/where>: <sentence>". */
const CODED = /^VMSCN\d{4} at .+: .{10,}/;
/** The plugin host's codes: a plugin hook that threw, a plugin registered twice, ... — never expected in a run. */
const PLUGIN_CRASH = /VMSCN6\d{3}/;
/** The generator's VMs, the declared worker, and the children and clones the plugins name after them. */
const VM_NAME = /^(vm\d+|w0)(-(child|clone)\d+)*$/;

/** Every object under a plugin's report section whose status is "failed", with its path. */
function failedEntries(value: unknown, path: string, out: { path: string; entry: Record<string, unknown> }[]): void {
  if (value === null || typeof value !== "object") return;
  const o = value as Record<string, unknown>;
  if (o["status"] === "failed") out.push({ path, entry: o });
  for (const [k, v] of Object.entries(o)) failedEntries(v, `${path}.${k}`, out);
}

/** The properties of issue 9, checked on one run's report; a broken one throws with what broke. */
function checkReport(sc: Scenario, rep: Report): void {
  const declared = [...sc.vms.map((v) => v.name), ...(sc.worker ? [sc.worker.name] : [])];
  for (const name of declared) if (!rep.vms[name]) throw new Error(`VM ${name} was lost (not in the report's vms)`);
  // Every child and clone a plugin reports is a VM of the report.
  const fork = (rep["fork"] ?? {}) as Record<string, { role: string; status: string; failure?: string }>;
  const clone = (rep["clone"] ?? {}) as Record<string, { role: string; status: string; failure?: string }>;
  const workers = [...Object.entries(fork).filter(([, e]) => e.role === "child"), ...Object.entries(clone).filter(([, e]) => e.role === "clone")];
  for (const [name] of workers) if (!rep.vms[name]) throw new Error(`worker ${name} was lost (reported by its plugin, not in the report's vms)`);

  const stopped = new Set(rep.actions.filter((a) => a.verb === "stop" && a.state === "done").map((a) => String(a.args["vm"])));
  for (const [name, vm] of Object.entries(rep.vms)) {
    const on = Object.entries(rep.hosts).filter(([, h]) => h.worlds.includes(name)).map(([n]) => n);
    if (on.length !== 1 || on[0] !== vm.host) throw new Error(`VM ${name} is on hosts [${on.join(", ")}], the report says ${vm.host}`);
    if (vm.state === "running" && !rep.hosts[vm.host]!.up) throw new Error(`VM ${name} runs on host ${vm.host}, which is down`);
    const reason = vm.failure ?? fork[name]?.failure ?? clone[name]?.failure;
    if (vm.state === "stopped" && reason === undefined && !stopped.has(name)) throw new Error(`VM ${name} stopped without a reason`);
    if (reason !== undefined && PLUGIN_CRASH.test(reason)) throw new Error(`VM ${name} failed with a plugin crash: ${reason}`);
  }
  // No world named as the scenario's VMs and their workers are is unknown to the report (helpers
  // have a dot in their names, the memory hog of `exhaust` an @): nothing duplicated.
  for (const [host, h] of Object.entries(rep.hosts)) {
    for (const w of h.worlds) if (VM_NAME.test(w) && !rep.vms[w]) throw new Error(`host ${host} holds a world ${w} that is no VM of the report`);
  }
  for (const a of rep.actions) {
    if (a.state === "failed" && !CODED.test(a.failure ?? "")) throw new Error(`action ${a.verb} failed without a coded reason: ${a.failure}`);
    if (a.failure !== undefined && PLUGIN_CRASH.test(a.failure)) throw new Error(`action ${a.verb} failed with a plugin crash: ${a.failure}`);
  }
  for (const h of rep.hypercalls ?? []) {
    if (h.state === "failed" && !CODED.test(h.failure ?? "")) throw new Error(`hypercall ${h.name} of ${h.vm} failed without a coded reason: ${h.failure}`);
  }
  // Every plugin's failed figure (a migration, a clone, a save...) says why.
  const core = new Set(["hosts", "vms", "actions", "hypercalls", "links", "datastores", "transfers", "run", "files", "kernel", "scenario", "schema", "seed", "simulatedTimeNs"]);
  for (const [section, value] of Object.entries(rep)) {
    if (core.has(section)) continue;
    const failed: { path: string; entry: Record<string, unknown> }[] = [];
    failedEntries(value, section, failed);
    for (const f of failed) {
      const why = f.entry["failure"];
      if (typeof why !== "string" || why.length < 10) throw new Error(`${f.path} failed without a reason (failure: ${JSON.stringify(why)})`);
      if (PLUGIN_CRASH.test(why)) throw new Error(`${f.path} failed with a plugin crash: ${why}`);
    }
  }
}

// tap's own limit (30 s when a file runs alone) would end a long run: about 0.1 s a case, kept generous.
t.setTimeout(Math.max(120_000, RUNS * 1_000));

t.test(`random scenarios keep the world consistent (${RUNS} cases)`, async (t) => {
  let ran = 0;
  const verbs = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (sc) => {
      const text = render(sc);
      const r = await run(files({ "p.vmscn": text }), { checkInvariants: true });
      if (r.failedPhase === "validate") return; // a request the static checks refuse: fine
      if (r.failedPhase === "parse") throw new Error(`the generator wrote an unparsable scenario: ${r.diagnostics[0]?.message}`);
      if (r.error) throw new Error(`the run failed: ${r.error.describe()}`);
      ran++;
      const rep = r.report as unknown as Report;
      for (const a of rep.actions) verbs.set(a.verb, (verbs.get(a.verb) ?? 0) + 1);
      verbs.set("hypercall", (verbs.get("hypercall") ?? 0) + (rep.hypercalls ?? []).length);
      checkReport(sc, rep);
    }),
    {
      numRuns: RUNS,
      seed: SEED,
      // Shrinking a failure may run hundreds of scenarios: past this budget fast-check stops and
      // reports the smallest failing scenario so far. (A run cut short without a failure runs
      // fewer cases, which the count below catches.)
      interruptAfterTimeLimit: RUNS * 400 + 60_000,
      reporter: (out) => {
        if (!out.failed || !out.counterexample) return;
        // The smallest failing scenario, as a file `vmscn run FILE --check-invariants` replays, and in the diagnostic block.
        const text = render(out.counterexample[0]);
        const file = files({ "minimal.vmscn": text });
        t.fail(`a random scenario broke a property (seed ${out.seed}${out.interrupted ? ", shrinking cut short" : ""}): ${String(out.errorInstance)}; the scenario: ${file}`, { diagnostic: true, scenario: text });
      },
    },
  );
  t.ok(ran > RUNS * 0.8, `${ran} of ${RUNS} scenarios ran (the others were refused at validation)`);
  t.comment(`actions run, by verb: ${[...verbs].sort().map(([v, n]) => `${v} ${n}`).join(", ")}`);
});
