// Front matter: the comment block at the very top of a file, one `key: value` per line, for
// a conformance suite (docs/language.md, "Front matter"; the idea is test262's).
//
//   # description: a migration to a full host is refused
//   # features: [precopy, out-of-memory]
//   # negative: {phase: run, code: VMSCN5002}
//
// The block ends at the first line that is not a comment (a blank line ends it too).
// Comment lines without `key:` are prose and ignored.
import type { FrontMatter, Loc } from "./ast.js";
import { diag, type Diagnostic } from "./diagnostics.js";

const PHASES = ["parse", "validate", "run"] as const;
type NegativePhase = (typeof PHASES)[number];

const KEY_LINE = /^(\uFEFF?[ \t]*(?:#|\/\/)[ \t]*)([A-Za-z_][A-Za-z0-9_-]*)([ \t]*:[ \t]*)(.*?)[ \t]*$/;
const COMMENT_LINE = /^\uFEFF?[ \t]*(?:#|\/\/)/;
const WORD = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function readFrontMatter(text: string, file: string): { frontMatter: FrontMatter; diagnostics: Diagnostic[] } {
  const fm: FrontMatter = { extra: {} };
  const diagnostics: Diagnostic[] = [];
  let offset = 0;
  let line = 1;
  let first: Loc | undefined;
  let last: Loc | undefined;
  const seen = new Set<string>();

  while (offset < text.length) {
    let end = text.indexOf("\n", offset);
    if (end < 0) end = text.length;
    const raw = text.slice(offset, end).replace(/\r$/, "");
    if (!COMMENT_LINE.test(raw)) break;
    const whole: Loc = { file, line, column: 1, endLine: line, endColumn: Math.max(1, raw.length), start: offset, end: offset + raw.length };
    first ??= whole;
    last = whole;
    const m = KEY_LINE.exec(raw);
    if (m !== null) {
      const key = m[2]!;
      const value = m[4]!;
      const valueColumn = m[1]!.length + key.length + m[3]!.length + 1;
      const lineLoc = (column: number, length: number): Loc => ({
        file,
        line,
        column,
        endLine: line,
        endColumn: column + Math.max(1, length) - 1,
        start: offset + column - 1,
        end: offset + column - 1 + Math.max(1, length),
      });
      const valueLoc = lineLoc(valueColumn, value.length);
      const bad = (message: string, hint?: string): void => {
        diagnostics.push(diag("VMSCN0105", message, valueLoc, "parse", hint));
      };
      if ((key === "description" || key === "features" || key === "negative") && seen.has(key)) {
        bad(`front matter "${key}" is given twice`);
      } else {
        seen.add(key);
        if (key === "description") fm.description = value;
        else if (key === "features") {
          const features = parseFeatures(value);
          if (features === undefined) bad(`malformed front matter "features": expected a list such as [precopy, zipf]`);
          else fm.features = features;
        } else if (key === "negative") {
          const r = parseNegative(value);
          if (typeof r === "string") bad(`malformed front matter "negative": ${r}`, "write it as {phase: parse, code: VMSCN0101}");
          else fm.negative = r;
        } else fm.extra[key] = value;
      }
    }
    offset = end + 1;
    line++;
  }
  if (first !== undefined && last !== undefined) fm.loc = { ...first, endLine: last.endLine, endColumn: last.endColumn, end: last.end };
  return { frontMatter: fm, diagnostics };
}

function parseFeatures(value: string): string[] | undefined {
  const m = /^\[(.*)\]$/.exec(value);
  if (m === null) return undefined;
  const inner = m[1]!.trim();
  if (inner === "") return [];
  const items = inner.split(",").map((s) => s.trim());
  return items.every((s) => WORD.test(s)) ? items : undefined;
}

/** `{phase: run, code: VMSCN5002}`, or what is wrong with it. */
function parseNegative(value: string): { phase: NegativePhase; code: string } | string {
  const m = /^\{(.*)\}$/.exec(value);
  if (m === null) return "expected {phase: ..., code: ...} in braces";
  let phase: NegativePhase | undefined;
  let code: string | undefined;
  for (const part of m[1]!.split(",")) {
    const kv = /^\s*([A-Za-z]+)\s*:\s*(\S*)\s*$/.exec(part);
    if (kv === null) return `expected "key: value" pairs separated by commas, found "${part.trim()}"`;
    const [, k, v] = kv as unknown as [string, string, string];
    if (k === "phase") {
      if (!(PHASES as readonly string[]).includes(v)) return `unknown phase "${v}": expected parse, validate or run`;
      phase = v as NegativePhase;
    } else if (k === "code") {
      if (!/^VMSCN\d{4}$/.test(v)) return `"${v}" is not a code such as VMSCN0101`;
      code = v;
    } else return `unknown key "${k}": expected phase and code`;
  }
  if (phase === undefined) return "the phase is missing";
  if (code === undefined) return "the code is missing";
  return { phase, code };
}
