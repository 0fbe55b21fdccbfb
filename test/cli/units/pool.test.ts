// The worker pool: input order whatever the completion order, failures per item, and the
// bundled CLI starting itself as its own worker.
import t from "tap";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { poolWorkerTask, runPool, serveWorker, type PoolResult } from "../../../cli/pool.js";

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
    { name: "DataCloneError", message: "() => 1 could not be cloned.", code: undefined, crashed: false },
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
  t.equal(poolWorkerTask(), undefined, "the main thread is no pool worker");
  t.throws(() => serveWorker(() => 1), { message: "serveWorker: not in a worker thread" });
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
