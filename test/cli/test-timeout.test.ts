// `vmscn test`'s time limit per file: a file still running at the limit (one that would run for
// days of wall time, one blocked reading a FIFO) fails with VMSCN8101 and the suite goes on.
import "reflect-metadata";
import t from "tap";
import { join } from "node:path";
import { runPool } from "../../cli/pool.js";
import { fileTimeoutMs, runConformanceFile, workerFailure, TIMEOUT_HELP, type ConformanceTask } from "../../cli/commands/conformance.js";
import { tapFile, type TapFile } from "../../cli/tap.js";
import { UsageError } from "../../cli/args.js";

// The pool's workers are this same CLI entry (it serves conformance tasks in a worker process).
const MAIN = new URL("../../cli/main.ts", import.meta.url);

// Ten million 1 ms workload ticks and a million samples: hours of wall time.
const ENDLESS = `# description: never ends in any reasonable time
scenario "endless" {
  host a { cpus 4  memory 4 GiB }
  vm web on a { vcpus 1  memory 64 MiB  workload { writes 1000 pages/s uniform } }
  at 0 s: start web
  run until 100000 s
}
`;
const SMALL = `# description: small
scenario "small" {
  host a { cpus 4  memory 4 GiB }
  vm web on a { vcpus 1  memory 64 MiB  workload { writes 1000 pages/s sequential } }
  at 0 s: start web
  run until 9 ms
  expect web.accesses.writes == 10
}
`;

t.test("a file past the limit fails with VMSCN8101; the files before and after it run", async (t) => {
  const dir = t.testdir({ "a.vmscn": SMALL, "b-endless.vmscn": ENDLESS, "c.vmscn": SMALL });
  const names = ["a.vmscn", "b-endless.vmscn", "c.vmscn"];
  const tasks: ConformanceTask[] = names.map((n) => ({ file: join(dir, n), plugins: [], cwd: dir }));
  const results = await runPool<ConformanceTask, TapFile>(tasks, MAIN, { task: "conformance", concurrency: 1, taskTimeoutMs: 5000 });
  const files = results.map((r, i) => (r.ok ? r.value : workerFailure(names[i]!, r.error)));
  t.same(files.map((f) => f.ok !== false && f.expectations.every((e) => e.ok)), [true, false, true]);
  t.equal(
    tapFile(2, files[1]!),
    'not ok 2 - b-endless.vmscn\n  ---\n  message: "VMSCN8101: still running after 5 s, the time limit of one task; its worker was stopped and the others go on"\n  severity: fail\n  code: VMSCN8101\n  ...\n',
  );
  t.match(tapFile(3, files[2]!), /ok 1 - line 7: expect web\.accesses\.writes == 10\nok 3 - c\.vmscn\n/);
});

t.test("--timeout SECONDS: the limit in ms, 0 for none; anything else is a usage error", async (t) => {
  t.equal(fileTimeoutMs(undefined), 300_000);
  t.equal(fileTimeoutMs("90"), 90_000);
  t.equal(fileTimeoutMs("0.5"), 500);
  t.equal(fileTimeoutMs("0"), 0);
  for (const bad of ["-1", "ten", "1e3", "", "3000000"]) {
    t.throws(() => fileTimeoutMs(bad), new UsageError(`--timeout needs a number of seconds from 0 to 2000000, 0 for no limit (got ${bad})`), bad);
  }
  t.match(TIMEOUT_HELP, /--timeout SECONDS .*default 300/);
});

t.test("a worker that died is reported as before", async (t) => {
  t.same(workerFailure("x.vmscn", { name: "Error", message: "the worker exited with code 7 while running this task", crashed: true }), {
    name: "x.vmscn",
    expectations: [],
    ok: false,
    diagnostics: { message: "the worker failed: the worker exited with code 7 while running this task" },
  });
  // The handler itself still runs in-process (as the pool's worker calls it).
  const dir = t.testdir({ "s.vmscn": SMALL });
  const r = await runConformanceFile({ file: join(dir, "s.vmscn"), plugins: [], cwd: dir });
  t.equal(r.expectations.length, 1);
});

t.test("docs/diagnostics.md lists the command's codes", async (t) => {
  const { readFileSync } = await import("node:fs");
  const { POOL_CODES } = await import("../../cli/pool.js");
  const doc = readFileSync(new URL("../../docs/diagnostics.md", import.meta.url), "utf8");
  for (const [code, meaning] of Object.entries(POOL_CODES)) t.ok(doc.includes(`| ${code} | ${meaning} |`), code);
});
