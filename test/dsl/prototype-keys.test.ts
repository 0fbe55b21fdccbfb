// Names and units are user text: `__proto__`, `constructor`, `toString` and every other
// property of Object.prototype are names like any other, glued to a number they are an unknown
// unit, and an expectation finds (or misses) them as own keys only.
import "reflect-metadata";
import t from "tap";
import { UNITS, toBase, unitDef } from "../../core/units.js";
import { parseSource } from "../../dsl/parse.js";
import { evaluateExpects } from "../../dsl/expect.js";
import type { ExpectStmt } from "../../dsl/ast.js";
import { diagnosticsOf, files, check, run, scenario } from "./validate/helpers.js";

const KEYS = Object.getOwnPropertyNames(Object.prototype);

t.test("the units table has no prototype", (t) => {
  t.equal(Object.getPrototypeOf(UNITS), null);
  for (const k of KEYS) {
    t.equal(unitDef(k), undefined, k);
    t.equal(toBase(1, k), undefined, k);
  }
  t.same(unitDef("GiB"), { dimension: "bytes", factor: 1024 ** 3 });
  t.end();
});

t.test("a prototype key glued to a number is an unknown unit, never an internal error", (t) => {
  t.ok(KEYS.length >= 12);
  for (const k of KEYS) {
    for (const text of [`memory 4${k}`, `memory 4 ${k}`, `latency 1.5e3${k}`, `expect x < 4${k}`, `at 1 s: web writes pages 0..4${k}`]) {
      const r = parseSource(`scenario "s" {\n  host a { cpus 1  ${text} }\n}\n`, "t.vmscn");
      const bad = r.diagnostics.filter((d) => /internal error|function|native code/.test(`${d.message} ${d.hint ?? ""}`));
      t.same(bad, [], text);
    }
  }
  // The lexer reads `4__proto__` as the number `4__` (digits may be grouped with _) and a unit.
  t.same(
    parseSource('scenario "s" {\n  host a { cpus 1  memory 4constructor }\n}\n', "t.vmscn").diagnostics.map((d) => [d.code, d.loc.line, d.loc.column, d.message, d.hint]),
    [["VMSCN0003", 2, 28, 'unknown unit "constructor" after the number 4', 'write a unit such as "GiB", "ms", "Gbit/s" or "%", or put a space before a name']],
  );
  t.end();
});

const NAMED = (name: string) => `scenario "t" {
  host a { cpus 8  memory 16 GiB }
  host ${name === "a" ? "b" : "b"} { cpus 8  memory 16 GiB }
  link a <-> b { bandwidth 10 Gbit/s }
  vm ${name} on a { vcpus 1  memory 64 MiB  workload { writes 100 pages/s uniform } }
  at 0 s: start ${name}
  at 10 ms: migrate ${name} to b
  run until 1 s
  expect vm(${name}).state == "running" or vm(${name}).state != "running"
}
`;

t.test("a VM named after a prototype key checks and runs; its expectations never leak JS internals", async (t) => {
  for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
    const path = files({ "t.vmscn": NAMED(name) });
    const c = await check(path);
    t.same(c.diagnostics, [], name);
    t.same(c.plan!.vms.map((v) => v.name), [name]);
    const r = await run(path);
    t.equal(r.error, undefined, name);
    for (const e of r.expects) t.notMatch(e.message, /function|native code|\[object/, `${name}: ${e.message}`);
  }
});

t.test("undefined names that are prototype keys are undefined, with no odd hint", async (t) => {
  const ds = await diagnosticsOf(scenario("  at 1 s: start constructor\n  expect host(__proto__).memory.used > 0\n  at 2 s: probe web to b { downtime-limit 1 s  __proto__ 3  toString }", { plugin: true }), { plugin: true });
  t.same(
    ds.map((d) => `${d.code} ${d.line} ${d.message}`),
    ['VMSCN0202 9 there is no VM "constructor"', 'VMSCN0201 10 there is no host "__proto__"', 'VMSCN0208 11 "probe" has no option "__proto__"'],
  );
});

/** The expectations of `lines` against `report`, with `names` declared. */
function evaluate(lines: string[], report: unknown, names: { vms?: string[]; hosts?: string[] }) {
  const r = parseSource(`scenario "s" {\n${lines.map((l) => `  expect ${l}`).join("\n")}\n}\n`, "t.vmscn");
  t.same(r.diagnostics, []);
  const expects = r.file.scenarios[0]!.body as ExpectStmt[];
  return evaluateExpects(expects, report as Record<string, unknown>, { vms: new Set(names.vms ?? []), hosts: new Set(names.hosts ?? []), datastores: new Set(), links: new Set() }).map((e) => [e.passed, e.message, e.code]);
}

t.test("expectations read own keys only: a VM named __proto__ is found, `constructor` is not an inherited function", (t) => {
  // A JSON report holds "__proto__" as an own key, as a Map-built report does.
  const report = JSON.parse('{"vms": {"__proto__": {"state": "running", "memory": 4096}, "web": {"state": "stopped"}}, "run": {"events": 3}, "units": {"vms": {"*.memory": "B"}}}');
  t.same(
    evaluate(['vm(__proto__).state == "running"', '__proto__.state == "running"', "__proto__.memory == 4 KiB", 'web.state == "stopped"'], report, { vms: ["__proto__", "web"] }),
    [
      [true, "holds", undefined],
      [true, "holds", undefined],
      [true, "holds", undefined],
      [true, "holds", undefined],
    ],
  );
  t.same(
    evaluate(['vm(constructor).state == "running"', "constructor.state == 1", "web.constructor == 1", "run.toString == 1", "toString == 1", "vm(web).hasOwnProperty == 1"], report, { vms: ["__proto__", "web", "constructor"] }),
    [
      [false, 'vm(constructor): the report\'s "vms" section has no entry "constructor"', "VMSCN0301"],
      [false, 'constructor has no "state"', "VMSCN0301"],
      [false, 'web has no "constructor" (it has state)', "VMSCN0301"],
      [false, 'run has no "toString" (it has events)', "VMSCN0301"],
      [false, '"toString" is neither a declared name nor a section of the report', "VMSCN0301"],
      [false, 'vm(web) has no "hasOwnProperty" (it has state)', "VMSCN0301"],
    ],
  );
  t.same(evaluate(['host(constructor).memory == 1', 'link(a<->__proto__).bytes == 1'], { hosts: {}, links: {} }, {}), [
    [false, 'host(constructor): the report\'s "hosts" section has no entry "constructor"', "VMSCN0301"],
    [false, 'link(a<->__proto__): the report\'s "links" section has no entry "a<->__proto__"', "VMSCN0301"],
  ]);
  t.end();
});
