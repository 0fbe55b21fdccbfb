import t from "tap";
import type { ActionStmt, Atom, ScriptedStmt } from "../../../dsl/ast.js";
import { parseSource } from "../../../dsl/parse.js";
import { firstStatement, scenarioBody, where } from "./helpers.js";

/** Atoms as short strings: words as is, quantities `10 s`, strings quoted, ranges `0..9`, `,`. */
function atoms(as: Atom[] | undefined): string[] | undefined {
  return as?.map((a) => {
    switch (a.kind) {
      case "word":
        return a.text;
      case "quantity":
        return a.unit === undefined ? `#${a.value}` : `${a.value} ${a.unit}`;
      case "string":
        return JSON.stringify(a.value);
      case "range":
        return `${a.first}..${a.last}`;
      case "comma":
        return ",";
    }
  });
}

t.test("an action: time, verb, arguments, options", (t) => {
  const a = firstStatement<ActionStmt>(
    t,
    "at 10 s: migrate web to b with precopy { bandwidth 1 Gbit/s  max-rounds 30  after demand-paging, background }",
  );
  t.equal(a.type, "action");
  t.match(a.time, { kind: "quantity", value: 10, unit: "s" });
  t.equal(a.verb.text, "migrate");
  t.match(a.verb.loc, { line: 2, column: 10, endColumn: 16 });
  t.same(atoms(a.args), ["web", "to", "b", "with", "precopy"]);
  t.same(atoms(a.options), ["bandwidth", "1 Gbit/s", "max-rounds", "#30", "after", "demand-paging", ",", "background"]);
  t.match(a.optionsLoc, { line: 2, column: 40, endColumn: 109 });
  t.match(a.loc, { line: 2, column: 1, endColumn: 109 });
  t.match(a.args[0]!.loc, { line: 2, column: 18, endColumn: 20 });
  t.end();
});

t.test("kernel verbs: lifecycle, crash and recover, link down and up", (t) => {
  const body = scenarioBody(
    t,
    `at 0 s: start web
at 30 s: suspend web
at 31 s: resume web
at 1 min: stop web
at 40 s: crash a
at 41 s: recover a
at 40 s: link a<->b down
at 45 s: link a <-> b up`,
  ) as ActionStmt[];
  t.same(
    body.map((a) => [a.verb.text, ...atoms(a.args)!]),
    [
      ["start", "web"],
      ["suspend", "web"],
      ["resume", "web"],
      ["stop", "web"],
      ["crash", "a"],
      ["recover", "a"],
      ["link", "a<->b", "down"],
      ["link", "a<->b", "up"],
    ],
  );
  t.match(body[3]!.time, { value: 1, unit: "min" });
  // a link reference is one atom spanning both names
  t.match(body[7]!.args[0]!.loc, { line: 9, column: 15, endColumn: 21 });
  t.equal(body[0]!.options, undefined);
  t.equal(body[0]!.optionsLoc, undefined);
  t.end();
});

t.test("atoms: words, keywords, quantities, bare numbers, strings, ranges, lists, booleans", (t) => {
  const a = firstStatement<ActionStmt>(
    t,
    'at 1.5 s: fork web count 3 name "clone-1" pages 0..1023 cpus 16 { memory 4 GiB share true compress false hosts a, b, c rdma ratio 0.5 level 1e3 big 20_000 }',
  );
  t.match(a.time, { value: 1.5, unit: "s" });
  t.same(atoms(a.args), ["web", "count", "#3", "name", '"clone-1"', "pages", "0..1023", "cpus", "#16"]);
  t.same(atoms(a.options), [
    "memory",
    "4 GiB",
    "share",
    "true",
    "compress",
    "false",
    "hosts",
    "a",
    ",",
    "b",
    ",",
    "c",
    "rdma",
    "ratio",
    "#0.5",
    "level",
    "#1000",
    "big",
    "#20000",
  ]);
  const range = a.args[6]!;
  t.match(range, { kind: "range", first: 0, last: 1023, loc: { column: 49, endColumn: 55 } });
  t.end();
});

t.test("an empty option block is an empty list, not undefined", (t) => {
  const a = firstStatement<ActionStmt>(t, "at 1 s: checkpoint web {}");
  t.same(a.options, []);
  t.match(a.optionsLoc, { column: 24, endColumn: 25 });
  t.end();
});

t.test("an action ends where the next statement begins, even on the same line", (t) => {
  const body = scenarioBody(
    t,
    "at 1 s: start web  at 2 s: stop web expect web.state == \"stopped\" run until done host h { cpus 1 } vm v on h {} link a <-> b {} datastore d {} seed 3 tick 1 ms at 3 s: crash h",
  );
  t.same(
    body.map((s) => s.type),
    ["action", "action", "expect", "run", "host", "vm", "link", "datastore", "seed", "tick", "action"],
  );
  t.same(atoms((body[0] as ActionStmt).args), ["web"]);
  t.end();
});

