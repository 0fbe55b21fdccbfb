// `vmscn check FILE...`: every diagnostic of every file, nothing run: the plugins a scenario
// names are listed, never imported (docs/security.md).
import { check } from "../../app/pipeline.js";
import { SourceUnreadable } from "../../dsl/load.js";
import { allowRead, parseArgs, UsageError } from "../args.js";
import { printDiagnostics } from "../output.js";

export const CHECK_USAGE = "vmscn check FILE... [--plugin P]... [--allow-read DIR]...";

export async function checkCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const args = parseArgs(argv, ["plugin", "allow-read"], ["allow-plugins"]);
  if (args.flags.has("allow-plugins")) {
    throw new UsageError("check never loads the plugins a scenario names; to check the verbs one adds, name it with --plugin P");
  }
  if (args.positionals.length === 0) throw new UsageError(`check takes one or more scenario files\nusage: ${CHECK_USAGE}`);
  const allowed = allowRead(args);
  let failed = false;
  for (const file of args.positionals) {
    let outcome;
    try {
      outcome = await check(file, { plugins: args.options.get("plugin") ?? [], allowRead: allowed });
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
