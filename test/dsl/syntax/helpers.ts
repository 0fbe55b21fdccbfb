import type { Test } from "tap";
import type { Expr, FileNode, Statement } from "../../../dsl/ast.js";
import type { Diagnostic } from "../../../dsl/diagnostics.js";
import { parseSource } from "../../../dsl/parse.js";

/** Parses `text` and asserts it has no diagnostics. */
export function parseOk(t: Test, text: string, file = "t.vmscn"): FileNode {
  const r = parseSource(text, file);
  t.same(
    r.diagnostics.map((d) => `${d.loc.line}:${d.loc.column} ${d.code} ${d.message}`),
    [],
    "no diagnostics",
  );
  return r.file;
}

/** The statements of `body` placed in a scenario block (line 2 onwards). */
export function scenarioBody(t: Test, body: string): Statement[] {
  const f = parseOk(t, `scenario "s" {\n${body}\n}\n`);
  t.equal(f.scenarios.length, 1);
  return f.scenarios[0]!.body;
}

export function firstStatement<S extends Statement>(t: Test, body: string): S {
  const b = scenarioBody(t, body);
  t.equal(b.length, 1, "one statement");
  return b[0] as S;
}

/** The expression of `expect EXPR`. */
export function expr(t: Test, source: string): Expr {
  const s = firstStatement<Statement & { type: "expect" }>(t, `expect ${source}`);
  t.equal(s.type, "expect");
  return s.expr;
}

/** `code line:column` of each diagnostic, in order. */
export function where(ds: Diagnostic[]): string[] {
  return ds.map((d) => `${d.code} ${d.loc.line}:${d.loc.column}`);
}

/** A compact, location-free rendering of an expression, to assert structure and precedence. */
export function show(e: Expr): string {
  switch (e.kind) {
    case "number":
      return e.value.unit === undefined ? String(e.value.value) : `${e.value.value}${e.value.unit}`;
    case "string":
      return JSON.stringify(e.value);
    case "bool":
      return String(e.value);
    case "ref": {
      const arg = e.arg === undefined ? "" : e.arg.kind === "string" ? `(${JSON.stringify(e.arg.value)})` : `(${e.arg.text})`;
      return [e.head.text + arg, ...e.path.map((p) => p.text)].join(".");
    }
    case "unary":
      return `(${e.op} ${show(e.operand)})`;
    case "binary":
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case "within":
      return `(${show(e.subject)} within ${e.percent.value}${e.percent.unit ?? ""} of ${show(e.of)})`;
  }
}
