import t from "tap";
import { UNITS } from "../../../core/units.js";
import { lex, numberValue, quantityParts, stringValue } from "../../../dsl/lexer.js";
import { parseSource } from "../../../dsl/parse.js";
import { where } from "./helpers.js";

/** `TokenName:image` of every token. */
function kinds(text: string): string[] {
  const r = lex(text, "t.vmscn");
  t.same(r.diagnostics, [], `no lexing diagnostics in ${JSON.stringify(text)}`);
  return r.tokens.map((tok) => `${tok.tokenType.name}:${tok.image}`);
}

t.test("every unit of core/units.ts makes a quantity, glued or after a blank", (t) => {
  for (const unit of Object.keys(UNITS)) {
    t.same(kinds(`5 ${unit}`), [`Quantity:5 ${unit}`], unit);
    t.same(kinds(`5${unit}`), [`Quantity:5${unit}`], unit);
    t.same(quantityParts(`5 ${unit}`), { value: 5, unit });
  }
  t.same(quantityParts("7µs"), { value: 7, unit: "us" }, "µs is us");
  t.same(quantityParts("7 μs"), { value: 7, unit: "us" }, "so is the Greek mu");
  t.end();
});

t.test("the longest unit wins and a unit must not run into a name", (t) => {
  t.same(kinds("5 pages/s"), ["Quantity:5 pages/s"]);
  t.same(kinds("5 pages"), ["Quantity:5 pages"]);
  t.same(kinds("10 Gbit/s"), ["Quantity:10 Gbit/s"]);
  t.same(kinds("300ms"), ["Quantity:300ms"]);
  t.same(kinds("2 min"), ["Quantity:2 min"]);
  t.same(kinds("25%, 5%"), ["Quantity:25%", "Comma:,", "Quantity:5%"]);
  // a blank then a word that merely starts like a unit: a number and a name
  t.same(kinds("16 memory"), ["NumberLit:16", "Kw_memory:memory"]);
  t.same(kinds("5 seconds"), ["NumberLit:5", "Identifier:seconds"]);
  t.same(kinds("4 s-x"), ["NumberLit:4", "Identifier:s-x"]);
  // a line break ends a number: the next line's word is not its unit
  t.same(kinds("seed 4\ns"), ["Kw_seed:seed", "NumberLit:4", "Identifier:s"]);
  t.end();
});

t.test("numbers, ranges, strings, names, punctuation, operators", (t) => {
  t.same(kinds("42 0.9 1.5e3 2E-2 20_000"), ["NumberLit:42", "NumberLit:0.9", "NumberLit:1.5e3", "NumberLit:2E-2", "NumberLit:20_000"]);
  t.equal(numberValue("20_000"), 20000);
  t.equal(numberValue("1.5e3"), 1500);
  t.same(kinds("0..1023"), ["NumberLit:0", "DotDot:..", "NumberLit:1023"]);
  t.same(kinds('"debian-12" "a \\"b\\" \\\\"'), ['Str:"debian-12"', 'Str:"a \\"b\\" \\\\"']);
  t.equal(stringValue('"a \\"b\\" \\\\"', true), 'a "b" \\');
  t.same(kinds("web downtime-limit _x total-time x1"), [
    "Identifier:web",
    "Identifier:downtime-limit",
    "Identifier:_x",
    "Identifier:total-time",
    "Identifier:x1",
  ]);
  t.same(kinds("a<->b"), ["Identifier:a", "LinkArrow:<->", "Identifier:b"]);
  t.same(
    kinds("{ } ( ) , : . == != <= >= < > + - * /"),
    [
      "LCurly:{",
      "RCurly:}",
      "LParen:(",
      "RParen:)",
      "Comma:,",
      "Colon::",
      "Dot:.",
      "EqEq:==",
      "NotEq:!=",
      "LessEq:<=",
      "GreaterEq:>=",
      "Less:<",
      "Greater:>",
      "Plus:+",
      "Minus:-",
      "Star:*",
      "Slash:/",
    ],
  );
  t.same(kinds("a - b"), ["Identifier:a", "Minus:-", "Identifier:b"]);
  t.end();
});

t.test("keywords are their own tokens, but a longer name is a name", (t) => {
  t.same(kinds("host hosts vcpus vcpu shared-by shared-byx at atx on one"), [
    "Kw_host:host",
    "Identifier:hosts",
    "Kw_vcpus:vcpus",
    "Identifier:vcpu",
    "Kw_shared_by:shared-by",
    "Identifier:shared-byx",
    "Kw_at:at",
    "Identifier:atx",
    "Kw_on:on",
    "Identifier:one",
  ]);
  t.end();
});

