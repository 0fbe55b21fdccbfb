// `vmscn check FILE...`: every diagnostic of every file, nothing run.
import { check } from "../../app/pipeline.js";
import { SourceUnreadable } from "../../dsl/load.js";
import { parseArgs, UsageError } from "../args.js";
import { printDiagnostics } from "../output.js";

export async function checkCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const args = parseArgs(argv, ["plugin"], []);
  if (args.positionals.length === 0) throw new UsageError("check takes one or more scenario files\nusage: vmscn check FILE... [--plugin P]...");
  let failed = false;
  for (const file of args.positionals) {
    let outcome;
    try {
      outcome = await check(file, { plugins: args.options.get("plugin") ?? [] });
    } catch (err) {
      if (err instanceof SourceUnreadable) throw new UsageError(err.message);
      throw err;
    }
    printDiagnostics(outcome.diagnostics, outcome.sources);
    if (outcome.failedPhase) failed = true;
    else out(`${file}: ok${outcome.diagnostics.length ? ` (${outcome.diagnostics.length} warning${outcome.diagnostics.length === 1 ? "" : "s"})` : ""}`);
  }
  return failed ? 2 : 0;
}
