// Evaluates `expect` lines against the JSON report. A failure says the line, the expression
// and both sides' values, in the unit the scenario wrote.
import type { ExpectStmt, Expr, Loc } from "./ast.js";
import { unitDef } from "../core/units.js";

export interface ExpectResult {
  loc: Loc;
  /** The expression as written. */
  text: string;
  passed: boolean;
  /** Why it failed: "412 ms is not < 300 ms". */
  message: string;
  /** Set when the expression reads something the report does not have. */
  code?: "VMSCN0301";
}

export interface Names {
  vms: ReadonlySet<string>;
  hosts: ReadonlySet<string>;
  datastores: ReadonlySet<string>;
  links: ReadonlySet<string>;
}

type Scalar = number | string | boolean;
interface Value {
  v: Scalar;
  /** The unit a literal was written in, to show numbers the way the user wrote them. */
  unit?: string;
}

class Missing extends Error {}
class TypeMismatch extends Error {}

// Names are user text: every lookup by a name is of an own key (a VM may be called `__proto__`).
const SECTION_OF: ReadonlyMap<string, string> = new Map([
  ["vm", "vms"],
  ["host", "hosts"],
  ["link", "links"],
  ["datastore", "datastores"],
  ["file", "files"],
]);

/** `table[key]` if `table` is an object with `key` as its own property. */
function own(table: unknown, key: string): unknown {
  return table !== null && typeof table === "object" && Object.hasOwn(table, key) ? (table as Record<string, unknown>)[key] : undefined;
}

export function evaluateExpects(expects: readonly ExpectStmt[], report: Record<string, unknown>, names: Names): ExpectResult[] {
  return expects.map((e) => {
    try {
      const r = evaluate(e.expr, report, names);
      if (typeof r.v !== "boolean") throw new TypeMismatch(`the expression is ${show(r)}, not a condition (true or false)`);
      return { loc: e.loc, text: e.text, passed: r.v, message: r.v ? "holds" : explain(e.expr, report, names) };
    } catch (err) {
      if (err instanceof Missing) return { loc: e.loc, text: e.text, passed: false, message: err.message, code: "VMSCN0301" as const };
      if (err instanceof TypeMismatch) return { loc: e.loc, text: e.text, passed: false, message: err.message };
      throw err;
    }
  });
}

function evaluate(e: Expr, report: Record<string, unknown>, names: Names): Value {
  switch (e.kind) {
    case "number": {
      const q = e.value;
      if (q.unit === undefined) return { v: q.value };
      return { v: q.value * unitDef(q.unit)!.factor, unit: q.unit };
    }
    case "string":
      return { v: e.value };
    case "bool":
      return { v: e.value };
    case "ref":
      return reference(e, report, names);
    case "unary": {
      const x = evaluate(e.operand, report, names);
      if (e.op === "not") return { v: !truthy(x, "not") };
      return { v: -num(x, "-"), ...(x.unit ? { unit: x.unit } : {}) };
    }
    case "within": {
      const a = num(evaluate(e.subject, report, names), "within");
      const b = evaluate(e.of, report, names);
      const p = e.percent.value / 100;
      return { v: Math.abs(a - num(b, "within")) <= p * Math.abs(num(b, "within")) };
    }
    case "binary": {
      if (e.op === "and") return { v: truthy(evaluate(e.left, report, names), "and") && truthy(evaluate(e.right, report, names), "and") };
      if (e.op === "or") return { v: truthy(evaluate(e.left, report, names), "or") || truthy(evaluate(e.right, report, names), "or") };
      const l = evaluate(e.left, report, names);
      const r = evaluate(e.right, report, names);
      const unit = l.unit ?? r.unit;
      switch (e.op) {
        case "==":
          return { v: l.v === r.v };
        case "!=":
          return { v: l.v !== r.v };
        case "<":
          return { v: num(l, e.op) < num(r, e.op) };
        case "<=":
          return { v: num(l, e.op) <= num(r, e.op) };
        case ">":
          return { v: num(l, e.op) > num(r, e.op) };
        case ">=":
          return { v: num(l, e.op) >= num(r, e.op) };
        case "+":
          return { v: num(l, e.op) + num(r, e.op), ...(unit ? { unit } : {}) };
        case "-":
          return { v: num(l, e.op) - num(r, e.op), ...(unit ? { unit } : {}) };
        case "*":
          return { v: num(l, e.op) * num(r, e.op), ...(unit ? { unit } : {}) };
        default:
          return { v: num(l, e.op) / num(r, e.op), ...(l.unit && !r.unit ? { unit: l.unit } : {}) };
      }
    }
  }
}

