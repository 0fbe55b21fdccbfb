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

/** The first example of docs/language.md, as the syntax tests and the fuzzer use it. */
export const LANGUAGE_EXAMPLE = `# description: pre-copy of a busy web server
# features: [precopy, zipf]
scenario "precopy-web" {
  seed 42
  host a { cpus 16  memory 64 GiB }
  host b { cpus 16  memory 64 GiB  rdma }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }
  datastore san { shared-by a, b  bandwidth 1 GB/s  latency 100 us }

  vm web on a {
    vcpus 4  memory 4 GiB  disk san 40 GiB  boot 20 s
    initial zero 20%, image "debian-12" 30%, random 50%
    workload {
      writes 20000 pages/s zipf 0.9 over 25%
      reads  80000 pages/s uniform
      content zero 20%, image "debian-12" 30%, random 50%
    }
  }

  at 10 s: migrate web to b with precopy { bandwidth 1 Gbit/s  downtime-limit 300 ms  after demand-paging, background }
  at 12 s: web writes pages 0..1023
  run until 120 s

  expect web.host == b
  expect migration(web).downtime < 300 ms
}
`;
