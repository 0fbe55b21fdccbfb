// `vmscn test PATH...`: every .vmscn file under the paths as a conformance suite, run in
// parallel on a worker pool, reported as TAP version 14 in a stable order.
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { totalmem } from "node:os";
import { allowRead, maxMemory, parseArgs, one, UsageError } from "../args.js";
import { parseShard, selectShard } from "../shard.js";
import { runPool } from "../pool.js";
import { tapFile, tapFileOk, tapHeader, tapSummary, type TapFile } from "../tap.js";
import { fileTimeoutMs, TIMEOUT_HELP, type ConformanceTask } from "./conformance.js";

export const TEST_USAGE = "vmscn test PATH... [--shard i/n] [--jobs N] [--plugin P]... [--allow-plugins] [--allow-read DIR]... [--max-memory SIZE] [--timeout SECONDS]";

export const TEST_HELP = `usage: ${TEST_USAGE}

Runs every .vmscn file under the paths as a conformance suite (invariants checked) and prints TAP version 14.

  --shard i/n        run the i-th of n disjoint slices of the sorted file list
  --jobs N           files at once on a pool of worker threads (default: the number of cores)
  --plugin P         load a plugin (a .js or .ts file, or an npm package vmscn-plugin-*); repeatable
  --allow-plugins    load the plugins the files name (\`use plugin\`): their code runs; without it such
                     a file fails with VMSCN0240
  --allow-read DIR   let the files read (import, trace) in DIR too, besides the folder given as PATH;
                     repeatable (docs/security.md)
  --max-memory SIZE  the memory one file's run may take (8GiB, 512MiB; default 80% of this machine's):
                     each file's need is estimated before it runs, and a file over the limit fails
                     with VMSCN0223, its estimate and its largest contributors, while the others run
${TIMEOUT_HELP}`;

export async function testCommand(argv: string[], out: (s: string) => void, self: URL, machineBytes = totalmem()): Promise<number> {
  const args = parseArgs(argv, ["shard", "jobs", "plugin", "max-memory", "allow-read", "timeout"], ["help", "allow-plugins"]);
  if (args.flags.has("help")) {
    out(TEST_HELP);
    return 0;
  }
  if (args.positionals.length === 0) throw new UsageError(`test takes one or more files or folders\nusage: ${TEST_USAGE}`);
  // Per file: each file is estimated before it runs, and one too big fails alone (VMSCN0223).
  const maxMemoryBytes = maxMemory(args, machineBytes);
  const shardText = one(args, "shard");
  const shard = shardText === undefined ? undefined : parseShard(shardText);
  const jobsText = one(args, "jobs");
  const jobs = jobsText === undefined ? undefined : Number(jobsText);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) throw new UsageError(`--jobs needs a whole number ≥ 1 (got ${jobsText})`);
  const taskTimeoutMs = fileTimeoutMs(one(args, "timeout"));
  const cwd = process.cwd();
  const allowed = allowRead(args, cwd);
  // A file may read the tree of the folder it was found under (the user named that folder).
  const roots = new Map<string, string>();
  for (const p of args.positionals) {
    const root = resolve(p);
    for (const f of discover(root)) if (!roots.has(f)) roots.set(f, f === root ? dirname(f) : root);
  }
  // Relative paths, so every machine of a sharded suite sorts the same list the same way.
  const files = selectShard([...roots.keys()].map((f) => relative(cwd, f)), shard);
  const tasks: ConformanceTask[] = files.map((f) => ({
    file: resolve(f),
    plugins: args.options.get("plugin") ?? [],
    cwd,
    maxMemoryBytes,
    allowPlugins: args.flags.has("allow-plugins"),
    allowRead: [roots.get(resolve(f))!, ...allowed],
  }));
  out(tapHeader(tasks.length));
  const results: TapFile[] = [];
  let n = 0;
  await runPool<ConformanceTask, TapFile>(tasks, self, {
    task: "conformance",
    taskTimeoutMs,
    ...(jobs !== undefined ? { concurrency: jobs } : {}),
    onResult: (r, i) => {
      // A file past its time limit (VMSCN8101) or a worker that died fails alone; the suite goes on.
      const file: TapFile = r.ok ? r.value : { name: files[i]!, expectations: [], ok: false, diagnostics: { message: r.error.timedOut ? r.error.message : `the worker failed: ${r.error.message}`, ...(r.error.code ? { code: r.error.code } : {}) } };
      results.push(file);
      out(tapFile(++n, file).replace(/\n$/, ""));
    },
  });
  out(tapSummary(results).replace(/\n$/, ""));
  return results.every(tapFileOk) ? 0 : 1;
}

function discover(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`${path} does not exist`);
  }
  if (st.isFile()) return [path];
  if (!st.isDirectory()) throw new UsageError(`${path} is neither a file nor a folder`);
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(path, entry.name);
    // Links are not followed: a linked file could lead the suite out of the folder it was given.
    if (entry.isDirectory()) out.push(...discover(p));
    else if (entry.name.endsWith(".vmscn") && !entry.isSymbolicLink()) out.push(p);
  }
  return out;
}
