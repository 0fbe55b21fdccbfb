import t from "tap";
import type { ExpectStmt } from "../../../dsl/ast.js";
import { expr, firstStatement, scenarioBody, show } from "./helpers.js";

t.test("the expectations of docs/language.md", (t) => {
  const body = scenarioBody(
    t,
    `expect web.host == b
expect migration(web).downtime < 300 ms
expect migration(web).ram.transferred < 1.5 * web.memory
expect host(a).memory.used within 5% of 4 GiB
expect vm(web).state == "running" and transfers.failed == 0`,
  ) as ExpectStmt[];
  t.same(
    body.map((e) => show(e.expr)),
    [
      "(web.host == b)",
      "(migration(web).downtime < 300ms)",
      "(migration(web).ram.transferred < (1.5 * web.memory))",
      "(host(a).memory.used within 5% of 4GiB)",
      '((vm(web).state == "running") and (transfers.failed == 0))',
    ],
  );
  t.same(
    body.map((e) => e.text),
    [
      "web.host == b",
      "migration(web).downtime < 300 ms",
      "migration(web).ram.transferred < 1.5 * web.memory",
      "host(a).memory.used within 5% of 4 GiB",
      'vm(web).state == "running" and transfers.failed == 0',
    ],
  );
  t.end();
});

t.test("every comparison operator", (t) => {
  for (const op of ["==", "!=", "<", "<=", ">", ">="]) {
    t.equal(show(expr(t, `a ${op} 1`)), `(a ${op} 1)`, op);
  }
  t.end();
});

t.test("arithmetic: * / bind tighter than + -, all left-associative", (t) => {
  t.equal(show(expr(t, "1 + 2 * 3")), "(1 + (2 * 3))");
  t.equal(show(expr(t, "1 * 2 + 3")), "((1 * 2) + 3)");
  t.equal(show(expr(t, "1 - 2 - 3")), "((1 - 2) - 3)");
  t.equal(show(expr(t, "8 / 4 / 2")), "((8 / 4) / 2)");
  t.equal(show(expr(t, "1 - 2 + 3 * 4 / 5")), "((1 - 2) + ((3 * 4) / 5))");
  t.equal(show(expr(t, "(1 + 2) * 3")), "((1 + 2) * 3)");
  t.equal(show(expr(t, "a - b")), "(a - b)");
  // `-` belongs to identifiers: without blanks it is one name
  t.equal(show(expr(t, "a-b")), "a-b");
  t.end();
});

t.test("unary minus binds tighter than * and may repeat", (t) => {
  t.equal(show(expr(t, "-1 * 2")), "((- 1) * 2)");
  t.equal(show(expr(t, "- -x")), "(- (- x))");
  t.equal(show(expr(t, "1 - -2 s")), "(1 - (- 2s))");
  t.end();
});

t.test("comparisons bind tighter than not, not tighter than and, and tighter than or", (t) => {
  t.equal(show(expr(t, "a + 1 < b * 2")), "((a + 1) < (b * 2))");
  t.equal(show(expr(t, "not a == b")), "(not (a == b))");
  t.equal(show(expr(t, "not not a")), "(not (not a))");
  t.equal(show(expr(t, "not a and b")), "((not a) and b)");
  t.equal(show(expr(t, "a or b and c")), "(a or (b and c))");
  t.equal(show(expr(t, "a and b or c and d")), "((a and b) or (c and d))");
  t.equal(show(expr(t, "a or b or c")), "((a or b) or c)");
  t.equal(show(expr(t, "a and b and c")), "((a and b) and c)");
  t.equal(show(expr(t, "(a or b) and c")), "((a or b) and c)");
  t.equal(show(expr(t, "a == 1 or not b < 2 and c")), "((a == 1) or ((not (b < 2)) and c))");
  t.end();
});

t.test("within P of: a comparison whose sides are sums", (t) => {
  const e = expr(t, "x + 1 within 5% of y * 2");
  t.equal(show(e), "((x + 1) within 5% of (y * 2))");
  t.match(e, { kind: "within", percent: { kind: "quantity", value: 5, unit: "%" } });
  t.equal(show(expr(t, "a within 10% of b and c")), "((a within 10% of b) and c)");
  t.equal(show(expr(t, "not a within 1 % of 2")), "(not (a within 1% of 2))");
  t.end();
});

