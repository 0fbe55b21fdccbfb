// One conformance file, run to a TAP file entry: one test point per expectation, and the
// file's `negative` front matter honoured (it must fail in that phase with that code).
import { relative } from "node:path";
import { run, type RunOutcome } from "../../app/pipeline.js";
import { formatDiagnostic, type Diagnostic } from "../../dsl/diagnostics.js";
import { estimateMemory, formatMiB } from "../../app/limits.js";
import { UsageError } from "../args.js";
import { DEFAULT_TASK_TIMEOUT_MS, type PoolError } from "../pool.js";
import type { TapFile, TapPoint } from "../tap.js";

/** `vmscn test --timeout SECONDS`: one file's time limit (wall clock); 0 for none. */
export const TIMEOUT_HELP = `  --timeout SECONDS  the time one file may run (default ${DEFAULT_TASK_TIMEOUT_MS / 1000}; 0: no limit): a file still running
                     then (it never ends, or reads a FIFO) fails with VMSCN8101, and the others run`;

/** The limit in ms from `--timeout SECONDS` (undefined: the default). */
export function fileTimeoutMs(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TASK_TIMEOUT_MS;
  const s = /^\s*[0-9]+(?:\.[0-9]+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(s) || s > 2_000_000) throw new UsageError(`--timeout needs a number of seconds from 0 to 2000000, 0 for no limit (got ${text})`);
  return Math.round(s * 1000);
}

/**
 * A file whose worker failed: stopped at the time limit (VMSCN8101, the file fails and the
 * suite goes on), or the worker died.
 */
export function workerFailure(name: string, error: PoolError): TapFile {
  if (error.timedOut) return { name, expectations: [], ok: false, diagnostics: { message: error.message, severity: "fail", code: error.code ?? "VMSCN8101" } };
  return { name, expectations: [], ok: false, diagnostics: { message: `the worker failed: ${error.message}` } };
}

export interface ConformanceTask {
  file: string;
  plugins: string[];
  cwd: string;
  /** `--max-memory`: a file whose estimated need is larger is refused before it runs (VMSCN0223). */
  maxMemoryBytes?: number;
  /** `--allow-plugins` and the folders the file may read (docs/security.md). */
  allowPlugins?: boolean;
  allowRead?: string[];
}

export async function runConformanceFile(task: ConformanceTask): Promise<TapFile> {
  const name = relative(task.cwd, task.file) || task.file;
  let outcome: RunOutcome;
  try {
    outcome = await run(task.file, { plugins: task.plugins, cwd: task.cwd, checkInvariants: true, allowPlugins: task.allowPlugins ?? false, allowRead: task.allowRead ?? [], ...(task.maxMemoryBytes !== undefined ? { maxMemoryBytes: task.maxMemoryBytes } : {}) });
  } catch (err) {
    return { name, expectations: [], ok: false, diagnostics: { message: `cannot run: ${(err as Error).message}` } };
  }
  // A platform file (declarations only, for import) is not a test.
  if (outcome.diagnostics.length === 1 && outcome.diagnostics[0]!.code === "VMSCN0216" && outcome.frontMatter.description === undefined) {
    return { name, expectations: [], directive: { kind: "skip", reason: "platform file (no scenario block)" } };
  }
  const negative = outcome.frontMatter.negative;
  // Too big for this machine: a failure whatever the file expects (unless it expects exactly that).
  const tooBig = outcome.diagnostics.find((d) => d.code === "VMSCN0223");
  if (tooBig && negative?.code !== "VMSCN0223") return tooBigResult(name, outcome, tooBig, task.maxMemoryBytes!);
  if (negative) return negativeResult(name, outcome, negative);
  if (outcome.failedPhase === "parse" || outcome.failedPhase === "validate") {
    const errors = outcome.diagnostics.filter((d) => d.severity === "error");
    return {
      name,
      expectations: [],
      ok: false,
      diagnostics: { message: `${errors.length} error(s) in the ${outcome.failedPhase} phase`, severity: "fail", errors: errors.map((d) => formatDiagnostic(d, undefined)) },
    };
  }
  if (outcome.error) {
    return { name, expectations: [], ok: false, diagnostics: { message: outcome.error.describe(), severity: "fail" } };
  }
  const points: TapPoint[] = outcome.expects.map((e) => ({
    ok: e.passed,
    description: `line ${e.loc.line}: expect ${e.text}`,
    ...(e.passed ? {} : { diagnostics: { message: e.message, at: { file: name, line: e.loc.line, column: e.loc.column }, ...(e.code ? { code: e.code } : {}) } }),
  }));
  if (points.length === 0) points.push({ ok: true, description: "runs without error (no expectations)" });
  return { name, expectations: points };
}

/** Refused before it ran: the estimate, the limit and the largest contributors, as YAML fields. */
function tooBigResult(name: string, o: RunOutcome, d: Diagnostic, limit: number): TapFile {
  const e = estimateMemory(o.plan!);
  return {
    name,
    expectations: [],
    ok: false,
    diagnostics: {
      message: `${d.code}: refused before it ran: ${d.message}`,
      severity: "fail",
      at: { file: name, line: d.loc.line, column: d.loc.column },
      code: d.code,
      estimate: formatMiB(e.totalBytes),
      "max-memory": formatMiB(limit),
      largest: e.contributors.slice(0, 3).map((c) => `${c.what}: ${formatMiB(c.bytes)}`),
    },
  };
}

function negativeResult(name: string, o: RunOutcome, negative: { phase: string; code: string }): TapFile {
  const codes: { phase: string; code: string; message: string }[] = [
    ...o.diagnostics.filter((d) => d.severity === "error").map((d) => ({ phase: d.phase, code: d.code, message: d.message })),
    ...(o.error ? [{ phase: "run", code: o.error.code, message: o.error.message }] : []),
    // An impossible request fails its action alone: its code counts as the run's.
    ...(o.report ? failedActions(o.report as unknown as { actions?: { failure?: string }[] }) : []),
  ];
  const hit = codes.find((c) => c.phase === negative.phase && c.code === negative.code);
  const point: TapPoint = hit
    ? { ok: true, description: `fails in the ${negative.phase} phase with ${negative.code}: ${hit.message}` }
    : {
        ok: false,
        description: `must fail in the ${negative.phase} phase with ${negative.code}`,
        diagnostics: { message: codes.length ? "it failed otherwise" : "it did not fail", expected: `${negative.phase} ${negative.code}`, actual: codes.map((c) => `${c.phase} ${c.code}`).join(", ") || "no error" },
      };
  return { name, expectations: [point] };
}

function failedActions(report: { actions?: { failure?: string }[] }): { phase: string; code: string; message: string }[] {
  return (report.actions ?? []).flatMap((a) => {
    const m = a.failure ? /^(VMSCN\d{4})/.exec(a.failure) : null;
    return m ? [{ phase: "run", code: m[1]!, message: a.failure! }] : [];
  });
}
