// What a scenario may read (docs/security.md): imports, traces and restore paths only inside
// its folder tree (or --allow-read), regular files only, of a bounded size, and a file that
// does not look like a scenario never quoted. Every class with real files in a temp folder.
import t from "tap";
import { existsSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { definePlugin } from "../../core/api.js";
import { join } from "node:path";
import { check, run } from "../../app/pipeline.js";
import { MAX_IMPORT_DEPTH, SourceUnreadable } from "../../dsl/load.js";
import { SCENARIO_FILE_LIMIT } from "../../app/fs-policy.js";
import { codes, mkfifo, NO_FIFO, otherDir, scenarioWith, shown } from "./helpers.js";

const PLATFORM = "host b { cpus 1  memory 1 GiB }\n";

t.test("an import in the tree, also through a link that stays in it, is read", async (t) => {
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "sub/p.vmscn"\nimport "link.vmscn"'), sub: { "p.vmscn": PLATFORM, "q.vmscn": "host c { cpus 1  memory 1 GiB }\n" } });
  symlinkSync(join(dir, "sub/q.vmscn"), join(dir, "link.vmscn"));
  const o = await check(join(dir, "s.vmscn"));
  t.same(codes(o), []);
});

t.test("a link that leaves the tree is refused (VMSCN0241) and says where it leads; --allow-read lets it in", async (t) => {
  const outside = otherDir(t, { "p.vmscn": PLATFORM });
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "link.vmscn"') });
  symlinkSync(join(outside, "p.vmscn"), join(dir, "link.vmscn"));
  const o = await check(join(dir, "s.vmscn"));
  t.same(codes(o), [["VMSCN0241", 1, 8]]);
  t.match(o.diagnostics[0]!.message, /^cannot import "link\.vmscn": it is outside the folders this scenario may read \(it leads to .*p\.vmscn\)$/);
  t.match(o.diagnostics[0]!.hint, /pass --allow-read DIR/);
  t.same(codes(await check(join(dir, "s.vmscn"), { allowRead: [outside] })), []);
});

t.test("an absolute path or ../ out of the tree is refused; a link to a folder out of it too", async (t) => {
  const outside = otherDir(t, { "p.vmscn": PLATFORM });
  const dir = t.testdir({ "s.vmscn": scenarioWith(`import "${join(outside, "p.vmscn")}"`), "p.vmscn": PLATFORM, sub: { "s.vmscn": scenarioWith('import "../p.vmscn"\nimport "far/p.vmscn"') } });
  symlinkSync(outside, join(dir, "sub/far"));
  t.same(codes(await check(join(dir, "s.vmscn"))), [["VMSCN0241", 1, 8]]);
  // sub/s.vmscn's tree is sub/: its parent folder is outside it.
  t.same(codes(await check(join(dir, "sub/s.vmscn"))).map((c) => c[0]), ["VMSCN0241", "VMSCN0241"]);
});

t.test("/proc/self/environ: outside the tree; allowed, it is binary and none of it is shown", { skip: existsSync("/proc/self/environ") ? false : "no /proc on this system" }, async (t) => {
  process.env["VMSCN_TEST_SECRET"] = "hunter2-do-not-print";
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "/proc/self/environ"') });
  const o = await check(join(dir, "s.vmscn"));
  t.same(codes(o), [["VMSCN0241", 1, 8]]);
  const allowed = await check(join(dir, "s.vmscn"), { allowRead: ["/proc"] });
  t.same(codes(allowed), [["VMSCN0244", 1, 8]]);
  t.equal(allowed.diagnostics[0]!.message, 'cannot import "/proc/self/environ": it is not text (it has NUL bytes)');
  for (const out of [shown(o), shown(allowed)]) t.notMatch(out, /hunter2|VMSCN_TEST_SECRET|PATH=/);
  t.same([...allowed.sources.keys()], [join(dir, "s.vmscn")], "only the scenario's own text is kept for code frames");
});

t.test("a text file that is not a scenario is reported at the import without a word of it", async (t) => {
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "secrets.env"'), "secrets.env": "API_KEY=sk-live-4f9a8b7c6d\nDB_PASSWORD=correct-horse\n" });
  const o = await check(join(dir, "s.vmscn"));
  t.same(codes(o), [["VMSCN0244", 1, 8]]);
  t.equal(o.diagnostics[0]!.message, 'cannot import "secrets.env": it does not look like a scenario: it is not a .vmscn file, and it does not parse');
  t.notMatch(shown(o), /sk-live|correct-horse|API_KEY/);
});

t.test("a link named .vmscn to a text file that is not a scenario is not quoted either, even where reading is allowed", async (t) => {
  const outside = otherDir(t, { "token.txt": "ghp_0123456789abcdef\n" });
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "p.vmscn"') });
  symlinkSync(join(outside, "token.txt"), join(dir, "p.vmscn"));
  const o = await check(join(dir, "s.vmscn"), { allowRead: [outside] });
  t.same(codes(o), [["VMSCN0244", 1, 8]]);
  t.notMatch(shown(o), /ghp_/);
  const direct = await check(join(dir, "p.vmscn"));
  t.same(codes(direct), [["VMSCN0244", 1, 1]]);
  t.notMatch(shown(direct), /ghp_/);
});

t.test("a binary file named .vmscn is not parsed nor quoted; UTF-16 gets a hint", async (t) => {
  const binary = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0x53, 0x45, 0x43, 0x52, 0x45, 0x54, 0, 0xff, 0xfe]);
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(PLATFORM, "utf16le")]);
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "bin.vmscn"\nimport "wide.vmscn"'), "bin.vmscn": binary, "wide.vmscn": utf16 });
  const o = await check(join(dir, "s.vmscn"));
  t.same(codes(o), [["VMSCN0244", 1, 8], ["VMSCN0244", 2, 8]]);
  t.equal(o.diagnostics[0]!.message, 'cannot import "bin.vmscn": it is not text (it has NUL bytes)');
  t.equal(o.diagnostics[1]!.message, 'cannot import "wide.vmscn": it looks like UTF-16 text; vmscn reads UTF-8 (save the file as UTF-8)');
  t.notMatch(shown(o), /SECRET|ELF/);
});

