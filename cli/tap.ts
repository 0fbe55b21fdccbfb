// TAP 14 for `vmscn test`: one test point per scenario file, with one subtest per expectation.
// Pure functions returning text, so the output is testable byte for byte and streamable: print
// tapHeader(n), then tapFile(i, file) as each file finishes (in order), then tapSummary(files).
//
//   TAP version 14
//   1..2
//   # Subtest: scenarios/precopy.vmscn
//       1..2
//       ok 1 - web.host == b
//       not ok 2 - migration(web).downtime < 300 ms
//         ---
//         message: downtime was 412 ms
//         at: scenarios/precopy.vmscn:18:3
//         expected: < 300 ms
//         actual: 412 ms
//         ...
//   not ok 1 - scenarios/precopy.vmscn
//   ...

export const TAP_VERSION_LINE = "TAP version 14";

/** Children of a subtest are indented by 4 spaces; YAML blocks by 2 more than their test point. */
const CHILD_INDENT = "    ";
const YAML_INDENT = "  ";

export interface TapLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** A YAML diagnostics block. Known keys come first in this order, then the rest as given. */
export interface TapDiagnostics {
  readonly message?: string;
  readonly severity?: string;
  /** Where the expectation is: written `file:line:col`, which editors and terminals link. */
  readonly at?: TapLocation | string;
  readonly expected?: unknown;
  readonly actual?: unknown;
  readonly [key: string]: unknown;
}

export interface TapDirective {
  readonly kind: "skip" | "todo";
  readonly reason?: string;
}

export interface TapPoint {
  readonly ok: boolean;
  readonly description: string;
  readonly directive?: TapDirective;
  readonly diagnostics?: TapDiagnostics;
}

/** One scenario file: its expectations become subtests of one test point named after it. */
export interface TapFile {
  readonly name: string;
  readonly expectations: readonly TapPoint[];
  /** Whether the file passed; by default, when no expectation failed (skip and todo never fail). */
  readonly ok?: boolean;
  /** Skip or todo for the whole file (a `negative` file not yet supported, say). */
  readonly directive?: TapDirective;
  /** Diagnostics of the file itself: a file that did not parse has these and no expectations. */
  readonly diagnostics?: TapDiagnostics;
}

/** `TAP version 14` and the plan: the number of files is known before any of them runs. */
export function tapHeader(files: number): string {
  return `${TAP_VERSION_LINE}\n${tapPlan(files)}`;
}

/** `1..N`; a plan of 0 may give the reason (`1..0 # SKIP no scenario files`). */
export function tapPlan(count: number, skipReason?: string): string {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`a TAP plan needs a count ≥ 0 (got ${count})`);
  return count === 0 && skipReason !== undefined ? `1..0 # SKIP ${oneLine(skipReason)}\n` : `1..${count}\n`;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/**
 * A description as TAP 14 wants it: on one line, with `\` and `#` escaped so that a `#` in an
 * expectation (`# of pages`) is not read as a directive.
 */
