// `vmscn test --max-memory`: each file is estimated before it runs; one over the limit fails
// with VMSCN0223, its estimate and its largest contributors, and the others run.
import "reflect-metadata";
import t, { type Test } from "tap";
import { writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { testCommand, TEST_HELP } from "../../cli/commands/test.js";
import { runConformanceFile } from "../../cli/commands/conformance.js";
import { UsageError } from "../../cli/args.js";

// The pool's workers are this same CLI entry (it serves conformance tasks in a worker process).
const MAIN = new URL("../../cli/main.ts", import.meta.url);

const BIG = `# description: too big for the machine
scenario "big" {
  host a { cpus 8  memory 1 TiB }
  vm huge on a { vcpus 4  memory 512 GiB }
  at 0 s: start huge
  run until 1 ms
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

async function suite(t: Test, entries: Record<string, string>, argv: string[], machineBytes?: number) {
  const dir = t.testdir(entries);
  const lines: string[] = [];
  const code = await testCommand([dir, "--jobs", "1", ...argv], (s) => lines.push(s), MAIN, machineBytes);
  return { code, out: lines.join("\n"), dir: relative(process.cwd(), dir) };
}

t.test("a file over the default limit (80% of the machine) fails with its estimate; the suite goes on", async (t) => {
  // The 1 TiB host's frame table (256 Mi frames × 12 B: 3072 MiB) + 512 GiB = 128 Mi pages × 5 B (640 MiB)
  // + 96 MiB + one series of 2 points (32 B): 3809 MiB, over 80% of a 4 GiB machine (3276.8 MiB).
  const r = await suite(t, { "big.vmscn": BIG, "small.vmscn": SMALL }, [], 4 * 2 ** 30);
  t.equal(r.code, 1);
  const at = `${r.dir}/big.vmscn:2:1`;
  t.ok(
    r.out.includes(
      `not ok 1 - ${r.dir}/big.vmscn\n  ---\n  message: "VMSCN0223: refused before it ran: this scenario would need about 3809 MiB of memory, more than the 3277 MiB allowed; the largest: host a (1 TiB): its frame table 3072 MiB; VM huge (512 GiB guest): page map 640 MiB; the simulator itself 96 MiB"\n  severity: fail\n  at: ${JSON.stringify(at)}\n  code: VMSCN0223\n  estimate: "3809 MiB"\n  max-memory: "3277 MiB"\n  largest:\n    - "host a (1 TiB): its frame table: 3072 MiB"\n    - "VM huge (512 GiB guest): page map: 640 MiB"\n    - "the simulator itself: 96 MiB"\n  ...\n`,
    ),
    r.out,
  );
  t.match(r.out, /ok 1 - line 7: expect web\.accesses\.writes == 10\nok 2 - .*small\.vmscn\n/);
  t.match(r.out, /# files 2: 1 passed, 1 failed, 0 skipped, 0 todo\n# expectations 1: 1 passed, 0 failed/);
});

t.test("--max-memory SIZE sets the limit per file, whatever the machine", async (t) => {
  const r = await suite(t, { "big.vmscn": BIG, "small.vmscn": SMALL }, ["--max-memory", "5900MiB"], 2 ** 30);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /# files 2: 2 passed, 0 failed/);
  await t.rejects(suite(t, { "small.vmscn": SMALL }, ["--max-memory", "lots"]), new UsageError("--max-memory needs a size such as 8GiB or 512MiB (got lots)"));
});

t.test("a negative file too big fails, unless it expects VMSCN0223", async (t) => {
  const dir = t.testdir({
    "neg-run.vmscn": BIG.replace("# description: too big for the machine", "# negative: {phase: run, code: VMSCN5002}"),
    "neg-limit.vmscn": BIG.replace("# description: too big for the machine", "# negative: {phase: validate, code: VMSCN0223}"),
  });
  const task = (f: string) => ({ file: join(dir, f), plugins: [], cwd: dir, maxMemoryBytes: 2 ** 30 });
  const run = await runConformanceFile(task("neg-run.vmscn"));
  t.equal(run.ok, false);
  t.equal(run.diagnostics?.["code"], "VMSCN0223");
  const limit = await runConformanceFile(task("neg-limit.vmscn"));
  t.same(limit.expectations.map((e) => e.ok), [true]);
  t.match(limit.expectations[0]!.description, /^fails in the validate phase with VMSCN0223: this scenario would need about 3809 MiB/);
  // Without a limit the file is not estimated at all.
  const none = await runConformanceFile({ ...task("neg-limit.vmscn"), maxMemoryBytes: undefined });
  t.same(none.expectations.map((e) => e.ok), [false]);
});

t.test("vmscn test --help names every option, --max-memory included", async (t) => {
  const lines: string[] = [];
  t.equal(await testCommand(["--help"], (s) => lines.push(s), MAIN), 0);
  t.equal(lines.join("\n"), TEST_HELP);
  t.match(TEST_HELP, /^usage: vmscn test PATH\.\.\. \[--shard i\/n\] \[--jobs N\] \[--plugin P\]\.\.\. \[--allow-plugins\] \[--allow-read DIR\]\.\.\. \[--max-memory SIZE\] \[--timeout SECONDS\]\n/);
  for (const o of ["--shard", "--jobs", "--plugin", "--allow-plugins", "--allow-read", "--max-memory", "--timeout"]) t.match(TEST_HELP, new RegExp(`\\n {2}${o} `));
  t.match(TEST_HELP, /default 80% of this machine's/);
  await t.rejects(testCommand([], () => undefined, MAIN), /test takes one or more files or folders\nusage: vmscn test PATH\.\.\. .*--max-memory SIZE/);
});
