// One test per validation code: the exact code, line and column.
import t, { type Test } from "tap";
import { diagnosticsOf, scenario, files, check, run } from "./helpers.js";

// Line numbers: the scenario() platform takes lines 1-7 (8 with the plugin line), the body starts after.
const BODY = 8;
const BODY_P = 9;

/**
 * Asserts exactly one diagnostic with `code`, at `line` and at `column` — given as a number, or
 * as the text it points at (its first occurrence on that line, 1-based), which is easier to read.
 */
async function only(t: Test, text: string, code: string, line: number, at: number | string, message?: RegExp, plugin = false) {
  const ds = await diagnosticsOf(text, { plugin });
  const column = typeof at === "number" ? at : text.split("\n")[line - 1]!.indexOf(at) + 1;
  const hit = ds.filter((d) => d.code === code);
  t.equal(hit.length, 1, `one ${code} in ${JSON.stringify(ds)}`);
  t.equal(hit[0]?.line, line, "line");
  t.equal(hit[0]?.column, column, "column");
  if (message) t.match(hit[0]?.message, message);
  return hit[0];
}

t.test("VMSCN0201 undefined host, with a hint", async (t) => {
  const d = await only(t, scenario("  vm db on c { vcpus 1  memory 1 GiB }"), "VMSCN0201", BODY, "c {", /there is no host "c"/);
  t.equal(d?.hint, 'did you mean "a"?');
});

t.test("VMSCN0202 undefined VM", async (t) => {
  await only(t, scenario("  at 1 s: start wbe"), "VMSCN0202", BODY, "wbe", /there is no VM "wbe"/);
});

t.test("VMSCN0203 undefined datastore", async (t) => {
  await only(t, scenario("  vm db on a { vcpus 1  memory 1 GiB  disk nas 10 GiB }"), "VMSCN0203", BODY, "nas");
});

t.test("VMSCN0204 undefined link", async (t) => {
  await only(t, scenario("  at 1 s: link a<->c down"), "VMSCN0204", BODY, "a<->c", /there is no link "a<->c"/);
});

t.test("VMSCN0205 duplicate name", async (t) => {
  await only(t, scenario("  host web { cpus 1  memory 1 GiB }"), "VMSCN0205", BODY, "web", /"web" is already the name of a VM/);
});

t.test("VMSCN0206 a VM larger than its host", async (t) => {
  await only(t, scenario("  vm big on b { vcpus 1  memory 32 GiB }"), "VMSCN0206", BODY, "32 GiB", /more than host "b" has/);
});

t.test("VMSCN0207 a verb no loaded plugin provides", async (t) => {
  const d = await only(t, scenario("  at 1 s: teleport web to b"), "VMSCN0207", BODY, "teleport", /no loaded plugin provides the verb "teleport"/);
  t.match(d?.hint, /the verbs are/);
});

t.test("VMSCN0208 unknown option, with a hint", async (t) => {
  const d = await only(t, scenario("  at 1 s: probe web to b { downtime-limit 1 s  max-round 3 }", { plugin: true }), "VMSCN0208", BODY_P, "max-round ", /"probe" has no option "max-round"/, true);
  t.equal(d?.hint, 'did you mean "max-rounds"?');
});

t.test("VMSCN0209 missing required option and argument", async (t) => {
  await only(t, scenario("  at 1 s: probe web to b { }", { plugin: true }), "VMSCN0209", BODY_P, "{", /needs option "downtime-limit"/, true);
  await only(t, scenario("  at 1 s: probe web { downtime-limit 1 s }", { plugin: true }), "VMSCN0209", BODY_P, "probe", /"probe" needs "to a host"/, true);
  await only(t, scenario("  host c { memory 1 GiB }"), "VMSCN0209", BODY, "c {", /host "c" needs a number of CPUs/);
});

t.test("VMSCN0210 a unit of the wrong dimension, or none", async (t) => {
  await only(t, scenario("  host c { cpus 2  memory 10 s }"), "VMSCN0210", BODY, "10 s", /the memory of host "c" needs a size .* but 10 s is a time/);
  await only(t, scenario("  link b <-> a { bandwidth 10 Gbit/s  latency 50 }"), "VMSCN0210", BODY, "50 }", /needs a time .* not the bare number 50/);
  await only(t, scenario("  at 1 s: probe web to b { downtime-limit 10 MB }", { plugin: true }), "VMSCN0210", BODY_P, "10 MB", undefined, true);
});

