// The worker pool: input order whatever the completion order, failures per item, and the
// bundled CLI starting itself as its own worker.
import t from "tap";
import { spawnSync } from "node:child_process";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { DEFAULT_TASK_TIMEOUT_MS, poolWorkerTask, runPool, serveWorker, timeoutError, type PoolResult } from "../../../cli/pool.js";

const fixture = new URL("./fixtures/pool-worker.ts", import.meta.url);

t.test("results come back in input order, and onResult sees them in that order", async (t) => {
  const items = [1, 2, 3, 4, 5, 6];
  const seen: number[] = [];
  const results = await runPool<number, { n: number; square: number }>(items, fixture, {
    task: "square",
    concurrency: 3,
    onResult: (r, i) => {
      t.ok(r.ok);
      seen.push(i);
    },
  });
  t.same(results, items.map((n) => ({ ok: true, value: { n, square: n * n } })));
  t.same(seen, [0, 1, 2, 3, 4, 5]);
});

t.test("concurrency defaults to the machine's and is capped by the items", async (t) => {
  const results = await runPool<number, { square: number }>([3], fixture, { task: "square" });
  t.same(results, [{ ok: true, value: { n: 3, square: 9 } }]);
  t.same(await runPool([], fixture), []);
});

t.test("a failing task or a dying worker fails that item only", async (t) => {
  const items = ["a", "throw", "exit", "b", "uncaught", "throw-string", "unclonable", "c"];
  const results = await runPool<string, string>(items, fixture, { task: "faulty", concurrency: 2 });
  const brief = (r: PoolResult<string>) => (r.ok ? r.value : { name: r.error.name, message: r.error.message, code: r.error.code, crashed: r.error.crashed });
  t.same(results.map(brief), [
    "done a",
    { name: "Error", message: "the task failed", code: "VMSCN0001", crashed: false },
    { name: "Error", message: "the worker exited with code 7 while running this task", code: undefined, crashed: true },
    "done b",
    { name: "Error", message: "boom outside the task", code: undefined, crashed: true },
    { name: "Error", message: "a bare string", code: undefined, crashed: false },
    { name: "Error", message: "() => 1 could not be cloned.", code: undefined, crashed: false },
    "done c",
  ]);
  const thrown = results[1]!;
  t.ok(!thrown.ok && thrown.error.stack?.includes("pool-worker.ts"), "the stack points into the worker");
});

t.test("a worker that will not exit is terminated after the close timeout", async (t) => {
  const results = await runPool<number, number>([1, 2], fixture, { task: "linger", concurrency: 1, closeTimeoutMs: 50 });
  t.same(results, [
    { ok: true, value: 2 },
    { ok: true, value: 3 },
  ]);
});

t.test("a task over its time limit fails with VMSCN8101, its worker is killed, and the others go on", async (t) => {
  // A task that never returns and one blocked in a read of a FIFO nobody writes (a thread could
  // not be stopped there; a process can).
  const dir = t.testdir({});
  const fifo = join(dir, "fifo");
  execFileSync("mkfifo", [fifo]);
  const items = ["a", "loop", "b", `fifo:${fifo}`, "c"];
  const seen: number[] = [];
  const results = await runPool<string, string>(items, fixture, { task: "hang", concurrency: 2, taskTimeoutMs: 3000, onResult: (_r, i) => void seen.push(i) });
  const brief = (r: PoolResult<string>) => (r.ok ? r.value : { code: r.error.code, message: r.error.message, crashed: r.error.crashed, timedOut: r.error.timedOut });
  const over = { code: "VMSCN8101", message: "VMSCN8101: still running after 3 s, the time limit of one task; its worker was stopped and the others go on", crashed: true, timedOut: true };
  t.same(results.map(brief), ["done a", over, "done b", over, "done c"]);
  t.same(seen, [0, 1, 2, 3, 4], "in input order");
  t.same(timeoutError(300_000).message, "VMSCN8101: still running after 300 s, the time limit of one task; its worker was stopped and the others go on");
  t.equal(DEFAULT_TASK_TIMEOUT_MS, 300_000, "five minutes unless told otherwise");
});

t.test("no time limit with taskTimeoutMs 0", async (t) => {
  t.same(await runPool<string, string>(["x"], fixture, { task: "hang", taskTimeoutMs: 0 }), [{ ok: true, value: "done x" }]);
});

t.test("a worker module that cannot load fails every item, and the pool still resolves", async (t) => {
  const results = await runPool([1, 2, 3], new URL("./fixtures/no-such-worker.ts", import.meta.url), { concurrency: 2 });
  t.equal(results.length, 3);
  for (const r of results) t.ok(!r.ok && r.error.crashed && /no-such-worker/.test(r.error.message), "each item failed with the load error");
});

t.test("an onResult that throws rejects the pool once every worker has stopped", async (t) => {
  await t.rejects(
    runPool([1, 2], fixture, {
      task: "square",
      onResult: () => {
        throw new Error("callback bug");
      },
    }),
    { message: "callback bug" },
  );
});

t.test("bad arguments and the main thread", async (t) => {
  await t.rejects(runPool([1], fixture, { concurrency: 0 }), { message: "runPool: concurrency must be a whole number ≥ 1 (got 0)" });
  await t.rejects(runPool([1], fixture, { taskTimeoutMs: -1 }), { message: "runPool: taskTimeoutMs must be ≥ 0 (got -1)" });
  t.equal(poolWorkerTask(), undefined, "the main process is no pool worker");
  t.throws(() => serveWorker(() => 1), { message: "serveWorker: not in a pool worker" });
});

t.test("a single-file ESM bundle starts itself as its workers", async (t) => {
  // The shape the CLI bundle uses: main checks poolWorkerTask() before doing anything else.
  const dir = t.testdir({});
  const entry = join(dir, "entry.ts");
  const pool = fileURLToPath(new URL("../../../cli/pool.ts", import.meta.url));
  writeFileSync(
    entry,
    [
      `import { poolWorkerTask, runPool, serveWorker } from ${JSON.stringify(pool)};`,
      `const task = poolWorkerTask();`,
      `if (task === "double") serveWorker((n: number) => n * 2);`,
      `else {`,
      `  const results = await runPool([1, 2, 3], new URL(import.meta.url), { task: "double", concurrency: 2 });`,
      `  console.log(JSON.stringify({ argv: process.argv.slice(2), results }));`,
      `}`,
    ].join("\n"),
  );
  const outfile = join(dir, "bundle.js");
  await build({ entryPoints: [entry], bundle: true, platform: "node", target: "node20", format: "esm", outfile, logLevel: "silent" });
  const r = spawnSync(process.execPath, [outfile, "test", "x.vmscn"], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), {
    argv: ["test", "x.vmscn"],
    results: [
      { ok: true, value: 2 },
      { ok: true, value: 4 },
      { ok: true, value: 6 },
    ],
  });
});
