// `vmscn test PATH...`: every .vmscn file under the paths as a conformance suite, run in
// parallel on a worker pool, reported as TAP version 14 in a stable order.
import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs, one, UsageError } from "../args.js";
import { parseShard, selectShard } from "../shard.js";
import { runPool } from "../pool.js";
import { tapFile, tapFileOk, tapHeader, tapSummary, type TapFile } from "../tap.js";
import type { ConformanceTask } from "./conformance.js";

export async function testCommand(argv: string[], out: (s: string) => void, self: URL): Promise<number> {
  const args = parseArgs(argv, ["shard", "jobs", "plugin"], []);
  if (args.positionals.length === 0) throw new UsageError("test takes one or more files or folders\nusage: vmscn test PATH... [--shard i/n] [--jobs N] [--plugin P]...");
  const shardText = one(args, "shard");
  const shard = shardText === undefined ? undefined : parseShard(shardText);
  const jobsText = one(args, "jobs");
  const jobs = jobsText === undefined ? undefined : Number(jobsText);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) throw new UsageError(`--jobs needs a whole number ≥ 1 (got ${jobsText})`);
  const cwd = process.cwd();
  // Relative paths, so every machine of a sharded suite sorts the same list the same way.
  const files = selectShard(args.positionals.flatMap((p) => discover(resolve(p))).map((f) => relative(cwd, f)), shard);
  const tasks: ConformanceTask[] = files.map((f) => ({ file: resolve(f), plugins: args.options.get("plugin") ?? [], cwd }));
  out(tapHeader(tasks.length));
  const results: TapFile[] = [];
  let n = 0;
  await runPool<ConformanceTask, TapFile>(tasks, self, {
    task: "conformance",
    ...(jobs !== undefined ? { concurrency: jobs } : {}),
    onResult: (r, i) => {
      const file: TapFile = r.ok ? r.value : { name: files[i]!, expectations: [], ok: false, diagnostics: { message: `the worker failed: ${r.error.message}` } };
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
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) out.push(...discover(p));
    else if (entry.name.endsWith(".vmscn")) out.push(p);
  }
  return out;
}
