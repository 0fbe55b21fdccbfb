// `vmscn run FILE`: runs a scenario, prints its summary and expectations, writes the outputs.
import { stableStringify } from "../../core/report/json.js";
import { run } from "../../app/pipeline.js";
import { SourceUnreadable } from "../../dsl/load.js";
import { totalmem } from "node:os";
import { allowRead, maxMemory, parseArgs, one, UsageError } from "../args.js";
import { checkOutputFolder, checkOutputPath, printDiagnostics, writeAtomically } from "../output.js";
import { formatDuration, summarize } from "../summary.js";
import { createProgress, type Progress } from "../progress.js";

export const RUN_USAGE = "vmscn run FILE [--json FILE|-] [--trace FILE] [--html FILE] [--out DIR] [--plugin P]... [--allow-plugins] [--allow-read DIR]... [--seed N] [--check-invariants] [--max-memory SIZE]";

export async function runCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const args = parseArgs(argv, ["json", "trace", "html", "out", "plugin", "seed", "max-memory", "allow-read"], ["check-invariants", "allow-plugins"]);
  const maxMemoryBytes = maxMemory(args, totalmem());
  if (args.positionals.length !== 1) throw new UsageError(`run takes one scenario file\nusage: ${RUN_USAGE}`);
  const file = args.positionals[0]!;
  const seedText = one(args, "seed");
  const seed = seedText === undefined ? undefined : Number(seedText);
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new UsageError(`--seed needs an integer (got ${seedText})`);
  const json = one(args, "json");
  const tracePath = one(args, "trace");
  const htmlPath = one(args, "html");
  const outDir = one(args, "out");
  // An output that will be refused is refused now, before a run that may take an hour; it is
  // looked at again when written.
  for (const p of [json === "-" ? undefined : json, tracePath, htmlPath]) if (p) checkOutputPath(p);
  if (outDir) checkOutputFolder(outDir);
  // A progress bar on stderr for long runs, when stderr is a terminal (it draws nothing otherwise).
  let bar: Progress | undefined;
  const progress = (now: number, until: number | undefined): void => {
    if (until === undefined) return;
    bar ??= createProgress(process.stderr, { until });
    bar.update(now);
  };
  let outcome;
  try {
    outcome = await run(file, {
      ...(seed !== undefined ? { seed } : {}),
      plugins: args.options.get("plugin") ?? [],
      allowPlugins: args.flags.has("allow-plugins"),
      allowRead: allowRead(args),
      ...(outDir ? { outDir } : {}),
      checkInvariants: args.flags.has("check-invariants"),
      maxMemoryBytes,
      trace: Boolean(tracePath),
      progress,
    });
    bar?.done();
  } catch (err) {
    if (err instanceof SourceUnreadable) throw new UsageError(err.message);
    throw err;
  }
  printDiagnostics(outcome.diagnostics, outcome.sources);
  // A plugin that cannot be loaded or whose register throws stops the run like a plugin that
  // throws later: exit 3, as a failed run, not as an invalid scenario.
  if (outcome.diagnostics.some((d) => d.severity === "error" && d.code === "VMSCN0218")) return 3;
  if (outcome.failedPhase === "parse" || outcome.failedPhase === "validate") return 2;
  if (outcome.error) {
    process.stderr.write(`vmscn: error ${outcome.error.describe()}\n`);
    return 3;
  }
  const report = outcome.report!;
  if (outcome.summary?.reason === "horizon") {
    const open = outcome.kernel!.actionLog().filter((a) => a.state === "running" || a.state === "scheduled");
    process.stderr.write(`vmscn: warning: "run until done" stopped at ${formatDuration(report.simulatedTimeNs)}, ${formatDuration(outcome.kernel!.config.doneHorizonNs)} after the last action started; still running: ${open.map((a) => `${a.verb} at ${a.time / 1e9} s`).join(", ")}\n`);
  }
  if (json === "-") out(stableStringify(report));
  else out(summarize(report, outcome.kernel!.metrics.collectTables()));
  if (json && json !== "-") writeAtomically(json, `${stableStringify(report)}\n`);
  if (tracePath) writeAtomically(tracePath, outcome.kernel!.trace.toText());
  if (htmlPath) {
    const { renderHtml } = await import("../html/render.js");
    writeAtomically(htmlPath, await renderHtml({ report, series: outcome.kernel!.metrics.allSeries(), charts: outcome.kernel!.metrics.collectCharts() }));
  }
  const failed = outcome.expects.filter((e) => !e.passed);
  const log = json === "-" ? (s: string) => process.stderr.write(`${s}\n`) : out;
  if (outcome.expects.length > 0) {
    log("");
    for (const e of outcome.expects) log(`${e.passed ? "ok" : "FAILED"}  ${e.loc.file}:${e.loc.line}:${e.loc.column} expect ${e.text}${e.passed ? "" : `: ${e.message}`}`);
    log(`${outcome.expects.length - failed.length} of ${outcome.expects.length} expectations hold`);
  }
  return failed.length > 0 ? 1 : 0;
}
