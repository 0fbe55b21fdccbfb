// The shape of PluginTester's test cases, checked before anything runs (as ESLint's RuleTester
// does): an unknown or misspelt field, a missing one, a wrong type or a duplicate case is a
// mistake in the test file, reported with where it is and what is allowed.
import type { Report } from "../../core/report/json.js";

/** An error a case expects: a diagnostic, a failed action or a failed run. */
export interface ExpectedError {
  /** The code: "VMSCN0222", "VMSCN5002", or one of the plugin's own ("BALLOON001"). */
  code: string;
  /** 1-based line in the case's code (left out: any line). */
  line?: number;
  /** 1-based column (left out: any column). */
  column?: number;
  /** The exact message, or a pattern it must match (left out: any message). */
  message?: string | RegExp;
}

/**
 * Report assertions: dotted paths into the JSON report and the values they must have
 * (`{ "balloon.web.reclaimed": 1024 }`), or a function that gets the report and throws when
 * something is wrong.
 */
export type ReportAssertion = Readonly<Record<string, unknown>> | ((report: Report) => void | Promise<void>);

interface CaseBase {
  /** The scenario's text: a whole .vmscn file. */
  code: string;
  /** The test's title (default: the scenario's name and first action). */
  name?: string;
  /** Run only this case (with the framework's only mode). */
  only?: boolean;
  /** Overrides the scenario's seed. */
  seed?: number;
  /** File name the code is given as (default "scenario.vmscn" in the working folder): messages and imports use it. */
  filename?: string;
  /** Values the report must have once the run ends. */
  report?: ReportAssertion;
}

/** A valid case: no error diagnostics, no failed action, a run that ends normally and every `expect` holding. */
export type ValidCase = string | CaseBase;

/** An invalid case: exactly these errors, in order (diagnostics by position, then failed actions, then a failed run). */
export interface InvalidCase extends CaseBase {
  errors: readonly ExpectedError[] | number;
}

export interface TestCases {
  valid?: readonly ValidCase[];
  invalid?: readonly InvalidCase[];
}

const BASE_FIELDS = ["code", "name", "only", "seed", "filename", "report"] as const;
const VALID_FIELDS: readonly string[] = BASE_FIELDS;
const INVALID_FIELDS: readonly string[] = [...BASE_FIELDS, "errors"];
const ERROR_FIELDS: readonly string[] = ["code", "line", "column", "message"];
const TOP_FIELDS: readonly string[] = ["valid", "invalid"];

/** A mistake in a test file's cases (not a failing test). */
export class TestCaseError extends TypeError {
  override readonly name = "TestCaseError";
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unknownFields(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    const list = unknown.map((k) => `"${k}"`).join(", ");
    throw new TestCaseError(`${where} has unknown field${unknown.length > 1 ? "s" : ""} ${list}; the fields are ${allowed.join(", ")}`);
  }
}

function checkBase(c: Record<string, unknown>, where: string): void {
  if (typeof c.code !== "string") throw new TestCaseError(`${where} needs "code": the scenario's text, as a string`);
  if (c.name !== undefined && typeof c.name !== "string") throw new TestCaseError(`${where}: "name" must be a string`);
  if (c.only !== undefined && typeof c.only !== "boolean") throw new TestCaseError(`${where}: "only" must be true or false`);
  if (c.seed !== undefined && !Number.isSafeInteger(c.seed)) throw new TestCaseError(`${where}: "seed" must be an integer`);
  if (c.filename !== undefined && (typeof c.filename !== "string" || !c.filename.endsWith(".vmscn"))) {
    throw new TestCaseError(`${where}: "filename" must be a file name ending in .vmscn`);
  }
  if (c.report !== undefined && typeof c.report !== "function" && !isRecord(c.report)) {
    throw new TestCaseError(`${where}: "report" must be an object of path: value (like { "balloon.web.reclaimed": 1024 }) or a function (report) => void`);
  }
}

