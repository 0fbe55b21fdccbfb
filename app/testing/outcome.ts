// Runs one PluginTester case through the real pipeline (load, validate with the plugin's verbs,
// compile, run, expectations) and lists what went wrong in one form: the errors a case can
// expect (diagnostics, failed actions, a failed run) and the failures no case may have.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { stableStringify, type Report } from "../../core/report/json.js";
import type { Plugin } from "../../core/plugin-host/define.js";
import { run } from "../pipeline.js";

/** An error the run produced, in the form cases compare with `errors`. */
export interface ActualError {
  code: string;
  /** Where it points; undefined for a failure of the run as a whole. */
  line: number | undefined;
  column: number | undefined;
  message: string;
}

export interface CaseOutcome {
  errors: ActualError[];
  /** Expectations (`expect` lines) that did not hold: `3:3 expect x > 1: 0 is not > 1`. */
  failedExpects: string[];
  /** The report as JSON values (null when the run did not get that far). */
  report: Report | null;
}

export interface RunCaseOptions {
  code: string;
  filename: string;
  cwd: string;
  seed: number | undefined;
  plugins: readonly Plugin[];
  files: Readonly<Record<string, string>>;
  checkInvariants: boolean;
}

/** "VMSCN5011 at 1 s: sentence" → code and sentence. */
function splitFailure(text: string): { code: string; message: string } {
  const m = /^(\S+)(?: at [^:]*)?: ([\s\S]*)$/.exec(text);
  return m ? { code: m[1]!, message: m[2]! } : { code: "", message: text };
}

export async function runCase(o: RunCaseOptions): Promise<CaseOutcome> {
  const path = resolve(o.cwd, o.filename);
  const virtual = new Map<string, string>([[path, o.code]]);
  for (const [name, text] of Object.entries(o.files)) virtual.set(resolve(o.cwd, name), text);
  const outcome = await run(path, {
    read: (p) => virtual.get(p) ?? readFileSync(p, "utf8"),
    pluginObjects: o.plugins,
    cwd: o.cwd,
    checkInvariants: o.checkInvariants,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  });
  const errors: ActualError[] = outcome.diagnostics
    .filter((d) => d.severity === "error" && d.loc.file === path)
    .map((d) => ({ code: d.code, line: d.loc.line, column: d.loc.column, message: d.message }));
  // Errors in imported files still fail the case; they are named by file.
  for (const d of outcome.diagnostics) {
    if (d.severity === "error" && d.loc.file !== path) errors.push({ code: d.code, line: undefined, column: undefined, message: `${d.loc.file}:${d.loc.line}:${d.loc.column}: ${d.message}` });
  }
  const report = outcome.report === undefined ? null : (JSON.parse(stableStringify(outcome.report)) as Report);
  // Failed actions, at their `at` statement (the plan and the action log are in the same order).
  const actions = outcome.kernel?.actionLog() ?? [];
  const planned = outcome.plan?.actions ?? [];
  actions.forEach((a, i) => {
    if (a.state !== "failed") return;
    const { code, message } = splitFailure(a.failure ?? "");
    const loc = planned[i]?.loc;
    errors.push({ code, line: loc?.line, column: loc?.column, message });
  });
  if (outcome.error) errors.push({ code: outcome.error.code, line: undefined, column: undefined, message: outcome.error.message });
  const failedExpects: string[] = [];
  for (const e of outcome.expects) {
    if (e.passed) continue;
    // An expectation that reads what the report lacks has a code, so a case may expect it.
    if (e.code !== undefined) errors.push({ code: e.code, line: e.loc.line, column: e.loc.column, message: e.message });
    else failedExpects.push(`${e.loc.line}:${e.loc.column} expect ${e.text}: ${e.message}`);
  }
  return { errors, failedExpects, report };
}