t.test("comments and blanks are skipped; positions count from 1", (t) => {
  const r = lex("# a comment\n  host // another\n\tvm", "t.vmscn");
  t.same(
    r.tokens.map((tok) => [tok.image, tok.startLine, tok.startColumn, tok.startOffset]),
    [
      ["host", 2, 3, 14],
      ["vm", 3, 2, 31],
    ],
  );
  t.same(kinds("a # b\r\nc"), ["Identifier:a", "Identifier:c"]);
  t.end();
});

t.test("VMSCN0001: an unexpected character, reported and skipped", (t) => {
  const r = parseSource('scenario "s" {\n  seed 1 @ tick 1 ms\n}', "t.vmscn");
  t.same(where(r.diagnostics), ["VMSCN0001 2:10"]);
  t.equal(r.diagnostics[0]!.message, 'unexpected character "@"');
  t.equal(r.diagnostics[0]!.phase, "parse");
  t.equal(r.diagnostics[0]!.severity, "error");
  t.match(r.diagnostics[0]!.loc, { endLine: 2, endColumn: 10, start: 24, end: 25 });
  // lexing went on: both statements are there
  t.same(
    r.file.scenarios[0]!.body.map((s) => s.type),
    ["seed", "tick"],
  );
  const several = parseSource("host a { cpus 1 } $$$ host b { cpus 2 }", "t.vmscn");
  t.same(where(several.diagnostics), ["VMSCN0001 1:19"]);
  t.equal(several.diagnostics[0]!.message, 'unexpected characters "$$$"');
  t.equal(several.file.topLevel.length, 2);
  const eq = parseSource('scenario "s" { expect a = b }', "t.vmscn");
  t.equal(eq.diagnostics[0]!.code, "VMSCN0001");
  t.match(eq.diagnostics[0]!.hint, /==/);
  t.end();
});

t.test("VMSCN0001: an unknown escape in a string", (t) => {
  const r = parseSource('scenario "s" { at 1 s: x "a\\nb" }', "t.vmscn");
  t.same(where(r.diagnostics), ["VMSCN0001 1:28"]);
  t.match(r.diagnostics[0]!.message, /unexpected character "n" after "\\" in a string/);
  t.end();
});

t.test("VMSCN0002: an unterminated string, parsed as a string to the end of the line", (t) => {
  const r = parseSource('scenario "s" {\n  vm w on a { mac "02:00\n  vcpus 1 }\n}', "t.vmscn");
  t.same(where(r.diagnostics), ["VMSCN0002 2:19"]);
  t.match(r.diagnostics[0]!.message, /unterminated string/);
  const vm = r.file.scenarios[0]!.body[0] as { mac: { value: string }; vcpus: { value: number } };
  t.equal(vm.mac.value, "02:00");
  t.equal(vm.vcpus.value, 1);
  const backslash = parseSource('import "x\\', "t.vmscn");
  t.same(where(backslash.diagnostics), ["VMSCN0002 1:8"]);
  t.end();
});

t.test("VMSCN0003: an unknown unit glued to a number, with the closest unit as a hint", (t) => {
  const cases: [string, string | undefined, string][] = [
    ["300msec", "ms", "1:18"],
    ["5sec", "s", "1:16"],
    ["10Gbps", "Gbit/s", "1:17"],
    ["4gib", "GiB", "1:16"],
    ["2Mib", "MiB", "1:16"],
    ["3sx", "s", "1:16"],
    ["7hours", undefined, "1:16"],
  ];
  for (const [value, unit, at] of cases) {
    const r = parseSource(`host a { cpus ${value} }`, "t.vmscn");
    t.same(where(r.diagnostics), [`VMSCN0003 ${at}`], value);
    t.match(r.diagnostics[0]!.message, /^unknown unit ".+" after the number \d+$/);
    if (unit !== undefined) t.equal(r.diagnostics[0]!.hint, `did you mean "${unit}"?`, value);
    else t.match(r.diagnostics[0]!.hint, /write a unit such as/);
    // parsed on as a quantity: no parse error follows
    t.equal(r.file.topLevel.length, 1);
  }
  const r = parseSource('scenario "s" {\n  tick 300msec\n}', "t.vmscn");
  t.equal(r.diagnostics[0]!.message, 'unknown unit "msec" after the number 300');
  t.match(r.diagnostics[0]!.loc, { line: 2, column: 11, endColumn: 14 });
  t.match(r.file.scenarios[0]!.body[0], { type: "tick", value: { value: 300, unit: "msec" } });
  t.end();
});
