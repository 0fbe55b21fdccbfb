// Output files (--json, --trace, --html): written through an exclusive temporary file with an
// unpredictable name, then renamed; never to a device, a FIFO, a socket, a symbolic link, a
// folder or a pseudo file system's file, which are refused before anything is written (one
// line, exit 2 through the bundle); no temporary file is ever left behind.
import t, { type Test } from "tap";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { OutputRefused, checkOutputPath, writeAtomically } from "../../cli/output.js";
import { UsageError } from "../../cli/args.js";

const bundle = fileURLToPath(new URL("../../dist/vmscn.js", import.meta.url));
const SCENARIO = 'scenario "s" {\n  host a { cpus 1  memory 64 MiB }\n  vm v on a { vcpus 1  memory 4 MiB }\n  at 0 s: start v\n  run until 1 s\n}\n';

/** A FIFO made by mkfifo(1), or the reason there is none. */
function mkfifo(path: string): string | null {
  const r = spawnSync("mkfifo", [path], { encoding: "utf8" });
  if (r.error) return `mkfifo is not available (${r.error.message})`;
  if (r.status !== 0) return `mkfifo failed: ${r.stderr.trim()}`;
  return null;
}

function refused(t: Test, f: () => unknown, match: RegExp, what: string): void {
  try {
    f();
    t.fail(`${what}: written`);
  } catch (err) {
    t.ok(err instanceof OutputRefused && err instanceof UsageError, `${what}: a usage error (exit 2)`);
    t.match((err as Error).message, match, what);
    t.notMatch((err as Error).message, /\n/, `${what}: one line`);
  }
}

const tmps = (dir: string): string[] => readdirSync(dir).filter((n) => n.includes(".tmp-"));

t.test("a new file (its missing folder created) and a regular file replaced; no temporary left", async (t) => {
  const dir = t.testdir({ "old.json": "old\n" });
  writeAtomically(join(dir, "sub", "deeper", "r.json"), "{}\n");
  t.equal(readFileSync(join(dir, "sub", "deeper", "r.json"), "utf8"), "{}\n");
  writeAtomically(join(dir, "old.json"), "new\n");
  t.equal(readFileSync(join(dir, "old.json"), "utf8"), "new\n");
  t.same(tmps(dir), []);
  t.same(tmps(join(dir, "sub", "deeper")), []);
  checkOutputPath(join(dir, "old.json"));
  checkOutputPath(join(dir, "nothing", "yet.json"));
});

