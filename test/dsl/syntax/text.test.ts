// Text the lexer is handed: encodings, line ends, huge lines and literals, garbage, long flat
// expressions. One diagnostic where there used to be thousands (or a stack overflow), exact
// positions whatever the line ends, and code frames that never print more than a window.
import t from "tap";
import { codeFrame, formatDiagnostic } from "../../../dsl/diagnostics.js";
import { parseSource } from "../../../dsl/parse.js";
import { evaluateExpects } from "../../../dsl/expect.js";
import type { ExpectStmt } from "../../../dsl/ast.js";
import { where } from "./helpers.js";

const SCENARIO = '# description: line ends\nscenario "s" {\n  host a { cpus 1  memory 1 GiB }\n  vm web on b { vcpus 1  memory 64 MiB }\n}\n';

/** `code line:col message` of each diagnostic. */
function diags(text: string): string[] {
  return parseSource(text, "t.vmscn").diagnostics.map((d) => `${d.code} ${d.loc.line}:${d.loc.column} ${d.message}`);
}

const utf16le = (s: string) => [...s].map((c) => `${c}\0`).join("");
const utf16be = (s: string) => [...s].map((c) => `\0${c}`).join("");
const HINT = "a scenario is UTF-8 text: save the file as UTF-8 (with or without a byte-order mark)";

t.test("UTF-16 and binary input: one diagnostic with an encoding hint, and no code frame", (t) => {
  const cases: [string, string][] = [
    [utf16le(SCENARIO), "the file looks like UTF-16 text (little-endian, without a byte-order mark)"],
    [utf16be(SCENARIO), "the file looks like UTF-16 text (big-endian, without a byte-order mark)"],
    // A UTF-16 byte-order mark (FF FE) read as UTF-8 is two U+FFFD.
    [`\uFFFD\uFFFD${utf16le(SCENARIO)}`, "the file looks like UTF-16 text (it starts with a UTF-16 byte-order mark)"],
    [`\uFFFD\uFFFD${"дата".repeat(50)}`, "the file looks like UTF-16 text (it starts with a UTF-16 byte-order mark)"],
    // An ELF header and bytes with a NUL now and then (not every other byte: not UTF-16).
    [`\x7fELF\x02\x01\x01${Array.from({ length: 200 }, (_, i) => String.fromCharCode(i % 7 === 0 ? 0 : 1 + ((i * 91) % 255))).join("")}`, "the file is not text: it has NUL characters (binary data, or UTF-32?)"],
    [`PK\x03\x04${"\uFFFD\x14\uFFFD\x08".repeat(40)}`, "the file is not UTF-8 text: 162 of its first 164 characters are invalid UTF-8 or control characters"],
  ];
  for (const [text, message] of cases) {
    const r = parseSource(text, "t.vmscn");
    t.same(
      r.diagnostics.map((d) => [d.code, d.loc.line, d.loc.column, d.message, d.hint]),
      [["VMSCN0004", 1, 1, message, HINT]],
      message,
    );
    t.same(r.file.scenarios, []);
    t.equal(formatDiagnostic(r.diagnostics[0]!, text), `t.vmscn:1:1 error VMSCN0004: ${message}\n  hint: ${HINT}`, "the text is not shown");
  }
  t.end();
});

t.test("a UTF-8 byte-order mark is accepted", (t) => {
  const r = parseSource(`\uFEFF${SCENARIO}`, "t.vmscn");
  t.same(r.diagnostics, []);
  t.equal(r.file.frontMatter.description, "line ends");
  t.equal(r.file.scenarios[0]!.body.length, 2);
  t.end();
});

t.test("\\n, \\r\\n and a lone \\r all end lines: positions, front matter and code frames", (t) => {
  const bad = SCENARIO.replace("cpus 1", "cpus @1");
  for (const eol of ["\n", "\r\n", "\r"]) {
    const text = bad.replace(/\n/g, eol);
    const r = parseSource(text, "t.vmscn");
    t.same(where(r.diagnostics), ["VMSCN0001 3:17"], JSON.stringify(eol));
    t.equal(r.file.frontMatter.description, "line ends", JSON.stringify(eol));
    t.equal(r.file.scenarios[0]!.body[1]!.loc.line, 4);
    t.equal(
      formatDiagnostic(r.diagnostics[0]!, text),
      ['t.vmscn:3:17 error VMSCN0001: unexpected character "@"', '  2 | scenario "s" {', "> 3 |   host a { cpus @1  memory 1 GiB }", "    |                 ^"].join("\n"),
      JSON.stringify(eol),
    );
  }
  // Mixed in one file.
  t.same(where(parseSource('scenario "s" {\r\n  host a {}\r  @\n}', "t.vmscn").diagnostics), ["VMSCN0001 3:3"]);
  t.end();
});

t.test("a line over 1 MiB (a 10 MB string) is skipped with one diagnostic; the rest of the file is parsed", (t) => {
  const text = `scenario "s" {\n  vm web on a { guest "${"x".repeat(10_000_000)}" }\n  host a { cpus 1  memory 1 GiB }\n}\n`;
  const r = parseSource(text, "t.vmscn");
  t.same(
    r.diagnostics.map((d) => `${d.code} ${d.loc.line}:${d.loc.column} ${d.message}`),
    ["VMSCN0004 2:1 line 2 is 10000026 characters long, more than the 1048576 the lexer reads: it is skipped"],
  );
  t.same(
    r.file.scenarios[0]!.body.map((s) => s.type),
    ["host"],
  );
  t.end();
});

