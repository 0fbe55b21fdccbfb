// The TAP 14 writer: exact text, and a TAP 14 parser (tap's own) reads it back as meant.
import t from "tap";
import { Parser, type FinalResults, type Result } from "tap-parser";
import { tapBailOut, tapCounts, tapDocument, tapEscape, tapFile, tapHeader, tapPlan, tapPoint, tapSummary, tapYaml, type TapFile } from "../../../cli/tap.js";

const precopy: TapFile = {
  name: "scenarios/precopy.vmscn",
  expectations: [
    { ok: true, description: "web.host == b" },
    {
      ok: false,
      description: "migration(web).downtime < 300 ms",
      diagnostics: { actual: "412 ms", expected: "< 300 ms", at: { file: "scenarios/precopy.vmscn", line: 18, column: 3 }, message: "downtime was 412 ms" },
    },
    { ok: false, description: "ram.transferred < 1.5 * web.memory", directive: { kind: "todo", reason: "compression lands later" } },
    { ok: false, description: "postcopy faults", directive: { kind: "skip", reason: "needs post-copy" } },
  ],
};
const clean: TapFile = { name: "scenarios/fork.vmscn", expectations: [{ ok: true, description: "launch < 1 s" }] };
const broken: TapFile = {
  name: "scenarios/broken.vmscn",
  expectations: [],
  ok: false,
  diagnostics: { message: 'unknown host "c"', severity: "error", at: "scenarios/broken.vmscn:12:7", code: "VMSCN0203" },
};

const DOCUMENT = `TAP version 14
1..3
# Subtest: scenarios/precopy.vmscn
    1..4
    ok 1 - web.host == b
    not ok 2 - migration(web).downtime < 300 ms
      ---
      message: downtime was 412 ms
      at: scenarios/precopy.vmscn:18:3
      expected: < 300 ms
      actual: "412 ms"
      ...
    not ok 3 - ram.transferred < 1.5 * web.memory # TODO compression lands later
    ok 4 - postcopy faults # SKIP needs post-copy
not ok 1 - scenarios/precopy.vmscn
# Subtest: scenarios/fork.vmscn
    1..1
    ok 1 - launch < 1 s
ok 2 - scenarios/fork.vmscn
not ok 3 - scenarios/broken.vmscn
  ---
  message: unknown host "c"
  severity: error
  at: scenarios/broken.vmscn:12:7
  code: VMSCN0203
  ...
# files 3: 1 passed, 2 failed, 0 skipped, 0 todo
# expectations 5: 2 passed, 1 failed, 1 skipped, 1 todo
`;

function parse(tap: string): Promise<{ results: FinalResults; asserts: Result[]; children: Result[] }> {
  return new Promise((resolve) => {
    const p = new Parser();
    const asserts: Result[] = [];
    const children: Result[] = [];
    p.on("assert", (r: Result) => asserts.push(r));
    p.on("child", (c: Parser) => c.on("assert", (r: Result) => children.push(r)));
    p.on("complete", (results: FinalResults) => resolve({ results, asserts, children }));
    p.end(tap);
  });
}

t.test("a suite's document, byte for byte", (t) => {
  t.equal(tapDocument([precopy, clean, broken]), DOCUMENT);
  t.equal(tapHeader(3) + tapFile(1, precopy) + tapFile(2, clean) + tapFile(3, broken) + tapSummary([precopy, clean, broken]), DOCUMENT, "streamed piece by piece, the same text");
  t.end();
});

t.test("tap's own TAP 14 parser reads it as meant", async (t) => {
  const { results, asserts, children } = await parse(tapDocument([precopy, clean, broken]));
  t.equal(results.ok, false);
  t.same([results.count, results.pass, results.fail], [3, 1, 2]);
  t.same(asserts.map((a) => [a.id, a.ok, a.name]), [
    [1, false, "scenarios/precopy.vmscn"],
    [2, true, "scenarios/fork.vmscn"],
    [3, false, "scenarios/broken.vmscn"],
  ]);
  t.same(asserts[2]!.diag, { message: 'unknown host "c"', severity: "error", at: "scenarios/broken.vmscn:12:7", code: "VMSCN0203" });
  t.same(children.map((a) => [a.id, a.ok, a.name, a.todo, a.skip]), [
    [1, true, "web.host == b", false, false],
    [2, false, "migration(web).downtime < 300 ms", false, false],
    [3, false, "ram.transferred < 1.5 * web.memory", "compression lands later", false],
    [4, true, "postcopy faults", false, "needs post-copy"],
    [1, true, "launch < 1 s", false, false],
  ]);
  t.same(children[1]!.diag, { message: "downtime was 412 ms", at: "scenarios/precopy.vmscn:18:3", expected: "< 300 ms", actual: "412 ms" });
  const passing = await parse(tapDocument([clean]));
  t.equal(passing.results.ok, true);
});