t.test("literals: numbers, quantities, strings, true and false", (t) => {
  t.match(expr(t, "42"), { kind: "number", value: { kind: "quantity", value: 42, unit: undefined } });
  t.match(expr(t, "1.5e3"), { kind: "number", value: { value: 1500 } });
  t.match(expr(t, "64 GiB"), { kind: "number", value: { value: 64, unit: "GiB" } });
  t.match(expr(t, "25%"), { kind: "number", value: { value: 25, unit: "%" } });
  t.match(expr(t, '"running"'), { kind: "string", value: "running" });
  t.match(expr(t, '"a \\"quoted\\" \\\\ word"'), { kind: "string", value: 'a "quoted" \\ word' });
  t.match(expr(t, "true"), { kind: "bool", value: true });
  t.match(expr(t, "false"), { kind: "bool", value: false });
  // `true` with a path or an argument is a reference
  t.match(expr(t, "true.x"), { kind: "ref", head: { text: "true" } });
  t.end();
});

t.test("references in all forms", (t) => {
  t.match(expr(t, "b"), { kind: "ref", head: { text: "b" }, arg: undefined, path: [] });
  t.match(expr(t, "transfers.failed"), { kind: "ref", head: { text: "transfers" }, path: [{ text: "failed" }] });
  t.match(expr(t, "run.events"), { kind: "ref", head: { text: "run" }, path: [{ text: "events" }] });
  const vm = expr(t, "vm(web).state");
  t.match(vm, { kind: "ref", head: { text: "vm" }, arg: { kind: "word", text: "web" }, path: [{ text: "state" }] });
  t.match(expr(t, "host(a).memory.used"), { head: { text: "host" }, arg: { text: "a" }, path: [{ text: "memory" }, { text: "used" }] });
  t.match(expr(t, "link(a<->b).bytes"), { head: { text: "link" }, arg: { kind: "word", text: "a<->b" }, path: [{ text: "bytes" }] });
  t.match(expr(t, "link( a <-> b ).bytes"), { arg: { kind: "word", text: "a<->b" } });
  t.match(expr(t, "datastore(san).reads"), { head: { text: "datastore" }, arg: { text: "san" } });
  t.match(expr(t, "migration(web).total-time"), { head: { text: "migration" }, path: [{ text: "total-time" }] });
  t.match(expr(t, 'checkpoint("nightly run").size'), { head: { text: "checkpoint" }, arg: { kind: "string", value: "nightly run" } });
  t.match(expr(t, "migration(web)"), { head: { text: "migration" }, arg: { text: "web" }, path: [] });
  // keywords work as heads, arguments and path steps
  t.match(expr(t, "memory.used"), { head: { text: "memory" }, path: [{ text: "used" }] });
  t.match(expr(t, "web.memory"), { head: { text: "web" }, path: [{ text: "memory" }] });
  t.match(expr(t, "vm(expect).at.workload"), { arg: { text: "expect" }, path: [{ text: "at" }, { text: "workload" }] });
  t.end();
});

t.test("locations and source text of expressions", (t) => {
  const s = firstStatement<ExpectStmt>(t, "expect  (a + b) * 2 >= web.memory  # trailing comment");
  t.equal(s.text, "(a + b) * 2 >= web.memory");
  t.match(s.loc, { line: 2, column: 1, endColumn: 33 });
  t.match(s.expr.loc, { line: 2, column: 9, endColumn: 33 });
  const e = s.expr as Extract<typeof s.expr, { kind: "binary" }>;
  const product = e.left as Extract<typeof s.expr, { kind: "binary" }>;
  // the parentheses belong to the parenthesised sum
  t.match(product.left.loc, { column: 9, endColumn: 15 });
  t.match(product.loc, { column: 9, endColumn: 19 });
  t.match(e.right.loc, { column: 24, endColumn: 33 });
  const multi = firstStatement<ExpectStmt>(t, "expect a and\n  b");
  t.equal(multi.text, "a and\n  b");
  t.match(multi.expr.loc, { line: 2, endLine: 3 });
  t.end();
});
