import t, { type Test } from "tap";
import { formatDiagnostic } from "../../../dsl/diagnostics.js";
import { parseSource } from "../../../dsl/parse.js";
import { where } from "./helpers.js";

/** Parses `text` (a whole file) and returns its diagnostics. */
const check = (text: string) => parseSource(text, "t.vmscn").diagnostics;

/** [file text, "CODE line:column", message pattern, hint pattern?] */
type Case = [string, string, RegExp | string, (RegExp | string)?];

function expectOne(t: Test, cases: Case[]): void {
  for (const [text, at, message, hint] of cases) {
    const ds = check(text);
    t.same(where(ds), [at], JSON.stringify(text));
    if (typeof message === "string") t.equal(ds[0]?.message, message, JSON.stringify(text));
    else t.match(ds[0]?.message, message, JSON.stringify(text));
    if (hint !== undefined) t.match(ds[0]?.hint, hint, JSON.stringify(text));
    t.equal(ds[0]?.phase, "parse");
    t.equal(ds[0]?.severity, "error");
  }
}

t.test("VMSCN0101: an unexpected token, with what was expected in words", (t) => {
  expectOne(t, [
    ['scenario "s" {\n  host a { memory "x" }\n}', "VMSCN0101 2:19", 'expected a quantity such as "64 GiB" after "memory", but found the string "x"'],
    ['scenario "s" {\n  at: start web\n}', "VMSCN0101 2:5", 'expected a time such as "10 s" after "at", but found ":"'],
    ['scenario "s" {\n  at 10 s start web\n}', "VMSCN0101 2:11", 'expected ":" after "10 s", but found "start"'],
    ['scenario "s" {\n  host a { cpus "16" }\n}', "VMSCN0101 2:17", /expected a number such as "16" after "cpus"/],
    ['scenario "s" {\n  host a { nic fast }\n}', "VMSCN0101 2:16", /expected a bandwidth such as "25 Gbit\/s" after "nic"/],
    ['scenario "s" {\n  link a <-> b { latency x }\n}', "VMSCN0101 2:26", /expected a time such as "50 us" after "latency"/],
    ['scenario "s" {\n  vm v on a { initial zero x }\n}', "VMSCN0101 2:28", /expected a percentage such as "20%" after "zero"/],
    ['scenario "s" {\n  vm v on a { workload { writes x uniform } }\n}', "VMSCN0101 2:33", /expected a rate such as "20000 pages\/s" after "writes"/],
    ['scenario "s" {\n  vm v on a { workload { reads 1 pages/s zipf x over 2% } }\n}', "VMSCN0101 2:47", /expected a number such as "0.9" after "zipf"/],
    ['scenario "s" {\n  vm v on a { workload { reads 1 pages/s zipf 1 under 2% } }\n}', "VMSCN0101 2:49", /expected "over", as in "zipf 0.9 over 25%"/],
    ['scenario "s" {\n  run 10 s\n}', "VMSCN0101 2:7", 'expected "until" after "run", but found "10 s"'],
    ['scenario "s" {\n  run until soon\n}', "VMSCN0101 2:13", 'expected a time such as "120 s" or "done" after "until", but found "soon"'],
    ['scenario "s" {\n  expect f(1)\n}', "VMSCN0101 2:12", /expected a name, a link such as "a<->b", or a string after "\("/],
    ['scenario "s" {\n  expect a within 5% b\n}', "VMSCN0101 2:22", /expected "of", as in "x within 5% of y"/],
    ['scenario "s" {\n  vm web a { }\n}', "VMSCN0101 2:10", /expected "on" and the host the VM runs on after "web"/],
    ['scenario "s" {\n  vm { }\n}', "VMSCN0101 2:6", /expected a VM name after "vm"/],
    ['scenario "s" {\n  vm v on a { initial zero 50%, 50% }\n}', "VMSCN0101 2:33", /expected a content part \("zero", "image", "random" or "compressible"\) after ","/],
    ['scenario "s" {\n  link a b { }\n}', "VMSCN0101 2:10", 'expected "<->" after "a", but found "b"'],
    ['scenario "s" {\n  host { }\n}', "VMSCN0101 2:8", /expected a host name after "host"/],
    ['scenario "s" {\n  datastore "d" { }\n}', "VMSCN0101 2:13", /expected a datastore name after "datastore"/],
    ['scenario "s" {\n  vm v on a { disk 4 GiB }\n}', "VMSCN0101 2:20", /expected a datastore name, as in "disk san 40 GiB" after "disk"/],
    ['scenario "s" {\n  expect link(a<->).x\n}', "VMSCN0101 2:19", 'expected a name after "<->", but found ")"'],
    ["import platform", "VMSCN0101 1:8", /expected a file name as a string such as "platform.vmscn" after "import"/],
    ['use "p.ts"', "VMSCN0101 1:5", 'expected "plugin" after "use", but found the string "p.ts"'],
    ["scenario {\n}", "VMSCN0101 1:10", /expected the scenario's name as a string/],
    ['scenario "s" {\n  vm v on a { mac 1 }\n}', "VMSCN0101 2:19", /expected a MAC address as a string/],
    ['scenario "s" {\n  vm v on a { workload { trace web } }\n}', "VMSCN0101 2:32", /expected a trace file name as a string/],
    ['scenario "s" {\n  vm v on a { initial image 5% }\n}', "VMSCN0101 2:29", /expected an image name as a string such as "debian-12" after "image"/],
  ]);
  t.end();
});

t.test("VMSCN0101: unknown statements and properties, with the closest word as a hint", (t) => {
  expectOne(t, [
    ['scenario "s" {\n  hots a { cpus 1 }\n}', "VMSCN0101 2:3", 'unexpected "hots" in scenario "s": expected a statement ("at", "expect", "run", "seed", "tick", "host", "link", "datastore" or "vm")', 'did you mean "host"?'],
    ['scenario "s" {\n  host a { cpu 16 memory 1 GiB }\n}', "VMSCN0101 2:12", 'unexpected "cpu" in host "a": expected a host property ("cpus", "memory", "nic", "rdma", "nodes", "vmm" or "hypercalls")', 'did you mean "cpus"?'],
    ['scenario "s" {\n  link a <-> b { bandwith 1 Gbit/s }\n}', "VMSCN0101 2:18", /in link "a<->b": expected a link property/, 'did you mean "bandwidth"?'],
    ['scenario "s" {\n  datastore d { iop 5 }\n}', "VMSCN0101 2:17", /in datastore "d"/, 'did you mean "iops"?'],
    ['scenario "s" {\n  vm web on a { vcpu 4 }\n}', "VMSCN0101 2:17", /in vm "web": expected a VM property/, 'did you mean "vcpus"?'],
    ['scenario "s" {\n  vm web on a { workloads { writes 1 pages/s uniform } }\n}', "VMSCN0101 2:17", /in vm "web"/, 'did you mean "workload"?'],
    ['scenario "s" {\n  vm web on a { workload { write 5 pages/s uniform } }\n}', "VMSCN0101 2:28", /in the workload: expected an activity/, 'did you mean "writes"?'],
    ['scenario "s" {\n  datastore d { shared-by a b }\n}', "VMSCN0101 2:29", /unexpected "b" in datastore "d"/, /separate the hosts with commas/],
    ['scenario "s" {\n  host a { nic 10 Gbps }\n}', "VMSCN0101 2:19", /unexpected "Gbps" in host "a"/, '"Gbps" is not a unit: did you mean "Gbit/s"?'],
    ["hots a { }", "VMSCN0101 1:1", /unexpected "hots": expected "scenario", "import", "use plugin" or a declaration/, 'did you mean "host"?'],
    ['scenario "s" {\n  import "x"\n}', "VMSCN0101 2:3", '"import" belongs at the top level of the file, outside the scenario block'],
    ['scenario "s" {\n  use plugin "x"\n}', "VMSCN0101 2:3", '"use plugin" belongs at the top level of the file, outside the scenario block'],
    ["seed 1\nscenario \"s\" {}", "VMSCN0101 1:1", '"seed" is only allowed inside a scenario block'],
    ['scenario "s" {\n  expect a < b < c\n}', "VMSCN0101 2:16", 'comparisons cannot be chained: unexpected "<"', 'write "a < b and b < c"'],
    ['scenario "s" {\n  expect a within 1% of b within 1% of c\n}', "VMSCN0101 2:27", /comparisons cannot be chained/],
  ]);
  t.end();
});

t.test("VMSCN0102: a missing closing brace names the block and where it opened", (t) => {
  expectOne(t, [
    ['scenario "s" {\n  seed 1\n  host a { cpus 16\n  vm v on a { }\n}', "VMSCN0102 4:3", 'expected "}" to close host "a" (opened at line 3) before "vm"'],
    ['scenario "s" {\n  vm v on a {\n    workload {\n      writes 5 pages/s uniform\n  }\n', "VMSCN0102 5:3", 'expected "}" to close vm "v" (opened at line 2) before the end of the file'],
    ['scenario "s" {\n  host a { cpus 1 }\n', "VMSCN0102 2:19", 'expected "}" to close scenario "s" (opened at line 1) before the end of the file'],
    ['scenario "s" {\n  at 1 s: migrate web { bandwidth 1 Gbit/s\n  expect a\n}', "VMSCN0102 3:3", 'expected "}" to close the options of "migrate" (opened at line 2) before "expect"'],
    ['scenario "s" {\n  link a <-> b { latency 1 us\n  at 1 s: x\n}', "VMSCN0102 3:3", /to close link "a<->b" \(opened at line 2\)/],
    ['scenario "s" {\n  datastore d { on a\n  run until done\n}', "VMSCN0102 3:3", /to close datastore "d" \(opened at line 2\)/],
    ['scenario "s" {\n  vm v on a { workload { reads 1 pages/s uniform\n  expect a\n}', "VMSCN0102 3:3", /to close the workload \(opened at line 2\)/],
  ]);
  t.end();
});

t.test("an unknown statement's braces are one block: a brace missing inside it is reported", (t) => {
  const ds = check('scenario "s" {\n  hots a { cpus 1\n  expect a\n}');
  t.same(where(ds), ["VMSCN0101 2:3", "VMSCN0102 4:1"]);
  t.equal(ds[1]!.message, 'expected "}" to close scenario "s" (opened at line 1) before the end of the file');
  const nested = check('scenario "s" {\n  hots a { x { y } z }\n  seed 1\n}');
  t.same(where(nested), ["VMSCN0101 2:3"]);
  t.end();
});

t.test("a declaration without a name does not close its enclosing block", (t) => {
  t.same(where(check('scenario "s" {\n  vm { cpus 1 }\n  seed 1\n}')), ["VMSCN0101 2:6"]);
  t.same(where(check('scenario "s" {\n  datastore "d" { on a }\n  seed 1\n}')), ["VMSCN0101 2:13"]);
  t.end();
});

t.test("VMSCN0103: an incomplete statement", (t) => {
  expectOne(t, [
    ['scenario "s" {\n  host a { memory }\n}', "VMSCN0103 2:19", 'expected a quantity such as "64 GiB" after "memory", but found "}"'],
    ['scenario "s" {\n  at 10 s:\n}', "VMSCN0103 3:1", 'expected a verb such as "start" or "migrate" after ":", but found "}"'],
    ['scenario "s" {\n  at 10 s:\n  expect a\n}', "VMSCN0103 3:3", /expected a verb .* but found "expect"/],
    ['scenario "s" {\n  run until\n  vm v on a { }\n}', "VMSCN0103 3:3", /expected a time such as "120 s" or "done" after "until", but found "vm"/],
    ['scenario "s" {\n  expect\n}', "VMSCN0103 3:1", /expected a value \(a number, a quantity, a string, a reference such as "web.host", or "\("\) after "expect"/],
    ['scenario "s" {\n  expect (a\n}', "VMSCN0103 3:1", 'expected ")" after "a", but found "}"'],
    ['scenario "s" {\n  expect a.\n}', "VMSCN0103 3:1", /expected a name, as in "web.host" after "."/],
    ['scenario "s" {\n  vm v on a { workload { writes 5 pages/s } }\n}', "VMSCN0103 2:43", /expected an access pattern/],
    ['scenario "s" {\n  datastore d { shared-by }\n}', "VMSCN0103 2:27", 'expected a host name after "shared-by", but found "}"'],
    ['scenario "s" { seed 1 } scenario', "VMSCN0103 1:25", /after "scenario", but found the end of the file/],
    ['scenario "s" {\n  tick', "VMSCN0103 2:3", 'expected a time such as "1 ms" after "tick", but found the end of the file'],
  ]);
  t.end();
});

t.test("VMSCN0104: text after the end", (t) => {
  expectOne(t, [
    ['scenario "s" {\n}\n}', "VMSCN0104 3:1", 'unexpected "}" after the end of scenario "s": only "import", "use plugin" and declarations may come after it'],
    ['scenario "s" {\n}\nexpect a == b', "VMSCN0104 3:1", 'unexpected "expect" after the end of scenario "s": "expect" statements belong inside the scenario block'],
    ['scenario "s" {\n}\nhost a { }\n"text"', "VMSCN0104 4:1", /unexpected string "text" after the end of scenario "s"/],
    ['scenario "s" {\n}\nfoo bar', "VMSCN0104 3:1", /unexpected "foo" after the end of scenario "s"/],
  ]);
  t.end();
});

t.test("three separate errors are all reported, in order", (t) => {
  const text = `scenario "s" {
  host a { cpus 16 cpu 4 memory 8 GiB }
  vm b on a { vcpus 2 boot 300msec }
  at 5 s start b
  expect b.state == "running"
}
`;
  const ds = check(text);
  t.same(where(ds), ["VMSCN0101 2:20", "VMSCN0003 3:31", "VMSCN0101 4:10"]);
  // and the rest of the file is still there for the validator
  const f = parseSource(text, "t.vmscn").file;
  t.same(
    f.scenarios[0]!.body.map((s) => s.type),
    ["host", "vm", "action", "expect"],
  );
  t.end();
});

t.test("an error at the end of the file points at the last token", (t) => {
  const ds = check('scenario "s" {\n  host a { cpus');
  t.same(where(ds), ["VMSCN0103 2:12"]);
  t.match(ds[0]!.loc, { endColumn: 15 });
  const empty = check("}");
  t.same(where(empty), ["VMSCN0101 1:1"]);
  t.end();
});

t.test("consequences of an error are not reported twice", (t) => {
  // `=` is skipped by the lexer; "b" after it is no second error
  t.same(where(check('scenario "s" {\n  expect a = b\n}')), ["VMSCN0001 2:12"]);
  // an unknown word eats its values; the pattern after it is no second error
  t.same(where(check('scenario "s" {\n  vm v on a { workload { write 5 pages/s uniform } }\n}')), ["VMSCN0101 2:26"]);
  // a word where the parser resumes after an error is not an unknown statement too
  t.same(where(check('scenario "s" {\n  at 1 s: x . y\n}')), ["VMSCN0101 2:13"]);
  t.same(where(check('scenario "s" {\n  run until soon\n}')), ["VMSCN0101 2:13"]);
  // a missing brace after skipped characters is still reported
  t.same(where(check('scenario "s" {\n  host a { cpus 1 @\n  vm v on a {}\n}')), ["VMSCN0001 2:19", "VMSCN0102 3:3"]);
  t.end();
});

t.test("expressions nested beyond the limit are cut with an error, not a crash", (t) => {
  const deep = `scenario "s" {\n  expect ${"(".repeat(5000)}1${")".repeat(5000)}\n}`;
  const ds = check(deep);
  t.equal(ds[0]!.code, "VMSCN0101");
  t.match(ds[0]!.message, /nested more than 100 levels/);
  t.match(ds[0]!.loc, { line: 2, column: 109 });
  const negations = check(`scenario "s" {\n  expect ${"not ".repeat(3000)}a\n}`);
  t.equal(negations[0]!.code, "VMSCN0101");
  const fine = check(`scenario "s" {\n  expect ${"(".repeat(90)}1${")".repeat(90)} == ${"- ".repeat(9)}1\n}`);
  t.same(fine, []);
  t.end();
});

t.test("diagnostics format with a code frame", (t) => {
  const text = 'scenario "s" {\n  host a { memory }\n}';
  const d = check(text)[0]!;
  t.equal(
    formatDiagnostic(d, text),
    `t.vmscn:2:19 error VMSCN0103: expected a quantity such as "64 GiB" after "memory", but found "}"
  1 | scenario "s" {
> 2 |   host a { memory }
    |                   ^`,
  );
  t.end();
});

t.test("parseSource never throws, even on binary junk", (t) => {
  for (const text of ["\u0000\u0001\u0002", "\uFEFFscenario \"s\" {}", "{{{{", "}}}}", '"', "\\", "µ", "1e", "..", "<->", "a<->", "# negative: {"]) {
    const r = parseSource(text, "junk.vmscn");
    t.ok(Array.isArray(r.diagnostics), JSON.stringify(text));
    t.equal(r.file.path, "junk.vmscn");
  }
  t.same(check('\uFEFFscenario "s" {}'), []);
  t.end();
});