function checkError(e: unknown, where: string): void {
  if (!isRecord(e)) throw new TestCaseError(`${where} must be an object like { code: "VMSCN0222", line: 3, column: 12 }`);
  unknownFields(e, ERROR_FIELDS, where);
  if (typeof e.code !== "string" || e.code === "") throw new TestCaseError(`${where} needs "code", like "VMSCN0222"`);
  for (const f of ["line", "column"] as const) {
    const v = e[f];
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= 1)) throw new TestCaseError(`${where}: "${f}" must be a whole number from 1`);
  }
  if (e.message !== undefined && typeof e.message !== "string" && !(e.message instanceof RegExp)) {
    throw new TestCaseError(`${where}: "message" must be a string or a regular expression`);
  }
}

/** A stable text of a case for duplicate detection (functions and patterns by their source). */
function fingerprint(c: unknown): string {
  return JSON.stringify(c, (_k, v: unknown) => {
    if (typeof v === "function") return `function ${String(v)}`;
    if (v instanceof RegExp) return `regexp ${String(v)}`;
    if (isRecord(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
    return v;
  });
}

export interface NormalizedCase {
  kind: "valid" | "invalid";
  index: number;
  code: string;
  name: string | undefined;
  only: boolean;
  seed: number | undefined;
  filename: string;
  report: ReportAssertion | undefined;
  errors: readonly ExpectedError[] | number | undefined;
}

function normalize(kind: "valid" | "invalid", index: number, c: ValidCase | InvalidCase): NormalizedCase {
  const o: CaseBase & { errors?: InvalidCase["errors"] } = typeof c === "string" ? { code: c } : c;
  return {
    kind,
    index,
    code: o.code,
    name: o.name,
    only: o.only === true,
    seed: o.seed,
    filename: o.filename ?? "scenario.vmscn",
    report: o.report,
    errors: o.errors,
  };
}

/** Checks the cases' shapes and returns them in one form; throws TestCaseError on the first mistake. */
export function checkCases(tests: unknown): NormalizedCase[] {
  if (!isRecord(tests)) throw new TestCaseError(`the cases must be an object { valid: [...], invalid: [...] }`);
  unknownFields(tests, TOP_FIELDS, "the cases object");
  const out: NormalizedCase[] = [];
  for (const kind of ["valid", "invalid"] as const) {
    const list = tests[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new TestCaseError(`"${kind}" must be an array of cases`);
    const seen = new Map<string, number>();
    list.forEach((c: unknown, i) => {
      const where = `${kind}[${i}]`;
      if (kind === "valid") {
        if (typeof c !== "string") {
          if (!isRecord(c)) throw new TestCaseError(`${where} must be the scenario's text or an object { code, ... }`);
          unknownFields(c, VALID_FIELDS, where);
          checkBase(c, where);
        }
      } else {
        if (!isRecord(c)) throw new TestCaseError(`${where} must be an object { code, errors: [...] }`);
        unknownFields(c, INVALID_FIELDS, where);
        checkBase(c, where);
        const errors = c.errors;
        if (typeof errors === "number") {
          if (!(Number.isSafeInteger(errors) && errors >= 1)) throw new TestCaseError(`${where}: "errors" as a count must be at least 1 (a case without errors belongs in valid)`);
        } else if (Array.isArray(errors)) {
          if (errors.length === 0) throw new TestCaseError(`${where}: "errors" is empty; an invalid case expects at least one error (a case without errors belongs in valid)`);
          errors.forEach((e, j) => checkError(e, `${where}.errors[${j}]`));
        } else {
          throw new TestCaseError(`${where} needs "errors": the errors it must raise, like [{ code: "VMSCN0222", line: 3, column: 12 }]`);
        }
      }
      const key = fingerprint(typeof c === "string" ? { code: c } : c);
      const first = seen.get(key);
      if (first !== undefined) throw new TestCaseError(`${where} is a duplicate of ${kind}[${first}]; remove one of them`);
      seen.set(key, i);
      out.push(normalize(kind, i, c as ValidCase | InvalidCase));
    });
  }
  if (out.length === 0) throw new TestCaseError(`there are no cases: give at least one valid or invalid case`);
  return out;
}