function reference(e: Extract<Expr, { kind: "ref" }>, report: Record<string, unknown>, names: Names): Value {
  const head = e.head.text;
  let node: unknown;
  let where: string;
  // The section read and the keys below it, to find the field's unit in the report's units table.
  let section: string | null = null;
  const keys: string[] = [];
  if (e.arg) {
    const key = e.arg.kind === "word" ? e.arg.text : e.arg.value;
    section = SECTION_OF.get(head) ?? head;
    const table = own(report, section);
    if (table === undefined || table === null || typeof table !== "object") throw new Missing(`${head}(${key}): the report has no "${section}" section${SECTION_OF.has(head) ? "" : " (is the plugin that writes it loaded, and did it run?)"}`);
    const entry = linkKey(section, key, table);
    keys.push(entry);
    node = own(table, entry);
    where = `${head}(${key})`;
    if (node === undefined) throw new Missing(`${where}: the report's "${section}" section has no entry "${key}"`);
  } else if (e.path.length > 0 && names.vms.has(head)) {
    node = own(report["vms"], head);
    where = head;
  } else if (e.path.length > 0 && names.hosts.has(head)) {
    node = own(report["hosts"], head);
    where = head;
  } else if (e.path.length > 0 && names.datastores.has(head)) {
    node = own(report["datastores"], head);
    where = head;
  } else if (e.path.length === 0 && (names.vms.has(head) || names.hosts.has(head) || names.datastores.has(head) || names.links.has(head))) {
    return { v: head };
  } else {
    node = own(report, head);
    where = head;
    section = head;
    if (node === undefined) throw new Missing(`"${head}" is neither a declared name nor a section of the report`);
  }
  for (const p of e.path) {
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, p.text)) {
      const keys = node !== null && typeof node === "object" ? Object.keys(node as object) : [];
      throw new Missing(`${where} has no "${p.text}"${keys.length ? ` (it has ${keys.slice(0, 12).join(", ")}${keys.length > 12 ? ", ..." : ""})` : ""}`);
    }
    node = (node as Record<string, unknown>)[p.text];
    where += `.${p.text}`;
    keys.push(p.text);
  }
  if (typeof node === "number") {
    // A figure the report gives in another unit than the base one (QEMU's ms) compares in base units.
    const unit = section === null ? undefined : unitOf(report, section, keys);
    return unit === undefined ? { v: node } : { v: node * unitDef(unit)!.factor, unit };
  }
  if (typeof node === "string" || typeof node === "boolean") return { v: node };
  if (node === null) throw new Missing(`${where} has no value in this run (null)`);
  throw new TypeMismatch(`${where} is a group of values, not one value: add a field, such as ${where}.${Object.keys(node as object)[0] ?? "x"}`);
}

/** The unit the report's `units` table gives the field `keys` of `section` (`*` matches one key). */
function unitOf(report: Record<string, unknown>, section: string, keys: readonly string[]): string | undefined {
  const patterns = own(report["units"], section);
  if (patterns === null || typeof patterns !== "object") return undefined;
  for (const [pattern, unit] of Object.entries(patterns as Record<string, unknown>)) {
    const parts = pattern.split(".");
    if (typeof unit === "string" && parts.length === keys.length && parts.every((p, i) => p === "*" || p === keys[i]) && unitDef(unit) !== undefined) return unit;
  }
  return undefined;
}

/** `link(b<->a)` finds the link named `a<->b`. */
function linkKey(section: string, key: string, table: object): string {
  if (section !== "links" || Object.hasOwn(table, key)) return key;
  const m = /^(.*)<->(.*)$/.exec(key);
  return m ? `${m[2]}<->${m[1]}` : key;
}

function num(x: Value, op: string): number {
  if (typeof x.v !== "number") throw new TypeMismatch(`"${op}" needs numbers, but got ${show(x)}`);
  return x.v;
}

function truthy(x: Value, op: string): boolean {
  if (typeof x.v !== "boolean") throw new TypeMismatch(`"${op}" needs conditions, but got ${show(x)}`);
  return x.v;
}

/** A value as the user wrote its kind: 412 ms, 4 GiB, "running". */
export function show(x: Value, unit = x.unit): string {
  if (typeof x.v === "string") return `"${x.v}"`;
  if (typeof x.v === "boolean") return String(x.v);
  const u = unit === undefined ? undefined : unitDef(unit);
  if (u) return `${fmt(x.v / u.factor)} ${unit}`;
  return fmt(x.v);
}

function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(6)));
}

/** Why a false expression is false: the failing comparison with both sides' values. */
function explain(e: Expr, report: Record<string, unknown>, names: Names): string {
  if (e.kind === "binary" && (e.op === "and" || e.op === "or")) {
    const l = evaluate(e.left, report, names).v;
    if (e.op === "and" && l === false) return explain(e.left, report, names);
    if (e.op === "and") return explain(e.right, report, names);
    return `${explain(e.left, report, names)}, and ${explain(e.right, report, names)}`;
  }
  if (e.kind === "binary") {
    const l = evaluate(e.left, report, names);
    const r = evaluate(e.right, report, names);
    const unit = l.unit ?? r.unit;
    return `${show(l, unit)} is not ${e.op} ${show(r, unit)}`;
  }
  if (e.kind === "within") {
    const a = evaluate(e.subject, report, names);
    const b = evaluate(e.of, report, names);
    const unit = a.unit ?? b.unit;
    const off = typeof a.v === "number" && typeof b.v === "number" && b.v !== 0 ? ` (off by ${fmt((Math.abs(a.v - b.v) / Math.abs(b.v)) * 100)}%)` : "";
    return `${show(a, unit)} is not within ${e.percent.value}% of ${show(b, unit)}${off}`;
  }
  if (e.kind === "unary") return `not (${explain(e.operand, report, names)}) is false`;
  return `it is ${show(evaluate(e, report, names))}`;
}