export function tapEscape(description: string): string {
  return oneLine(description).replace(/[\\#]/g, (c) => `\\${c}`);
}

function directiveText(d: TapDirective | undefined): string {
  if (d === undefined) return "";
  const reason = d.reason === undefined ? "" : oneLine(d.reason);
  return ` # ${d.kind.toUpperCase()}${reason === "" ? "" : ` ${reason}`}`;
}

/** `ok 3 - description # SKIP reason`, then its YAML block, each line prefixed by `indent`. */
export function tapPoint(n: number, point: TapPoint, indent = ""): string {
  // A skipped expectation tested nothing, so it cannot have failed.
  const ok = point.ok || point.directive?.kind === "skip";
  const desc = tapEscape(point.description);
  const line = `${indent}${ok ? "ok" : "not ok"} ${n}${desc === "" ? "" : ` - ${desc}`}${directiveText(point.directive)}\n`;
  return point.diagnostics === undefined ? line : line + tapYaml(point.diagnostics, indent + YAML_INDENT);
}

/** Whether a file counts as passed: skip and todo expectations never fail it. */
export function tapFileOk(file: TapFile): boolean {
  if (file.ok !== undefined) return file.ok;
  return file.expectations.every((e) => e.ok || e.directive !== undefined);
}

/** One file: `# Subtest: name`, its indented expectations, then its own test point. */
export function tapFile(n: number, file: TapFile): string {
  let out = "";
  if (file.expectations.length > 0) {
    out += `# Subtest: ${oneLine(file.name)}\n`;
    out += CHILD_INDENT + tapPlan(file.expectations.length);
    file.expectations.forEach((e, i) => (out += tapPoint(i + 1, e, CHILD_INDENT)));
  }
  return out + tapPoint(n, { ok: tapFileOk(file), description: file.name, ...(file.directive ? { directive: file.directive } : {}), ...(file.diagnostics ? { diagnostics: file.diagnostics } : {}) });
}

/** `Bail out! reason`: the run cannot go on (an internal error), nothing after it is read. */
export function tapBailOut(reason: string): string {
  return `Bail out! ${oneLine(reason)}\n`;
}

export interface TapCounts {
  readonly files: { readonly total: number; readonly passed: number; readonly failed: number; readonly skipped: number; readonly todo: number };
  readonly expectations: { readonly total: number; readonly passed: number; readonly failed: number; readonly skipped: number; readonly todo: number };
}

export function tapCounts(files: readonly TapFile[]): TapCounts {
  const f = { total: 0, passed: 0, failed: 0, skipped: 0, todo: 0 };
  const e = { total: 0, passed: 0, failed: 0, skipped: 0, todo: 0 };
  for (const file of files) {
    f.total++;
    if (file.directive?.kind === "skip") f.skipped++;
    else if (file.directive?.kind === "todo") f.todo++;
    else if (tapFileOk(file)) f.passed++;
    else f.failed++;
    for (const x of file.expectations) {
      e.total++;
      if (x.directive?.kind === "skip") e.skipped++;
      else if (x.directive?.kind === "todo") e.todo++;
      else if (x.ok) e.passed++;
      else e.failed++;
    }
  }
  return { files: f, expectations: e };
}

/** The closing comment lines: counts of files and of expectations. */
export function tapSummary(files: readonly TapFile[]): string {
  const { files: f, expectations: e } = tapCounts(files);
  const tail = (c: { skipped: number; todo: number }): string => `${c.skipped} skipped, ${c.todo} todo`;
  return (
    `# files ${f.total}: ${f.passed} passed, ${f.failed} failed, ${tail(f)}\n` +
    `# expectations ${e.total}: ${e.passed} passed, ${e.failed} failed, ${tail(e)}\n`
  );
}

/** The whole stream at once (header, every file in order, summary). */
export function tapDocument(files: readonly TapFile[]): string {
  return tapHeader(files.length) + files.map((f, i) => tapFile(i + 1, f)).join("") + tapSummary(files);
}

// ---- YAML diagnostics ----------------------------------------------------------------------

const FIRST_KEYS = ["message", "severity", "at", "expected", "actual"];

/** A diagnostics block: `---`, the fields, `...`, every line prefixed by `indent`. */
export function tapYaml(diagnostics: TapDiagnostics, indent = YAML_INDENT): string {
  const keys = [...FIRST_KEYS.filter((k) => k in diagnostics), ...Object.keys(diagnostics).filter((k) => !FIRST_KEYS.includes(k))];
  const lines: string[] = [];
  for (const k of keys) {
    let v = diagnostics[k];
    if (v === undefined) continue;
    if (k === "at" && isLocation(v)) v = `${v.file}:${v.line}:${v.column}`;
    yamlEntry(lines, "", k, v);
  }
  return [`${indent}---`, ...lines.map((l) => indent + l), `${indent}...`].join("\n") + "\n";
}

function isLocation(v: unknown): v is TapLocation {
  return typeof v === "object" && v !== null && "file" in v && "line" in v && "column" in v;
}

const RESERVED = /^(?:true|false|null|yes|no|on|off|y|n|~)$/i;

/** A string YAML reads back as the same string without quotes; anything doubtful is quoted. */
function plainScalarOk(s: string): boolean {
  return (
    /^[A-Za-z_<>=(/][^\n\r\t]*$/.test(s) &&
    !/[\s:]$/.test(s) &&
    !s.includes(": ") &&
    !s.includes(" #") &&
    !RESERVED.test(s) &&
    // Printable ASCII and beyond, no control characters (JSON quoting escapes those).
    !/[\u0000-\u001f\u007f]/.test(s)
  );
}

function yamlKey(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k) ? k : JSON.stringify(k);
}

/** A scalar on one line, or undefined when the value needs lines of its own. */
function yamlScalar(v: unknown): string | undefined {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "number":
      return Number.isNaN(v) ? ".nan" : v === Infinity ? ".inf" : v === -Infinity ? "-.inf" : Object.is(v, -0) ? "0" : String(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "true" : "false";
    case "string":
      if (v.includes("\n") && blockStyle(v) !== undefined) return undefined;
      return plainScalarOk(v) ? v : JSON.stringify(v);
    case "object":
      if (Array.isArray(v)) return v.length === 0 ? "[]" : undefined;
      return Object.keys(v).length === 0 ? "{}" : undefined;
    default:
      return JSON.stringify(String(v));
  }
}

/** `|` keeps one final newline, `|-` none; other shapes (leading spaces, blank tails) get quotes. */
function blockStyle(s: string): "|" | "|-" | undefined {
  if (/^[ \t]/.test(s) || /\n\n$/.test(s) || /\r|[\u0000-\u0008\u000b-\u001f\u007f]/.test(s)) return undefined;
  return s.endsWith("\n") ? "|" : "|-";
}

function yamlEntry(lines: string[], pad: string, key: string, v: unknown): void {
  const scalar = yamlScalar(v);
  if (scalar !== undefined) {
    lines.push(`${pad}${yamlKey(key)}: ${scalar}`);
    return;
  }
  if (typeof v === "string") {
    const style = blockStyle(v)!;
    lines.push(`${pad}${yamlKey(key)}: ${style}`);
    for (const l of (style === "|" ? v.slice(0, -1) : v).split("\n")) lines.push(l === "" ? "" : `${pad}  ${l}`);
    return;
  }
  lines.push(`${pad}${yamlKey(key)}:`);
  yamlNested(lines, pad + "  ", v);
}

function yamlNested(lines: string[], pad: string, v: unknown): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      const scalar = yamlScalar(item);
      if (scalar !== undefined) lines.push(`${pad}- ${scalar}`);
      else if (typeof item === "string") {
        // A multi-line string in a list: quoted, to stay on the item's line.
        lines.push(`${pad}- ${JSON.stringify(item)}`);
      } else {
        // A nested block under "- ": its first line shares the dash, the rest align with it.
        const sub: string[] = [];
        yamlNested(sub, "", item);
        sub.forEach((l, i) => lines.push(i === 0 ? `${pad}- ${l}` : l === "" ? "" : `${pad}  ${l}`));
      }
    }
    return;
  }
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) yamlEntry(lines, pad, k, x);
}