t.test("a string of a million characters (and of a million escapes) is a string", (t) => {
  for (const body of ["x".repeat(1_000_000), '\\"'.repeat(500_000)]) {
    const r = parseSource(`scenario "${body}" {}\n`, "t.vmscn");
    t.same(r.diagnostics, []);
    t.equal(r.file.scenarios[0]!.name.value.length, body.length / (body.startsWith("\\") ? 2 : 1));
  }
  t.end();
});

t.test("text that is mostly characters no token starts with: one diagnostic", (t) => {
  const text = `${"@".repeat(3000)}\n${"§ ".repeat(3000)}\nscenario "s" {}\n`;
  t.same(diags(text), ["VMSCN0004 1:1 the file does not look like a scenario: 6000 characters outside strings and comments cannot start a word, number or symbol of the language"]);
  // In strings and comments, anything goes.
  t.same(diags(`# ${"@".repeat(5000)}\nscenario "${"§".repeat(5000)}" {}\n`), []);
  t.end();
});

t.test("after 100 runs of unexpected characters, the rest are counted in one diagnostic", (t) => {
  const ds = parseSource(`scenario "s" {\n${"= ".repeat(100_000)}\n}\n`, "t.vmscn").diagnostics;
  t.equal(ds.length, 101);
  t.same(where(ds.slice(98)), ["VMSCN0001 2:197", "VMSCN0001 2:199", "VMSCN0001 2:201"]);
  t.equal(ds[100]!.message, "99900 more runs of unexpected characters from here on (not shown)");
  t.end();
});

t.test("after 100 syntax errors, parsing stops with one more", (t) => {
  const ds = parseSource(`host a { cpus 1 }\n${"expect true and true\n".repeat(200)}`, "t.vmscn").diagnostics;
  t.equal(ds.length, 101);
  t.match(ds[100], { code: "VMSCN0101", message: "more than 100 syntax errors: the file is not parsed beyond this point" });
  // A flat expression of 20,000 terms outside a scenario used to exhaust chevrotain's recovery.
  const flat = parseSource(`expect ${Array(20_000).fill("true").join(" and ")}\n`, "t.vmscn").diagnostics;
  t.ok(flat.length <= 101);
  t.notOk(flat.some((d) => /internal error/.test(d.message)));
  t.end();
});

t.test("an expression has at most 1,000 operators, at any depth; the 1,001st is the error", (t) => {
  const chain = (n: number, op = "+") => Array(n + 1).fill("1").join(` ${op} `);
  t.same(diags(`scenario "s" {\n  expect ${chain(999)} > 0\n}\n`), []);
  const over = `scenario "s" {\n  expect ${chain(1000)} > 0\n}\n`;
  // 1,000 "+" and the ">": the ">" is the 1,001st.
  t.same(diags(over), [`VMSCN0101 2:${over.split("\n")[1]!.indexOf(">") + 1} the expression has more than 1000 operators`]);
  t.same(diags(`scenario "s" {\n  expect ${chain(100_000)} > 0\n}\n`).length, 1);
  t.same(diags(`scenario "s" {\n  expect ${chain(5000, "and")}\n}\n`).length, 1);
  t.same(diags(`scenario "s" {\n  expect (${chain(600)}) > (${chain(600)})\n}\n`).map((d) => d.replace(/ 2:\d+ /, " ")), ["VMSCN0101 the expression has more than 1000 operators"]);
  t.end();
});

t.test("an expression of 1,000 operators evaluates, and explains why it fails", (t) => {
  const sum = Array(1000).fill("1 s").join(" + ");
  const conj = [...Array(499).fill("1 < 2"), "2 < 1"].join(" and ");
  const r = parseSource(`scenario "s" {\n  expect ${sum} > 0\n  expect ${sum} < 1 s\n  expect (${conj})\n}\n`, "t.vmscn");
  t.same(r.diagnostics, []);
  const names = { vms: new Set<string>(), hosts: new Set<string>(), datastores: new Set<string>(), links: new Set<string>() };
  t.same(
    evaluateExpects(r.file.scenarios[0]!.body as ExpectStmt[], {}, names).map((e) => [e.passed, e.message]),
    [
      [true, "holds"],
      [false, "1000 s is not < 1 s"],
      [false, "2 is not < 1"],
    ],
  );
  t.end();
});

t.test("code frames: a window of a long line, control characters as blanks", (t) => {
  const line = `${"a".repeat(500)} @ ${"b".repeat(500)}`;
  const loc = { file: "t", line: 1, column: 502, endLine: 1, endColumn: 502, start: 501, end: 502 };
  const frame = codeFrame(line, loc);
  const [src, caret] = frame.split("\n");
  t.equal(src!.length, "> 1 | ".length + 160 + 2, "160 characters and two marks");
  t.equal(src!.slice("> 1 | ".length), `…${"a".repeat(39)} @ ${"b".repeat(118)}…`);
  t.equal(caret!.indexOf("^"), src!.indexOf("@"), "the caret stays under the span");
  t.equal(codeFrame("a\x1b[31mb\tc", { file: "t", line: 1, column: 1, endLine: 1, endColumn: 1, start: 0, end: 1 }).split("\n")[0], "> 1 | a\uFFFD[31mb c");
  t.end();
});

t.test("a message never carries a control character of the input", (t) => {
  t.same(diags('scenario "s" {\n  \x1b\n}\n'), ['VMSCN0001 2:3 unexpected character "\\u001b"']);
  t.same(diags('scenario "a\\\x07" {}\n'), ['VMSCN0001 1:12 unexpected character "\\u0007" after "\\" in a string']);
  t.end();
});
