// run, check and test through the bundle (dist/vmscn.js, built by `npm test`'s pretest step).
import t from "tap";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bundle = join(root, "dist/vmscn.js");
const suite = "test/cli/suite";

function vmscn(...args: string[]) {
  const r = spawnSync(process.execPath, [bundle, ...args], { encoding: "utf8", cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test("run: summary, expectations, exit 0; the same JSON every time", (t) => {
  const r = vmscn("run", `${suite}/pass.vmscn`);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /scenario pass · seed 1 · simulated 0.009 s/);
  t.match(r.out, /ok {2}test\/cli\/suite\/pass.vmscn:7:3 expect web.accesses.writes == 10/);
  t.match(r.out, /2 of 2 expectations hold/);
  const a = vmscn("run", `${suite}/pass.vmscn`, "--json", "-");
  t.equal(a.code, 0);
  t.equal(a.out, vmscn("run", `${suite}/pass.vmscn`, "--json", "-").out, "byte-identical");
  t.equal(JSON.parse(a.out).vms.web.accesses.writes, 10);
  t.end();
});

t.test("run: a failing expectation prints the line and both values, exit 1", (t) => {
  const r = vmscn("run", `${suite}/fail.vmscn`);
  t.equal(r.code, 1);
  t.match(r.out, /FAILED {2}test\/cli\/suite\/fail.vmscn:8:3 expect host\(a\).memory.used < 4 KiB: 40 KiB is not < 4 KiB/);
  t.match(r.out, /1 of 2 expectations hold/);
  t.end();
});

t.test("run: an invalid scenario prints every diagnostic with a code frame, exit 2", (t) => {
  const r = vmscn("run", `${suite}/negative-validate.vmscn`);
  t.equal(r.code, 2);
  t.equal(r.out, "");
  t.match(r.err, /test\/cli\/suite\/negative-validate.vmscn:5:13 error VMSCN0201: there is no host "b"\n {2}4 \| {3}host a \{ cpus 4 {2}memory 4 GiB \}\n> 5 \| {3}vm web on b \{ vcpus 1 {2}memory 64 MiB \}\n {4}\| {13}\^\n {2}hint: did you mean "a"\?/);
  t.notMatch(r.err, /\n\s+at /, "no stack trace");
  t.end();
});

t.test("run: --json, --trace and --html files", (t) => {
  const dir = t.testdir({});
  const r = vmscn("run", `${suite}/pass.vmscn`, "--json", join(dir, "r.json"), "--trace", join(dir, "t.json"), "--html", join(dir, "r.html"));
  t.equal(r.code, 0, r.err);
  t.equal(JSON.parse(readFileSync(join(dir, "r.json"), "utf8")).scenario, "pass");
  t.ok(Array.isArray(JSON.parse(readFileSync(join(dir, "t.json"), "utf8")).traceEvents));
  const html = readFileSync(join(dir, "r.html"), "utf8");
  t.match(html, /<svg/);
  t.notMatch(html, /(src|href)="https?:/, "self-contained");
  t.end();
});

t.test("run: usage errors exit 2", (t) => {
  t.equal(vmscn("run").code, 2);
  t.equal(vmscn("run", "nope.vmscn").code, 2);
  t.match(vmscn("run", "nope.vmscn").err, /cannot read nope.vmscn/);
  t.equal(vmscn("run", `${suite}/pass.vmscn`, "--seed", "x").code, 2);
  t.end();
});

t.test("check: ok for a valid file, diagnostics and exit 2 otherwise", (t) => {
  const ok = vmscn("check", `${suite}/pass.vmscn`);
  t.equal(ok.code, 0);
  t.equal(ok.out, `${suite}/pass.vmscn: ok\n`);
  const bad = vmscn("check", `${suite}/pass.vmscn`, `${suite}/negative-parse.vmscn`);
  t.equal(bad.code, 2);
  t.match(bad.err, /negative-parse.vmscn:\d+:\d+ error VMSCN0102/);
  t.end();
});

t.test("test: TAP 14 for a suite with a passing, a failing and negative files", (t) => {
  const r = vmscn("test", suite, "--jobs", "2");
  t.equal(r.code, 1, "a failing file fails the suite");
  const lines = r.out.split("\n");
  t.equal(lines[0], "TAP version 14");
  t.equal(lines[1], "1..4");
  t.match(r.out, /not ok 1 - test\/cli\/suite\/fail.vmscn/);
  t.match(r.out, / {4}not ok 2 - line 8: expect host\(a\).memory.used < 4 KiB\n {6}---\n {6}message: "40 KiB is not < 4 KiB"/);
  t.match(r.out, /ok 2 - test\/cli\/suite\/negative-parse.vmscn/);
  t.match(r.out, /ok 1 - fails in the parse phase with VMSCN0102/);
  t.match(r.out, /ok 3 - test\/cli\/suite\/negative-validate.vmscn/);
  t.match(r.out, /ok 4 - test\/cli\/suite\/pass.vmscn/);
  t.match(r.out, /# files 4: 3 passed, 1 failed/);
  const one = vmscn("test", `${suite}/pass.vmscn`);
  t.equal(one.code, 0);
  t.end();
});

t.test("test: shards are disjoint and cover the suite", (t) => {
  const names = (out: string) => [...out.matchAll(/^(?:not )?ok \d+ - (\S+)/gm)].map((m) => m[1]);
  const a = names(vmscn("test", suite, "--shard", "1/2").out);
  const b = names(vmscn("test", suite, "--shard", "2/2").out);
  t.same([...a, ...b].sort(), ["test/cli/suite/fail.vmscn", "test/cli/suite/negative-parse.vmscn", "test/cli/suite/negative-validate.vmscn", "test/cli/suite/pass.vmscn"]);
  t.equal(a.filter((x) => b.includes(x)).length, 0);
  t.equal(vmscn("test", suite, "--shard", "3/2").code, 2);
  t.end();
});

t.test("test: a negative file that does not fail as declared fails", (t) => {
  const dir = t.testdir({});
  writeFileSync(join(dir, "wrong.vmscn"), '# negative: {phase: validate, code: VMSCN0205}\nscenario "w" { host a { cpus 1 memory 1 GiB } }\n');
  const r = vmscn("test", dir);
  t.equal(r.code, 1);
  t.match(r.out, /must fail in the validate phase with VMSCN0205/);
  t.end();
});

t.test("run: a plugin's summary table, with units", (t) => {
  const r = vmscn("run", "scenarios/examples/precopy.vmscn");
  t.equal(r.code, 0, r.err);
  t.match(r.out, /migrations\nvm +from → to +status +rounds +total time +downtime +transferred +zero pages +demand faults +on source\n/);
  t.match(r.out, /web +a → b +completed +2 +[\d.]+ s +[\d.]+ ms +[\d.]+ MiB +\d+ +\d+ +[\d.]+ ms/);
  t.end();
});

t.test("the bundled examples all pass as a suite", (t) => {
  const r = vmscn("test", "scenarios/examples");
  t.equal(r.code, 0, r.out);
  t.match(r.out, / 0 failed/);
  t.end();
});