t.test("test points and directives", (t) => {
  t.equal(tapPoint(1, { ok: true, description: "" }), "ok 1\n");
  t.equal(tapPoint(7, { ok: false, description: "a # b \\ c\nsecond line" }), "not ok 7 - a \\# b \\\\ c second line\n");
  t.equal(tapPoint(2, { ok: true, description: "x", directive: { kind: "todo" } }), "ok 2 - x # TODO\n");
  t.equal(tapPoint(3, { ok: false, description: "x", directive: { kind: "skip" } }, "    "), "    ok 3 - x # SKIP\n", "a skip tested nothing, so it is ok");
  t.equal(tapEscape("  #1 of\r\n pages  "), "\\#1 of pages");
  t.end();
});

t.test("plans and files", (t) => {
  t.equal(tapPlan(0), "1..0\n");
  t.equal(tapPlan(0, "no scenario\nfiles"), "1..0 # SKIP no scenario files\n");
  t.equal(tapPlan(2, "ignored when there are tests"), "1..2\n");
  t.throws(() => tapPlan(-1), { message: "a TAP plan needs a count ≥ 0 (got -1)" });
  t.throws(() => tapPlan(1.5), RangeError);
  t.equal(tapHeader(0), "TAP version 14\n1..0\n");
  t.equal(tapFile(4, { name: "s.vmscn", expectations: [], directive: { kind: "skip", reason: "negative test" } }), "ok 4 - s.vmscn # SKIP negative test\n");
  t.equal(tapFile(1, { name: "x", expectations: [{ ok: false, description: "e" }], ok: true }), "# Subtest: x\n    1..1\n    not ok 1 - e\nok 1 - x\n", "an explicit ok wins");
  t.equal(tapBailOut("internal error:\nstack"), "Bail out! internal error: stack\n");
  t.end();
});

t.test("counts and the summary", (t) => {
  const files: TapFile[] = [precopy, clean, broken, { name: "s", expectations: [], directive: { kind: "skip" } }, { name: "t", expectations: [], directive: { kind: "todo" } }];
  t.same(tapCounts(files), {
    files: { total: 5, passed: 1, failed: 2, skipped: 1, todo: 1 },
    expectations: { total: 5, passed: 2, failed: 1, skipped: 1, todo: 1 },
  });
  t.equal(tapSummary([]), "# files 0: 0 passed, 0 failed, 0 skipped, 0 todo\n# expectations 0: 0 passed, 0 failed, 0 skipped, 0 todo\n");
  t.end();
});

t.test("YAML diagnostics of every shape", (t) => {
  const yaml = tapYaml(
    {
      extra: { nested: { deep: 1 }, list: [1, "two", { k: "v", w: [true] }, [], {}], empty: [] },
      actual: 412000000,
      expected: 300000000,
      message: "line one\nline two\n",
      "odd key": "true",
      numbers: [Number.NaN, Infinity, -Infinity, -0, 10n],
      quoted: ["", " lead", "trail ", "a: b", "a #b", "1e3", "yes", "-dash", "tab\there", "bell\u0007"],
      plain: ["web.host == b", "< 300 ms", "(a) b/c", "_x"],
      block: "keep\n\nblank",
      notBlock: " leading\nspace",
      listOfText: ["multi\nline"],
      nothing: null,
      skipped: undefined,
      fn: Symbol("s"),
    },
    "",
  );
  t.equal(
    yaml,
    [
      "---",
      "message: |",
      "  line one",
      "  line two",
      "expected: 300000000",
      "actual: 412000000",
      "extra:",
      "  nested:",
      "    deep: 1",
      "  list:",
      "    - 1",
      "    - two",
      "    - k: v",
      "      w:",
      "        - true",
      "    - []",
      "    - {}",
      "  empty: []",
      '"odd key": "true"',
      "numbers:",
      "  - .nan",
      "  - .inf",
      "  - -.inf",
      "  - 0",
      "  - 10",
      "quoted:",
      '  - ""',
      '  - " lead"',
      '  - "trail "',
      '  - "a: b"',
      '  - "a #b"',
      '  - "1e3"',
      '  - "yes"',
      '  - "-dash"',
      '  - "tab\\there"',
      '  - "bell\\u0007"',
      "plain:",
      "  - web.host == b",
      "  - < 300 ms",
      "  - (a) b/c",
      "  - _x",
      "block: |-",
      "  keep",
      "",
      "  blank",
      'notBlock: " leading\\nspace"',
      "listOfText:",
      '  - "multi\\nline"',
      "nothing: null",
      'fn: "Symbol(s)"',
      "...",
      "",
    ].join("\n"),
  );
  t.end();
});

t.test("the YAML reads back to the same values", async (t) => {
  const diagnostics = { message: "a\nb", expected: "< 300 ms", actual: 412, list: ["yes", "1e3", " x", "a: b"], nested: { k: [{ a: 1, b: [2] }] } };
  const { asserts } = await parse(`TAP version 14\n1..1\n${tapPoint(1, { ok: false, description: "x", diagnostics })}`);
  t.same(asserts[0]!.diag, diagnostics);
});
