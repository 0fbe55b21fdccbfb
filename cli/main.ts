// The `vmscn` command. Exit codes: 0 ok, 1 an expectation failed, 2 invalid input or usage,
// 3 a run failed or an internal error.
import "reflect-metadata";
import { VmscnError } from "../core/errors.js";
import { stableStringify } from "../core/report/json.js";
import { KERNEL_VERSION } from "../core/version.js";
import { TOKENS } from "../core/di/tokens.js";
import { createRunContainer } from "../core/run/container.js";
import type { Kernel } from "../core/run/kernel.js";
import { parseArgs, one, UsageError } from "./args.js";
import { poolWorkerTask, serveWorker } from "./pool.js";
import { runCommand, RUN_USAGE } from "./commands/run.js";
import { checkCommand, CHECK_USAGE } from "./commands/check.js";
import { testCommand, TEST_USAGE } from "./commands/test.js";
import { runConformanceFile } from "./commands/conformance.js";
import { describePlugins } from "./commands/plugins.js";
import { checkpointCommand, CHECKPOINT_USAGE } from "./commands/checkpoint.js";
import { builtinPlugins } from "../app/builtins.js";
import { loadPlugin } from "../core/plugin-host/load.js";
import { buildSmoke } from "./smoke.js";
import { checkOutputPath, writeAtomically } from "./output.js";
import { summarize } from "./summary.js";

const HELP = `vmscn ${KERNEL_VERSION}: a deterministic, page-accurate simulator of VM clusters

usage:
  ${RUN_USAGE}
  ${CHECK_USAGE}   diagnostics only; runs nothing
  ${TEST_USAGE}   a conformance suite, as TAP (vmscn test --help)
  vmscn plugins [--plugin P]...                          loaded plugins and the verbs they add
  ${CHECKPOINT_USAGE}     what a checkpoint file holds
  vmscn smoke [--seed N] [--json FILE|-] [--trace FILE]   kernel smoke run: a small built-in cluster
  vmscn selftest                                         resolve every service of a run (diagnostics)
  vmscn --version | --help

A scenario reads files in its own folder only (--allow-read DIR for more), and the plugins it
names load only with --allow-plugins (or when given with --plugin): see docs/security.md.

exit codes: 0 ok, 1 an expectation failed, 2 invalid input or usage, 3 the run failed`;

function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

async function smoke(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["seed", "json", "trace"], []);
  if (args.positionals.length > 0) throw new UsageError(`smoke takes no file (got ${args.positionals.join(" ")})`);
  const seed = Number(one(args, "seed") ?? 42);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed needs an integer (got ${one(args, "seed")})`);
  const json = one(args, "json");
  const tracePath = one(args, "trace");
  // Refused before the run, not after it (docs/cli.md, "Output files").
  for (const p of [json === "-" ? undefined : json, tracePath]) if (p) checkOutputPath(p);
  const k = buildSmoke(seed);
  if (tracePath) k.trace.enabled = true;
  k.run(5_000_000_000);
  const report = k.report("smoke");
  if (json === "-") out(stableStringify(report));
  else {
    out(summarize(report));
    if (json) writeAtomically(json, `${stableStringify(report)}\n`);
  }
  if (tracePath) writeAtomically(tracePath, k.trace.toText());
  return 0;
}

async function plugins(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["plugin"], []);
  const k = createRunContainer().resolve<Kernel>(TOKENS.Kernel);
  const extra = await Promise.all((args.options.get("plugin") ?? []).map((p) => loadPlugin(p)));
  await k.plugins.registerAll([...builtinPlugins.map((plugin) => ({ plugin })), ...extra]);
  out(describePlugins(k.plugins.plugins(), k.plugins.allVerbs(), k.plugins.allHypercalls()));
  return 0;
}

function selftest(): number {
  const c = createRunContainer();
  for (const [name, token] of Object.entries(TOKENS)) {
    const a = c.resolve(token);
    const b = c.resolve(token);
    if (a !== b) throw new Error(`${name} is not a singleton within a run`);
    out(`ok ${name}`);
  }
  const other = createRunContainer();
  if (other.resolve(TOKENS.Scheduler) === c.resolve(TOKENS.Scheduler)) throw new Error("two runs share a scheduler");
  out("ok runs are isolated");
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "smoke":
      return smoke(rest);
    case "run":
      return runCommand(rest, out);
    case "check":
      return checkCommand(rest, out);
    case "test":
      return testCommand(rest, out, new URL(import.meta.url));
    case "checkpoint":
      return checkpointCommand(rest, out);
    case "plugins":
      return plugins(rest);
    case "selftest":
      return selftest();
    case "--version":
      out(KERNEL_VERSION);
      return 0;
    case undefined:
    case "--help":
    case "help":
      out(HELP);
      return cmd === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

// The same file serves as a worker of `vmscn test`'s pool.
if (poolWorkerTask() === "conformance") serveWorker(runConformanceFile);
else main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`vmscn: ${err.message}\nrun \`vmscn --help\` for usage\n`);
      process.exitCode = 2;
    } else if (err instanceof VmscnError) {
      // A failed run: the sentence, never a stack trace.
      process.stderr.write(`vmscn: error ${err.describe()}\n`);
      process.exitCode = 3;
    } else {
      process.stderr.write(`vmscn: internal error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 3;
    }
  },
);