t.test("arguments may continue on the next lines", (t) => {
  const a = firstStatement<ActionStmt>(t, "at 10 s: migrate web\n    to b\n    with postcopy\n    { bandwidth 1 Gbit/s }");
  t.same(atoms(a.args), ["web", "to", "b", "with", "postcopy"]);
  t.match(a.loc, { line: 2, endLine: 5 });
  t.end();
});

t.test("a time may be glued to its unit or be any time unit", (t) => {
  const body = scenarioBody(t, "at 10s: a\nat 300ms: b\nat 5 us: c\nat 7µs: d\nat 2 ns: e\nat 0: f") as ActionStmt[];
  t.same(
    body.map((a) => [a.time.value, a.time.unit]),
    [
      [10, "s"],
      [300, "ms"],
      [5, "us"],
      [7, "us"],
      [2, "ns"],
      [0, undefined],
    ],
  );
  t.end();
});

t.test("scripted accesses: writes/reads, pages A..B, page N, on vcpu N", (t) => {
  const body = scenarioBody(
    t,
    `at 12 s: web writes pages 0..1023
at 13 s: web reads pages 10..20 on vcpu 2
at 14 s: db reads page 7
at 15 s: db writes page 8 on vcpu 1`,
  ) as ScriptedStmt[];
  t.same(
    body.map((s) => [s.type, s.vm.text, s.op, s.pages.first, s.pages.last, s.vcpu?.value]),
    [
      ["scripted", "web", "write", 0, 1023, undefined],
      ["scripted", "web", "read", 10, 20, 2],
      ["scripted", "db", "read", 7, 7, undefined],
      ["scripted", "db", "write", 8, 8, 1],
    ],
  );
  t.match(body[0]!.time, { value: 12, unit: "s" });
  t.match(body[0]!.pages.loc, { line: 2, column: 27, endColumn: 33 });
  t.match(body[0]!.loc, { line: 2, column: 1, endColumn: 33 });
  t.match(body[0]!.vm.loc, { line: 2, column: 10, endColumn: 12 });
  t.match(body[1]!.vcpu!.loc, { line: 3, column: 41, endColumn: 41 });
  t.end();
});

t.test("a verb whose second word is writes/reads but not followed by pages stays an action", (t) => {
  const a = firstStatement<ActionStmt>(t, "at 1 s: web writes 5");
  t.equal(a.type, "action");
  t.equal(a.verb.text, "web");
  t.same(atoms(a.args), ["writes", "#5"]);
  t.end();
});

t.test("malformed scripted accesses are parse errors, each at its own atom", (t) => {
  const cases: [string, string, RegExp][] = [
    ["at 1 s: web writes pages 5", "VMSCN0101 2:26", /expected a page range such as "0..1023" after "pages", but found "5"/],
    ["at 1 s: web writes pages", "VMSCN0103 2:20", /expected a page range such as "0..1023" after "pages"$/],
    ["at 1 s: web reads page 1..2", "VMSCN0101 2:24", /expected a page number such as "5" after "page"/],
    ["at 1 s: web reads page 4 MiB", "VMSCN0101 2:24", /a page number/],
    ["at 1 s: web reads page 4 to b", "VMSCN0101 2:26", /expected "on vcpu N" or the end of the statement after "4", but found "to"/],
    ["at 1 s: web reads page 4 on cpu 1", "VMSCN0101 2:29", /expected "vcpu" after "on", but found "cpu"/],
    ["at 1 s: web reads page 4 on vcpu", "VMSCN0103 2:29", /expected a vCPU number such as "1" after "vcpu"/],
    ['at 1 s: web reads page 4 on vcpu "x"', "VMSCN0101 2:34", /but found the string "x"/],
    ["at 1 s: web reads page 4 on vcpu 1 more", "VMSCN0101 2:36", /expected the end of the statement after "1", but found "more"/],
    ["at 1 s: web reads page 4 { fast }", "VMSCN0101 2:26", /takes no options/],
  ];
  for (const [body, code, message] of cases) {
    const r = parseSource(`scenario "s" {\n${body}\n}`, "t.vmscn");
    t.match(where(r.diagnostics)[0], code, body);
    t.match(r.diagnostics[0]?.message, message, body);
    t.same(r.file.scenarios[0]!.body, [], "no statement is made of it");
  }
  // `at` ends the access: it is complete, and the next action is not.
  const r = parseSource(`scenario "s" {\nat 1 s: web reads page 4 at\n}`, "t.vmscn");
  t.same(where(r.diagnostics), ["VMSCN0103 3:1"]);
  t.match(r.diagnostics[0]!.message, /expected a time such as "10 s" after "at", but found "}"/);
  t.match(r.file.scenarios[0]!.body, [{ type: "scripted" }]);
  t.end();
});
