// The one funnel for plugin code, end to end: a plugin with a bug in each kind of callback
// (verb, check, event, scheduler event, network and storage callbacks, fault handler, COW
// listener, signal handlers, hypercall, report providers) ends the run with VMSCN6006 naming
// the plugin and the hook, and a check that throws is a positioned diagnostic (exit 2), never
// an internal error (exit 3) without the plugin's name.
import "reflect-metadata";
import t from "tap";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { check, run } from "../../app/pipeline.js";
import thrower from "./fixtures/thrower.js";

const ROOT = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "vmscn-funnel-"));

function scenario(kind: string, extra = ""): string {
  const path = join(dir, `${kind}.vmscn`);
  writeFileSync(path, `scenario "funnel-${kind}" {
  host a { cpus 4  memory 256 MiB }
  host b { cpus 4  memory 256 MiB }
  link a <-> b { bandwidth 1 Gbit/s  latency 100 us }
  datastore san { shared-by a, b  bandwidth 1 GB/s  latency 100 us }
  vm web on a { vcpus 1  memory 16 MiB  initial random 100%  workload { writes 1000 pages/s uniform } }
  vm db on a { vcpus 1  memory 16 MiB  initial random 100% }
  at 0 s: start web
  at 1 s: boom web { in ${kind} }
${extra}  run until 3 s
}
`);
  return path;
}

/** The kinds, what else the scenario does to set the bug off, and the hook the error names. */
const CASES: [kind: string, extra: string, hook: string, world?: string][] = [
  ["verb", "", "verb(boom)", "web"],
  ["event", "", "boom event"],
  ["scheduler", "", "scheduler.after"],
  ["transfer", "", "transfer onDone"],
  ["storage", "", "write onDone"],
  ["fault", "", "onFault(write-protect)", "web"],
  ["state-changed", "  at 2 s: suspend web\n", "on(state-changed)", "web"],
  ["host-state-changed", "  at 2 s: crash b\n", "on(host-state-changed)"],
  ["link-state-changed", "  at 2 s: link a<->b down\n", "on(link-state-changed)"],
  ["destroyed", "  at 2 s: migrate web to b\n  at 2001 ms: kill \"web.migration-sender#1\"\n", "on(destroyed)", "web.migration-sender#1"],
  ["hypercall", "  at 2 s: web hypercall boom\n", "hypercall(boom)", "web"],
  ["metric", "", "metric(thrower)"],
];

for (const [kind, extra, hook, world] of CASES) {
  t.test(`a bug in a ${kind} callback is VMSCN6006 naming the plugin and "${hook}"`, async (t) => {
    const out = await run(scenario(kind, extra), { pluginObjects: [thrower] });
    t.same(out.diagnostics.filter((d) => d.severity === "error"), [], "the scenario is valid");
    t.equal(out.failedPhase, "run");
    const err = out.error!;
    t.equal(err.code, "VMSCN6006");
    t.match(err.message, new RegExp(`^plugin "thrower" failed in hook "${hook.replace(/[()]/g, "\\$&")}" \\(${world ? `world ${world}, ` : ""}at [0-9.]+ s\\): cannot read properties of undefined \\(${kind}\\)$`));
  });
}

t.test("a bug in a COW listener names the listener and the guest", async (t) => {
  // web's writer breaks a shared page within the millisecond.
  const out = await run(scenario("cow"), { pluginObjects: [thrower] });
  t.equal(out.error?.code, "VMSCN6006");
  t.match(out.error?.message, /^plugin "thrower" failed in hook "onCowBreak" \(world web, at 1(\.\d+)? s\): cannot read properties of undefined \(cow\)$/);
});

t.test("a bug in a summary table's provider names it", async (t) => {
  const out = await run(scenario("table"), { pluginObjects: [thrower] });
  t.equal(out.error, undefined, "tables are made after the run, for the summary");
  t.throws(() => out.kernel!.metrics.collectTables(), { code: "VMSCN6006", message: /^plugin "thrower" failed in hook "table"/ });
});

t.test("a check that throws is a diagnostic at the action, naming the plugin and the hook", async (t) => {
  const out = await check(scenario("check"), { pluginObjects: [thrower] });
  t.equal(out.failedPhase, "validate");
  const d = out.diagnostics.filter((x) => x.severity === "error");
  t.equal(d.length, 1);
  t.equal(d[0]!.code, "VMSCN6006");
  t.match(d[0]!.loc, { line: 9, column: 11 }, "at the verb");
  t.match(d[0]!.message, /^plugin "thrower" failed in hook "check\(boom\)": cannot read properties of undefined \(check\); the check could not run$/);
});

t.test("the command: a throwing check exits 2 with a positioned diagnostic; a run-time bug exits 3 naming the plugin", async (t) => {
  const plugin = join(ROOT, "test/plugin-host/fixtures/thrower.ts");
  const cli = (args: string[]) => spawnSync(process.execPath, [join(ROOT, "dist/vmscn.js"), ...args, "--plugin", plugin], { encoding: "utf8" });
  const c = cli(["check", scenario("check")]);
  t.equal(c.status, 2);
  t.match(c.stdout + c.stderr, /check\.vmscn:9:11 error VMSCN6006: plugin "thrower" failed in hook "check\(boom\)"/);
  t.notMatch(c.stdout + c.stderr, /internal error|at .*\.ts:\d+/, "no stack trace");
  const r = cli(["run", scenario("transfer")]);
  t.equal(r.status, 3);
  t.match(r.stderr, /VMSCN6006 at [0-9.]+ s: plugin "thrower" failed in hook "transfer onDone"/);
  t.notMatch(r.stderr, /internal error/);
});