t.test("VMSCN0211 a time in the past", async (t) => {
  await only(t, scenario("  at -5 s: start web"), "VMSCN0211", BODY, "-5 s", /the time of "start" is -5 s, in the past: the simulation starts at 0 s/);
  await only(t, scenario("  at -1 ms: web writes pages 0..3"), "VMSCN0211", BODY, "-1 ms", /in the past/);
});

t.test("VMSCN0212 a value out of range", async (t) => {
  await only(t, scenario("  at 1 s: probe web to b { downtime-limit 1 s  max-rounds 500 }", { plugin: true }), "VMSCN0212", BODY_P, "500", /must be at most 100/, true);
  await only(t, scenario("  at 1 s: web writes pages 0..300000"), "VMSCN0212", BODY, "0..300000", /page 300000 is outside VM "web" \(pages 0..262143\)/);
  await only(t, scenario("  host c { cpus 0  memory 1 GiB }"), "VMSCN0212", BODY, "0 ", /at least 1/);
});

t.test("VMSCN0213 a wrong kind of value", async (t) => {
  await only(t, scenario("  at 1 s: probe web to b with turbo { downtime-limit 1 s }", { plugin: true }), "VMSCN0213", BODY_P, "turbo", /"turbo" is not a valid mode/, true);
  await only(t, scenario("  at 1 s: probe web to b { downtime-limit 1 s  codec gzip }", { plugin: true }), "VMSCN0213", BODY_P, "gzip", /use zlib, lz4/, true);
  await only(t, scenario("  at 1 s: probe web to b { downtime-limit 1 s  after demand, background }", { plugin: true }), "VMSCN0213", BODY_P, "demand,", undefined, true);
  await only(t, scenario("  at 1 s: start web extra"), "VMSCN0213", BODY, "extra", /unexpected "extra" after "start"/);
  await only(t, scenario('  vm db on a { vcpus 1  memory 1 GiB  mac "zz" }'), "VMSCN0213", BODY, '"zz"', /is not a MAC address/);
});

t.test("VMSCN0214 given twice", async (t) => {
  await only(t, scenario("  at 1 s: probe web to b { downtime-limit 1 s  downtime-limit 2 s }", { plugin: true }), "VMSCN0214", BODY_P, "downtime-limit 2", /given twice/, true);
  await only(t, scenario("  run until 1 s\n  run until 2 s"), "VMSCN0214", BODY + 1, 3, /"run" is given twice/);
});

t.test("VMSCN0215 a content mix that does not add up", async (t) => {
  await only(t, scenario("  vm db on a { vcpus 1  memory 1 GiB  initial zero 20%, random 50% }"), "VMSCN0215", BODY, "zero", /adds up to 70%, not 100%/);
});

t.test("VMSCN0216 no scenario block, or two", async (t) => {
  await only(t, 'host a { cpus 1  memory 1 GiB }\n', "VMSCN0216", 1, 1, /has no scenario block/);
  await only(t, 'scenario "a" { }\nscenario "b" { }\n', "VMSCN0216", 2, 10, /second one \("b"\)/);
});

t.test("VMSCN0217 imports: missing, a scenario, a cycle", async (t) => {
  const missing = await check(files({ "m.vmscn": 'import "nope.vmscn"\nscenario "m" { }\n' }));
  t.same(missing.diagnostics.map((d) => [d.code, d.loc.line, d.loc.column]), [["VMSCN0217", 1, 8]]);
  t.match(missing.diagnostics[0]!.message, /cannot import "nope.vmscn": no such file/);
  const scen = await check(files({ "m.vmscn": 'import "other.vmscn"\nscenario "m" { }\n', "other.vmscn": 'scenario "o" { }\n' }));
  t.match(scen.diagnostics[0]!.message, /has a scenario block/);
  const cycle = await check(files({ "m.vmscn": 'import "p.vmscn"\nscenario "m" { }\n', "p.vmscn": 'import "q.vmscn"\n', "q.vmscn": 'import "p.vmscn"\n' }));
  t.same(cycle.diagnostics.map((d) => d.code), ["VMSCN0217"]);
  t.match(cycle.diagnostics[0]!.message, /import cycle: m.vmscn → p.vmscn → q.vmscn → p.vmscn/);
  t.equal(cycle.diagnostics[0]!.loc.file.endsWith("q.vmscn"), true, "reported in the file that closes the cycle");
});