t.test("special targets are refused before anything is written", async (t) => {
  const dir = t.testdir({ folder: {}, "outside.txt": "keep me\n" });
  const outside = join(dir, "outside.txt");
  const link = join(dir, "link.json");
  symlinkSync(outside, link);
  refused(t, () => writeAtomically(link, "x"), /^cannot write ".*link\.json": it is a symbolic link; vmscn does not write through links/, "a symbolic link to a file outside");
  t.equal(readFileSync(outside, "utf8"), "keep me\n", "the file it points to is untouched");
  t.ok(lstatSync(link).isSymbolicLink(), "the link stays a link");
  const dangling = join(dir, "dangling.json");
  symlinkSync(join(dir, "nowhere", "x.json"), dangling);
  refused(t, () => writeAtomically(dangling, "x"), /symbolic link/, "a dangling symbolic link");
  t.notOk(existsSync(join(dir, "nowhere")), "nothing is created where it points");
  refused(t, () => writeAtomically(join(dir, "folder"), "x"), /^cannot write ".*folder": it is a folder; name a file in it$/, "a folder");
  refused(t, () => writeAtomically(join(dir, "outside.txt", "x.json"), "x"), /a part of its path is not a folder/, "a file used as a folder");
  const before = statSync("/dev/null");
  refused(t, () => writeAtomically("/dev/null", "x"), /^cannot write "\/dev\/null": it is a character device, not a regular file; vmscn writes outputs only to regular files or new names$/, "/dev/null");
  const after = statSync("/dev/null");
  t.ok(after.isCharacterDevice() && after.ino === before.ino && after.rdev === before.rdev, "/dev/null is still the same device");
  t.same(readdirSync("/dev").filter((n) => n.startsWith("null.tmp-")), [], "no temporary file beside it");
  refused(t, () => writeAtomically("/proc/self/x.json", "x"), /^cannot write "\/proc\/self\/x\.json": "\/proc\/self" is on the kernel's proc file system, which holds no output files$/, "/proc/self/x.json");
  refused(t, () => writeAtomically("/proc/self/new/deeper/x.json", "x"), /proc file system/, "a missing folder under /proc");
  refused(t, () => writeAtomically("/proc/self/status", "x"), /proc file system/, "an existing file under /proc");
  t.same(tmps(dir), []);
});

t.test("a FIFO is refused without opening it (a write would block until a reader came)", async (t) => {
  const dir = t.testdir({});
  const fifo = join(dir, "r.json");
  const why = mkfifo(fifo);
  if (why) {
    t.comment(`skipped: ${why}`);
    t.pass(`no FIFO here: ${why}`);
    return;
  }
  refused(t, () => writeAtomically(fifo, "x"), /^cannot write ".*r\.json": it is a FIFO, not a regular file/, "a FIFO");
  t.ok(lstatSync(fifo).isFIFO(), "it stays a FIFO");
  t.same(tmps(dir), []);
});

t.test("a temporary file that cannot be created, or written in full, is refused and leaves nothing", async (t) => {
  const dir = t.testdir({});
  refused(t, () => writeAtomically(join(dir, `${"n".repeat(300)}.json`), "x"), /: name too long$/, "a name too long");
  t.same(readdirSync(dir), []);
  if (!existsSync(bundle)) return;
  // A file size limit of 1 KiB (ulimit -f 1): the report's write fails half way (EFBIG).
  const r = spawnSync("bash", ["-c", "ulimit -f 1"], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    t.pass(`no bash with ulimit here: ${r.error?.message ?? r.stderr}`);
    return;
  }
  writeFileSync(join(dir, "s.vmscn"), SCENARIO);
  const big = spawnSync("bash", ["-c", `ulimit -f 1; exec "${process.execPath}" "${bundle}" run s.vmscn --json out/r.json`], { encoding: "utf8", cwd: dir });
  t.equal(big.status, 2, big.stderr);
  t.match(big.stderr, /^vmscn: cannot write "out\/r\.json": file too large\n/);
  t.same(readdirSync(join(dir, "out")), [], "neither the report nor its temporary file");
});

t.test("through the bundle: one line, exit 2, the other outputs as they were", { skip: existsSync(bundle) ? false : "dist/vmscn.js is missing: run `npm run build`" }, async (t) => {
  const dir = t.testdir({ "s.vmscn": SCENARIO, folder: {} });
  const run = (...args: string[]) => spawnSync(process.execPath, [bundle, "run", join(dir, "s.vmscn"), ...args], { encoding: "utf8", cwd: dir });
  const cases: [string[], RegExp][] = [
    [["--json", "/dev/null"], /^vmscn: cannot write "\/dev\/null": it is a character device, not a regular file/],
    [["--trace", join(dir, "folder")], /^vmscn: cannot write ".*folder": it is a folder/],
    [["--html", "/proc/self/x.json"], /^vmscn: cannot write "\/proc\/self\/x\.json": "\/proc\/self" is on the kernel's proc file system/],
  ];
  mkdirSync(join(dir, "links"));
  symlinkSync(join(dir, "s.vmscn"), join(dir, "links", "r.json"));
  cases.push([["--json", join(dir, "links", "r.json")], /^vmscn: cannot write ".*r\.json": it is a symbolic link/]);
  for (const [args, match] of cases) {
    const r = run(...args);
    t.equal(r.status, 2, `${args.join(" ")}: exit 2`);
    t.match(r.stderr, match, args.join(" "));
    t.notMatch(r.stderr, /internal error|\n\s+at /, `${args.join(" ")}: no stack trace`);
    t.equal(r.stderr.split("\n")[0]!.length > 0 && r.stderr.split("\n").filter((l) => l.startsWith("vmscn:")).length, 1, "one line says why");
    t.equal(r.stdout, "", `${args.join(" ")}: refused before the run (no summary)`);
  }
  t.match(readFileSync(join(dir, "s.vmscn"), "utf8"), /^scenario "s"/, "the file the link points to is untouched");
  const ok = run("--json", join(dir, "out", "r.json"));
  t.equal(ok.status, 0, ok.stderr);
  t.equal(JSON.parse(readFileSync(join(dir, "out", "r.json"), "utf8")).schema, "vmscn.report/2");
  t.same(tmps(dir), []);
  t.same(tmps(join(dir, "out")), []);
});

t.test("smoke writes its outputs the same way: refused before the run, written atomically", { skip: existsSync(bundle) ? false : "dist/vmscn.js is missing: run `npm run build`" }, async (t) => {
  const dir = t.testdir({ "keep.txt": "keep me\n" });
  symlinkSync(join(dir, "keep.txt"), join(dir, "r.json"));
  const smoke = (...args: string[]) => spawnSync(process.execPath, [bundle, "smoke", ...args], { encoding: "utf8", cwd: dir });
  for (const args of [["--json", "r.json"], ["--trace", "r.json"], ["--json", "/dev/null"]]) {
    const r = smoke(...args);
    t.equal(r.status, 2, `${args.join(" ")}: exit 2`);
    t.match(r.stderr, /^vmscn: cannot write "(r\.json|\/dev\/null)": it is (a symbolic link|a character device)/, args.join(" "));
    t.equal(r.stdout, "", `${args.join(" ")}: refused before the run`);
  }
  t.equal(readFileSync(join(dir, "keep.txt"), "utf8"), "keep me\n", "the linked file is untouched");
  const ok = smoke("--json", "out/r.json", "--trace", "out/t.json");
  t.equal(ok.status, 0, ok.stderr);
  t.equal(JSON.parse(readFileSync(join(dir, "out", "r.json"), "utf8")).scenario, "smoke");
  t.match(readFileSync(join(dir, "out", "t.json"), "utf8"), /^\{"displayTimeUnit":"ns",.*"traceEvents":\[\n\{/, "the trace, one event per line");
  t.same(tmps(join(dir, "out")), []);
});
