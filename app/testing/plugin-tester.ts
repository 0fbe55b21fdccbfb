// PluginTester: tests a plugin the way ESLint's RuleTester tests a rule. Each case is a whole
// scenario that runs through the real pipeline with the plugin registered beside the built-in
// ones; a valid case must check and run cleanly (every `expect` holding), an invalid case must
// raise exactly the errors it lists, with their codes and positions. Report assertions compare
// figures of the finished run. Cases are registered with the running test framework.
import { AssertionError, deepStrictEqual } from "node:assert";
import { KERNEL_CODES } from "../../core/errors.js";
import { checkPlugin, type Plugin } from "../../core/plugin-host/define.js";
import { DSL_CODES } from "../../dsl/diagnostics.js";
import { builtinPlugins } from "../builtins.js";
import type { Report } from "../../core/report/json.js";
import { checkCases, TestCaseError, type ExpectedError, type NormalizedCase, type ReportAssertion, type TestCases } from "./cases.js";
import { detectFramework, type Describe, type Framework, type It } from "./framework.js";
import { runCase, type ActualError, type CaseOutcome } from "./outcome.js";

export interface PluginTesterOptions {
  /** Other plugins to register with the one under test (those it `requires`); the built-in plugins always are. */
  plugins?: readonly Plugin[];
  /** Files the cases may `import`, by name relative to `cwd`: `{ "platform.vmscn": "host a { ... }" }`. */
  files?: Readonly<Record<string, string>>;
  /** Check the memory invariants after every action and at the end of each run (default true). */
  checkInvariants?: boolean;
  /** Folder the cases' files are placed in (default: the process's working folder). */
  cwd?: string;
}

const OPTION_FIELDS = ["plugins", "files", "checkInvariants", "cwd"];

let describeOverride: Describe | undefined;
let itOverride: It | undefined;
let itOnlyOverride: It | undefined;

function fail(message: string, actual?: unknown, expected?: unknown): never {
  throw new AssertionError({ message, actual, expected, operator: "pluginTester" });
}

function showError(e: ActualError): string {
  const at = e.line === undefined ? "" : ` ${e.line}:${e.column}`;
  return `${e.code}${at} ${e.message}`;
}

function listErrors(errors: readonly ActualError[]): string {
  return errors.length === 0 ? "" : `:\n${errors.map((e) => `  ${showError(e)}`).join("\n")}`;
}

/** The value at a dotted path ("balloon.web.reclaimed"), or a sentence saying where the path stops. */
function at(report: Report, path: string): { value: unknown } | { missing: string } {
  let v: unknown = report;
  const parts = path.split(".");
  for (let i = 0; i < parts.length; i++) {
    const key = parts[i]!;
    if (typeof v !== "object" || v === null || !Object.prototype.hasOwnProperty.call(v, key)) {
      const where = parts.slice(0, i).join(".") || "the report";
      const keys = typeof v === "object" && v !== null ? Object.keys(v).sort() : [];
      const has = keys.length > 0 ? ` (it has ${keys.slice(0, 12).join(", ")}${keys.length > 12 ? ", ..." : ""})` : "";
      return { missing: `the report has no ${path}: ${where} has no "${key}"${has}` };
    }
    v = (v as Record<string, unknown>)[key];
  }
  return { value: v };
}

async function checkReport(assertion: ReportAssertion, report: Report | null): Promise<void> {
  if (report === null) fail("the run did not finish, so there is no report to check");
  if (typeof assertion === "function") {
    await assertion(report);
    return;
  }
  for (const [path, expected] of Object.entries(assertion)) {
    const found = at(report, path);
    if ("missing" in found) fail(found.missing, undefined, expected);
    try {
      deepStrictEqual(found.value, expected);
    } catch {
      fail(`report ${path} is ${JSON.stringify(found.value)}, expected ${JSON.stringify(expected)}`, found.value, expected);
    }
  }
}