t.test("a .vmscn file with mistakes is a scenario: its own diagnostics are shown with its lines", async (t) => {
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "p.vmscn"'), "p.vmscn": "host b { cpus 1  memory 1 GiB\n" });
  const o = await check(join(dir, "s.vmscn"));
  t.equal(o.diagnostics[0]!.loc.file, join(dir, "p.vmscn"));
  t.match(shown(o), /host b \{ cpus 1 {2}memory 1 GiB/);
});

t.test("a FIFO is refused before it is opened (VMSCN0242): nothing blocks", { skip: NO_FIFO }, async (t) => {
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "pipe.vmscn"') });
  t.ok(mkfifo(join(dir, "pipe.vmscn")));
  const o = await check(join(dir, "s.vmscn"));
  t.same(codes(o), [["VMSCN0242", 1, 8]]);
  t.equal(o.diagnostics[0]!.message, 'cannot import "pipe.vmscn": it is a FIFO (named pipe), not a regular file');
  // Named on the command line: it cannot be read either.
  const err: unknown = await check(join(dir, "pipe.vmscn")).catch((e: unknown) => e);
  t.ok(err instanceof SourceUnreadable, "the CLI turns it into a usage error (exit 2)");
  t.equal((err as Error).message, `cannot read ${join(dir, "pipe.vmscn")}: it is a FIFO (named pipe), not a regular file (VMSCN0242)`);
});

t.test("/dev/zero: outside the tree; allowed, it is a device and is not opened", { skip: existsSync("/dev/zero") ? false : "no /dev/zero on this system" }, async (t) => {
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "/dev/zero"') });
  t.same(codes(await check(join(dir, "s.vmscn"))), [["VMSCN0241", 1, 8]]);
  const o = await check(join(dir, "s.vmscn"), { allowRead: ["/dev"] });
  t.same(codes(o), [["VMSCN0242", 1, 8]]);
  t.equal(o.diagnostics[0]!.message, 'cannot import "/dev/zero": it is a character device, not a regular file');
  await t.rejects(check("/dev/zero"), /cannot read \/dev\/zero: it is a character device, not a regular file \(VMSCN0242\)/);
});

t.test("a folder is not a regular file", async (t) => {
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "platform.vmscn"'), "platform.vmscn": {} });
  const o = await check(join(dir, "s.vmscn"));
  t.same(codes(o), [["VMSCN0242", 1, 8]]);
  t.equal(o.diagnostics[0]!.message, 'cannot import "platform.vmscn": it is a folder, not a regular file');
});

t.test("a file over 16 MiB is refused before it is read (VMSCN0243); so is a scenario's total over 64 MiB", async (t) => {
  const dir = t.testdir({ "s.vmscn": scenarioWith('import "big.vmscn"') });
  writeFileSync(join(dir, "big.vmscn"), "");
  truncateSync(join(dir, "big.vmscn"), SCENARIO_FILE_LIMIT + 1);
  const o = await check(join(dir, "s.vmscn"));
  t.same(codes(o), [["VMSCN0243", 1, 8]]);
  t.equal(o.diagnostics[0]!.message, 'cannot import "big.vmscn": it is 16.0 MiB, more than the 16 MiB a scenario file may have');
  await t.rejects(check(join(dir, "big.vmscn")), /\(VMSCN0243\)$/);

  // Five files of 15 MiB (NUL bytes, each refused once read): the fifth brings the total over 64 MiB.
  const names = ["a", "b", "c", "d", "e"].map((n) => `${n}.vmscn`);
  for (const n of names) {
    writeFileSync(join(dir, n), "");
    truncateSync(join(dir, n), 15 * 2 ** 20);
  }
  writeFileSync(join(dir, "many.vmscn"), scenarioWith(names.map((n) => `import "${n}"`).join("\n")));
  const many = await check(join(dir, "many.vmscn"));
  t.same(many.diagnostics.map((d) => d.code), ["VMSCN0244", "VMSCN0244", "VMSCN0244", "VMSCN0244", "VMSCN0243"]);
  t.match(many.diagnostics[4]!.message, /^cannot import "e\.vmscn": with it, this scenario's files come to more than 64 MiB$/);
});

t.test("the file named on the command line: read wherever it is, but never quoted unless it looks like a scenario", async (t) => {
  const dir = t.testdir({ "notes.txt": "password: swordfish\n", "s.vmscn": scenarioWith("") });
  const o = await check(join(dir, "notes.txt"));
  t.same(codes(o), [["VMSCN0244", 1, 1]]);
  t.equal(o.failedPhase, "parse");
  t.equal(o.diagnostics[0]!.message, "notes.txt: it does not look like a scenario: it is not a .vmscn file, and it does not parse");
  t.same([...o.sources.keys()], []);
  t.notMatch(shown(o), /swordfish/);
  writeFileSync(join(dir, "bin.vmscn"), Buffer.from([1, 0, 2, 0, 0, 0, 0x41]));
  t.same(codes(await check(join(dir, "bin.vmscn"))), [["VMSCN0244", 1, 1]]);
  // A scenario under another name is still a scenario.
  writeFileSync(join(dir, "s.txt"), scenarioWith(""));
  t.same(codes(await check(join(dir, "s.txt"))), []);
});

t.test(`a 20,000-deep import chain stops at ${MAX_IMPORT_DEPTH} with VMSCN0245, no stack overflow`, async (t) => {
  const dir = t.testdir({});
  const depth = 20_000;
  for (let i = 1; i <= depth; i++) writeFileSync(join(dir, `c${i}.vmscn`), `import "c${i + 1}.vmscn"\n`);
  writeFileSync(join(dir, `c${depth + 1}.vmscn`), PLATFORM);
  writeFileSync(join(dir, "s.vmscn"), scenarioWith('import "c1.vmscn"'));
  const o = await check(join(dir, "s.vmscn"));
  t.same(o.diagnostics.map((d) => [d.code, d.loc.file, d.loc.line, d.loc.column]), [["VMSCN0245", join(dir, `c${MAX_IMPORT_DEPTH}.vmscn`), 1, 8]]);
  t.equal(o.diagnostics[0]!.message, `cannot import "c${MAX_IMPORT_DEPTH + 1}.vmscn": imports nest more than ${MAX_IMPORT_DEPTH} deep here`);
  // Exactly the limit is fine.
  writeFileSync(join(dir, `c${MAX_IMPORT_DEPTH}.vmscn`), PLATFORM);
  t.same(codes(await check(join(dir, "s.vmscn"))), []);
});

const TRACED = (path: string) => `scenario "s" {
  host a { cpus 1  memory 1 GiB }
  vm web on a { vcpus 1  memory 4 MiB  workload { trace "${path}" } }
  at 0 s: start web
  run until 1 s
}
`;

t.test("a workload trace follows the same rules, checked before the run", async (t) => {
  const outside = otherDir(t, { "w.trace": "0 write 1\n" });
  const dir = t.testdir({ "s.vmscn": "", "bin.trace": Buffer.from([0x31, 0, 0x20]), traces: {} });
  const cases: [string, string, RegExp][] = [
    [join(outside, "w.trace"), "VMSCN0241", /it is outside the folders this scenario may read$/],
    ["traces", "VMSCN0242", /it is a folder, not a regular file$/],
    ["bin.trace", "VMSCN0244", /it is not text \(it has NUL bytes\)$/],
  ];
  if (existsSync("/dev/zero")) cases.push(["/dev/zero", "VMSCN0241", /outside/]);
  if (!NO_FIFO && mkfifo(join(dir, "pipe.trace"))) cases.push(["pipe.trace", "VMSCN0242", /it is a FIFO \(named pipe\), not a regular file$/]);
  else t.comment(`no FIFO case: ${NO_FIFO}`);
  for (const [path, code, message] of cases) {
    writeFileSync(join(dir, "s.vmscn"), TRACED(path));
    const o = await run(join(dir, "s.vmscn"));
    t.same(codes(o), [[code, 3, 57]], path);
    t.match(o.diagnostics[0]!.message, message, path);
    t.equal(o.report, undefined, `${path}: nothing ran`);
  }
  // Allowed: it reaches the kernel's trace reader.
  writeFileSync(join(dir, "s.vmscn"), TRACED(join(outside, "w.trace")));
  t.same(codes(await check(join(dir, "s.vmscn"), { allowRead: [outside] })), []);
});

t.test("a trace swapped after the check is refused when the kernel reads it", async (t) => {
  const outside = otherDir(t, { "w.trace": "0 w 1\n" });
  const dir = t.testdir({});
  writeFileSync(
    join(dir, "s.vmscn"),
    `scenario "s" {
  host a { cpus 1  memory 1 GiB }
  vm web on a { vcpus 1  memory 4 MiB  workload { trace "w.trace" } }
  at 0 s: start web
  at 0 s: swap
  run until 1 s
}
`,
  );
  // The file is swapped by a verb's validation check: after the read policy's check of the
  // trace, before the kernel reads it when it creates the VM.
  const swapper = (swap: () => void) =>
    definePlugin({
      name: "swapper",
      version: "1.0.0",
      kernel: "^1",
      register(k) {
        k.verb("swap", { description: "swaps the trace file", args: [], options: {}, run() {}, check: () => (swap(), []) });
      },
    });
  const trace = join(dir, "w.trace");
  const cases: [string, () => void, RegExp][] = [
    ["a link out of the tree", () => (rmSync(trace), symlinkSync(join(outside, "w.trace"), trace)), /it is outside the folders this scenario may read \(it leads to .*w\.trace\) \(VMSCN0241\)$/],
    ["a binary file", () => writeFileSync(trace, Buffer.from([0x30, 0x20, 0, 0x31])), /it is not text \(it has NUL bytes\) \(VMSCN0244\)$/],
    ["a folder", () => (rmSync(trace), mkdirSync(trace)), /it is a folder, not a regular file \(VMSCN0242\)$/],
  ];
  if (!NO_FIFO) cases.push(["a FIFO", () => (rmSync(trace), mkfifo(trace)), /it is a FIFO \(named pipe\), not a regular file \(VMSCN0242\)$/]);
  for (const [what, swap, message] of cases) {
    rmSync(trace, { recursive: true, force: true });
    writeFileSync(trace, "0 w 1\n");
    const o = await run(join(dir, "s.vmscn"), { pluginObjects: [swapper(swap)] });
    t.same(codes(o), [], `${what}: the check passed`);
    t.equal(o.error?.code, "VMSCN5013", what);
    t.match(o.error?.message, message, what);
  }
  // Untouched, the same scenario runs and replays its one write.
  rmSync(trace, { recursive: true, force: true });
  writeFileSync(trace, "0 w 1\n");
  const o = await run(join(dir, "s.vmscn"), { pluginObjects: [swapper(() => {})] });
  t.equal(o.error, undefined);
  t.equal((o.report as unknown as { vms: Record<string, { accesses: { writes: number } }> }).vms.web!.accesses.writes, 1);
});

t.test("restore { path } reads only in the tree, --allow-read or --out; a missing file is still the run's VMSCN7306", async (t) => {
  const outside = otherDir(t, { "x.ckpt": "not a checkpoint" });
  const dir = t.testdir({});
  const text = (path: string) => `scenario "s" {
  host a { cpus 1  memory 1 GiB }
  datastore san { shared-by a  bandwidth 1 GB/s }
  vm web on a { vcpus 1  memory 4 MiB  disk san 1 GiB }
  at 1 s: restore web from san { path "${path}" }
  run until 2 s
}
`;
  writeFileSync(join(dir, "s.vmscn"), text(join(outside, "x.ckpt")));
  const o = await check(join(dir, "s.vmscn"));
  t.same(codes(o), [["VMSCN0241", 5, 39]]);
  t.equal(o.diagnostics[0]!.message, `cannot read the checkpoint file "${join(outside, "x.ckpt")}": it is outside the folders this scenario may read`);
  t.same(codes(await check(join(dir, "s.vmscn"), { allowRead: [outside] })), []);
  t.same(codes(await check(join(dir, "s.vmscn"), { outDir: outside })), []);
  mkdirSync(join(dir, "d.ckpt"));
  writeFileSync(join(dir, "s.vmscn"), text(join(dir, "d.ckpt")));
  t.same(codes(await check(join(dir, "s.vmscn"))), [["VMSCN0242", 5, 39]]);
  writeFileSync(join(dir, "s.vmscn"), text(join(outside, "missing.ckpt")));
  t.same(codes(await check(join(dir, "s.vmscn"))), [], "missing: left to the plugin at run time");
});