t.test("VMSCN0218 a plugin that cannot be loaded", async (t) => {
  await only(t, 'use plugin "./missing-plugin.ts"\nscenario "m" { }\n', "VMSCN0218", 1, 12, /cannot be loaded/);
});

t.test("VMSCN0219 a disk on a datastore the host cannot reach", async (t) => {
  await only(t, scenario("  vm db on a { vcpus 1  memory 1 GiB  disk local-b 10 GiB }"), "VMSCN0219", BODY, "local-b", /host "a", which cannot reach datastore "local-b"/);
});

t.test("VMSCN0220 an action after the end of the run (a warning)", async (t) => {
  const d = await only(t, scenario("  run until 10 s\n  at 20 s: stop web"), "VMSCN0220", BODY + 1, 3, /never happens/);
  t.equal(d?.severity, "warning");
});

t.test("VMSCN0221 an expectation naming an undefined link", async (t) => {
  await only(t, scenario("  expect link(a<->z).up"), "VMSCN0221", BODY, "a<->z");
});

t.test("VMSCN0222 a verb's own static check, at the argument it names", async (t) => {
  const d = await only(t, scenario("  vm big on a { vcpus 1  memory 15.5 GiB }\n  at 1 s: probe big to b { downtime-limit 1 s }\n  vm filler on b { vcpus 1  memory 1 GiB }", { plugin: true }), "VMSCN0222", BODY_P + 1, "b {", /host "b" has 16106127360 bytes free, VM "big" needs 16642998272/, true);
  t.equal(d?.hint, "choose a larger host");
});

t.test("VMSCN0301 an expectation reading a value the report does not have", async (t) => {
  const r = await run(files({ "t.vmscn": scenario("  expect checkpoint(web).downtime < 300 ms\n  expect web.nothing == 1\n  expect web.accesses.writes == 0") }));
  t.same(r.expects.map((e) => [e.passed, e.code]), [[false, "VMSCN0301"], [false, "VMSCN0301"], [true, undefined]]);
  t.match(r.expects[0]!.message, /the report has no "checkpoint" section/);
  t.match(r.expects[1]!.message, /web has no "nothing" \(it has /);
});

t.test("a valid scenario has no diagnostics and every option arrives in base units", async (t) => {
  const text = scenario('  at 1 s: start web\n  at 2 s: probe web to b with postcopy via b<->a { downtime-limit 300 ms  bandwidth 1 Gbit/s  compress  codec lz4  after demand-paging, background  label "x" }\n  run until 3 s\n  expect probe.calls.length == 1', { plugin: true });
  const r = await run(files({ "t.vmscn": text }));
  t.same(r.diagnostics, []);
  const report = r.report as unknown as { probe: { calls: unknown[] } };
  t.same(report.probe.calls, [{ args: { vm: "web", dest: "b", mode: "postcopy", via: "a<->b" }, options: { "downtime-limit": 300e6, bandwidth: 125e6, compress: true, codec: "lz4", after: ["demand-paging", "background"], label: "x", "max-rounds": 30 } }]);
  t.same(r.expects.map((e) => e.passed), [true]);
});

t.test("every problem of a file is reported at once, in order", async (t) => {
  const ds = await diagnosticsOf(scenario("  vm x on zz { vcpus 1  memory 1 GiB }\n  at 1 s: start y\n  expect host(q).up"));
  t.same(ds.map((d) => d.code), ["VMSCN0201", "VMSCN0202", "VMSCN0201"]);
});

t.test("docs/diagnostics.md lists every language code", async (t) => {
  const { readFileSync } = await import("node:fs");
  const { DSL_CODES } = await import("../../../dsl/diagnostics.js");
  const doc = readFileSync(new URL("../../../docs/diagnostics.md", import.meta.url), "utf8");
  for (const [code, meaning] of Object.entries(DSL_CODES)) t.ok(doc.includes(`| ${code} | ${meaning} |`), code);
});