function matches(actual: ActualError, expected: ExpectedError): string | undefined {
  if (actual.code !== expected.code) return `code ${actual.code}, expected ${expected.code}`;
  if (expected.line !== undefined && actual.line !== expected.line) return `line ${actual.line ?? "(none)"}, expected ${expected.line}`;
  if (expected.column !== undefined && actual.column !== expected.column) return `column ${actual.column ?? "(none)"}, expected ${expected.column}`;
  const m = expected.message;
  if (typeof m === "string" && actual.message !== m) return `message "${actual.message}", expected "${m}"`;
  if (m instanceof RegExp && !m.test(actual.message)) return `message "${actual.message}", expected it to match ${String(m)}`;
  return undefined;
}

function checkErrors(c: NormalizedCase, out: CaseOutcome): void {
  const actual = out.errors;
  if (c.kind === "valid") {
    if (actual.length > 0) fail(`should have no errors but had ${actual.length}${listErrors(actual)}`, actual.map(showError), []);
    return;
  }
  const expected = c.errors!;
  const count = typeof expected === "number" ? expected : expected.length;
  if (actual.length !== count) {
    fail(`should have ${count} error${count === 1 ? "" : "s"} but had ${actual.length}${listErrors(actual)}`, actual.length, count);
  }
  if (typeof expected === "number") return;
  expected.forEach((e, i) => {
    const wrong = matches(actual[i]!, e);
    if (wrong !== undefined) fail(`error ${i + 1} (${showError(actual[i]!)}) has ${wrong}`, actual[i], e);
  });
}

/** Codes every case may expect, whatever the plugin: the kernel's and the language's. */
const COMMON_CODES: readonly string[] = [...Object.keys(KERNEL_CODES), ...Object.keys(DSL_CODES)];

/**
 * An invalid case may expect only codes that exist for it, as ESLint's RuleTester checks a
 * messageId against the rule's meta.messages: the plugin's declared codes, the kernel's and the
 * language's. A misspelt code or another plugin's fails the case before it runs, saying so.
 */
function checkExpectedCodes(plugin: Plugin, others: readonly Plugin[], c: NormalizedCase): void {
  if (c.kind !== "invalid" || typeof c.errors === "number") return;
  const own = Object.keys(plugin.codes ?? {});
  c.errors!.forEach((e, i) => {
    if (own.includes(e.code) || COMMON_CODES.includes(e.code)) return;
    const owner = [...others, ...builtinPlugins].find((p) => p !== plugin && Object.prototype.hasOwnProperty.call(p.codes ?? {}, e.code));
    const whose = owner === undefined ? "" : ` (it is plugin "${owner.name}"'s: a suite expects the codes of the plugin it tests)`;
    const declared = own.length === 0 ? "declares no codes" : `declares ${own.join(", ")}`;
    fail(
      `${labelOf(c)}: errors[${i}] expects code "${e.code}", which is not one of plugin "${plugin.name}"'s codes, a kernel code (VMSCN5xxx, VMSCN6xxx) or a language diagnostic code (VMSCN0xxx)${whose}; plugin "${plugin.name}" ${declared}`,
      e.code,
      [...own, ...COMMON_CODES],
    );
  });
}

/** The case as a sentence names it: `invalid[2] (scenario "p")`, `invalid[0] ("a title")`. */
function labelOf(c: NormalizedCase): string {
  const scenario = /scenario\s+"([^"]*)"/.exec(c.code)?.[1];
  const what = c.name !== undefined ? ` ("${c.name}")` : scenario !== undefined ? ` (scenario "${scenario}")` : "";
  return `${c.kind}[${c.index}]${what}`;
}

/** A title from the case: its name, else where it is and the scenario's name. */
function titleOf(c: NormalizedCase): string {
  if (c.name !== undefined) return c.name;
  const scenario = /scenario\s+"([^"]*)"/.exec(c.code)?.[1];
  return `${c.kind}[${c.index}]${scenario === undefined ? "" : `: scenario "${scenario}"`}`;
}

export class PluginTester {
  /** The `describe` cases are grouped with; default: the running framework's (see docs/plugins.md). */
  static get describe(): Describe | undefined {
    return describeOverride;
  }
  static set describe(fn: Describe | undefined) {
    describeOverride = fn;
  }
  /** The `it` each case runs in. */
  static get it(): It | undefined {
    return itOverride;
  }
  static set it(fn: It | undefined) {
    itOverride = fn;
  }
  /** The `it` a case with `only: true` runs in. */
  static get itOnly(): It | undefined {
    return itOnlyOverride;
  }
  static set itOnly(fn: It | undefined) {
    itOnlyOverride = fn;
  }

  private readonly options: Required<Omit<PluginTesterOptions, "cwd">> & { cwd: string | undefined };

  constructor(options: PluginTesterOptions = {}) {
    if (typeof options !== "object" || options === null) throw new TestCaseError("PluginTester's options must be an object");
    const unknown = Object.keys(options).filter((k) => !OPTION_FIELDS.includes(k));
    if (unknown.length > 0) throw new TestCaseError(`PluginTester has no option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")}; the options are ${OPTION_FIELDS.join(", ")}`);
    const plugins = options.plugins ?? [];
    if (!Array.isArray(plugins)) throw new TestCaseError(`PluginTester's "plugins" must be an array of plugins`);
    plugins.forEach((p) => checkPlugin(p));
    this.options = { plugins, files: options.files ?? {}, checkInvariants: options.checkInvariants ?? true, cwd: options.cwd };
  }

  /**
   * Registers a group of tests named `name`: one per case. The plugin and the cases are checked
   * at once (a malformed plugin is VMSCN6005, a wrong case a TestCaseError); the cases run when
   * the framework runs its tests. Resolves once the tests are registered.
   */
  run(name: string, plugin: Plugin, tests: TestCases): Promise<void>;
  run(plugin: Plugin, tests: TestCases): Promise<void>;
  run(...args: [string, Plugin, TestCases] | [Plugin, TestCases]): Promise<void> {
    const [name, plugin, tests] = typeof args[0] === "string" ? (args as [string, Plugin, TestCases]) : [undefined, args[0], args[1] as TestCases];
    checkPlugin(plugin);
    const cases = checkCases(tests);
    const title = name ?? plugin.name;
    const overridden = describeOverride !== undefined && itOverride !== undefined;
    if (overridden) {
      this.register(title, plugin, cases, { name: "custom", describe: describeOverride!, it: itOverride!, itOnly: itOnlyOverride ?? itOverride! });
      return Promise.resolve();
    }
    return detectFramework().then((f) =>
      this.register(title, plugin, cases, { ...f, describe: describeOverride ?? f.describe, it: itOverride ?? f.it, itOnly: itOnlyOverride ?? f.itOnly }),
    );
  }

  private register(title: string, plugin: Plugin, cases: readonly NormalizedCase[], f: Framework): void {
    f.describe(title, () => {
      for (const kind of ["valid", "invalid"] as const) {
        const list = cases.filter((c) => c.kind === kind);
        if (list.length === 0) continue;
        f.describe(kind, () => {
          for (const c of list) (c.only ? f.itOnly : f.it)(titleOf(c), () => this.runOne(plugin, c));
        });
      }
    });
  }

  private async runOne(plugin: Plugin, c: NormalizedCase): Promise<void> {
    checkExpectedCodes(plugin, this.options.plugins, c);
    const o = this.options;
    const out = await runCase({
      code: c.code,
      filename: c.filename,
      cwd: o.cwd ?? process.cwd(),
      seed: c.seed,
      plugins: [...o.plugins, plugin],
      files: o.files,
      checkInvariants: o.checkInvariants,
    });
    checkErrors(c, out);
    if (out.failedExpects.length > 0) fail(`expectations that do not hold:\n${out.failedExpects.map((e) => `  ${e}`).join("\n")}`);
    if (c.report !== undefined) await checkReport(c.report, out.report);
  }
}
