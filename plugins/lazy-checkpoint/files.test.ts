// Checkpoint files on disk, against a hostile or shared output folder: a save never leaves
// the output folder and never writes through a link or onto a special file (VMSCN7310); its
// temporary name cannot be guessed; two runs sharing the folder never clobber each other
// (VMSCN7311); a restore from a folder, a FIFO or a device fails its action with a code and a
// sentence, never an internal error or a hang; saves of untouched or zero memory complete;
// a failed save ends its timer's series.
import "reflect-metadata";
import t from "tap";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKernel } from "../../core/run/container.js";
import { MS, SECOND } from "../../core/sim/time.js";
import type { Kernel } from "../../core/run/kernel.js";
import type { ContentMix } from "../../core/memory/content.js";
import compression from "../compression/index.js";
import plugin from "./index.js";
import { inspectCheckpoint } from "./inspect.js";

const MiB = 1024 ** 2;
const RANDOM: ContentMix = { zero: 0, images: [], random: 1, compressible: [] };
const ZERO: ContentMix = { zero: 1, images: [], random: 0, compressible: [] };

const dir = mkdtempSync(join(tmpdir(), "vmscn-files-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function kernel(outDir?: string): Promise<Kernel> {
  const k = createKernel({ seed: 3, checkInvariants: true, ...(outDir !== undefined ? { outDir } : {}) });
  await k.plugins.registerAll([compression, plugin]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 256 * MiB });
  k.addDatastore({ name: "san", hosts: ["a"], bandwidth: 1e9, latency: 100_000 });
  return k;
}

function vm(k: Kernel, name: string, initial: ContentMix | null = RANDOM, memory = 2 * MiB): void {
  k.createVm({ name, host: "a", vcpus: 1, memoryBytes: memory, deviceStateBytes: 4096, ...(initial ? { initial } : {}), workload: { activities: [], mix: RANDOM, scripted: [] } });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const section = (k: Kernel, vmName: string): any => (k.report("t") as any).checkpoint?.[vmName];
const failure = (k: Kernel, verb: string): string | undefined => k.actionLog().find((a) => a.verb === verb && a.state === "failed")?.failure;
const ls = (d: string): string[] => (existsSync(d) ? readdirSync(d).sort() : []);

/** A save of `web` at 0 s to the output folder: the kernel, run `until`. */
async function save(out: string, until = 1 * SECOND, options: Record<string, string | number> = {}): Promise<Kernel> {
  const k = await kernel(out);
  vm(k, "web");
  k.act(0, "checkpoint", { vm: "web", datastore: "san" }, options);
  k.run(until);
  return k;
}

t.test("links and special files under the output folder are refused, and nothing is written through them", async (t) => {
  const outside = join(dir, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "precious"), "keep me\n");
  // The datastore's folder is a link out of the output folder.
  const a = join(dir, "a");
  mkdirSync(a);
  symlinkSync(outside, join(a, "san"));
  let k = await save(a);
  t.match(failure(k, "checkpoint"), /^VMSCN7310 at 0 s: checkpoint file "web\.ckpt" on datastore "san" is refused: ".*\/a\/san" is a symbolic link: a checkpoint file stays inside the output folder ".*\/a" and is never written through a link/);
  t.same(ls(outside), ["precious"], "nothing written where the link points");
  // The file's own name is a link to a file outside; a name's folder is a link.
  const b = join(dir, "b");
  mkdirSync(join(b, "san"), { recursive: true });
  symlinkSync(join(outside, "precious"), join(b, "san", "web.ckpt"));
  symlinkSync(outside, join(b, "san", "sub"));
  k = await save(b);
  t.match(failure(k, "checkpoint"), /^VMSCN7310 .*"web\.ckpt" on datastore "san" is refused: ".*\/b\/san\/web\.ckpt" is a symbolic link/);
  k = await save(b, 1 * SECOND, { file: "sub/x.ckpt" });
  t.match(failure(k, "checkpoint"), /^VMSCN7310 .*".*\/b\/san\/sub" is a symbolic link/);
  t.equal(readFileSync(join(outside, "precious"), "utf8"), "keep me\n", "the file outside is untouched");
  t.ok(lstatSync(join(b, "san", "web.ckpt")).isSymbolicLink(), "the link is left as it was");
  // The old attack: a link planted under the temporary name a run used to use (`.tmp-1`).
  const c = join(dir, "c");
  mkdirSync(join(c, "san"), { recursive: true });
  symlinkSync(join(outside, "precious"), join(c, "san", "web.ckpt.tmp-1"));
  k = await save(c);
  t.equal(section(k, "web").save.status, "completed", "the temporary name is another, unguessable one");
  t.same(ls(join(c, "san")), ["web.ckpt", "web.ckpt.tmp-1"]);
  t.equal(readFileSync(join(outside, "precious"), "utf8"), "keep me\n");
  // A folder, a FIFO where the file goes; a file where a folder goes.
  const d = join(dir, "d");
  mkdirSync(join(d, "san", "web.ckpt"), { recursive: true });
  writeFileSync(join(d, "san", "plain"), "");
  k = await save(d);
  t.match(failure(k, "checkpoint"), /^VMSCN7310 .*".*\/d\/san\/web\.ckpt" is a folder: a checkpoint file only ever replaces a regular file/);
  k = await save(d, 1 * SECOND, { file: "plain/x.ckpt" });
  t.match(failure(k, "checkpoint"), /^VMSCN7310 .*".*\/d\/san\/plain" is a regular file, not a folder/);
  const fifo = join(d, "san", "f.ckpt");
  const mk = spawnSync("mkfifo", [fifo]);
  if (mk.error || mk.status !== 0) t.pass(`no FIFO here (mkfifo: ${mk.error?.message ?? mk.status})`);
  else {
    k = await save(d, 1 * SECOND, { file: "f.ckpt" });
    t.match(failure(k, "checkpoint"), /^VMSCN7310 .*".*\/d\/san\/f\.ckpt" is a FIFO: a checkpoint file only ever replaces a regular file/);
    t.ok(lstatSync(fifo).isFIFO());
  }
  // Each refusal is the action's: the VM runs on, the datastore keeps no file of it.
  t.equal(k.cluster.world("web").state, "created");
  t.same(k.storage.datastore("san").files().map((f) => f.name), []);
  for (const out of [a, b, c, d]) t.same(ls(join(out, "san")).filter((n) => /\.tmp-[0-9a-f]{16}$/.test(n)), [], "no temporary file is left");
});

t.test("two runs sharing an output folder: the one that finishes second is refused, and neither clobbers the other", async (t) => {
  for (const before of [false, true]) {
    const out = join(dir, `shared-${before}`);
    if (before) await save(out); // an earlier run's file, which a later save may replace
    const k1 = await kernel(out);
    vm(k1, "web");
    k1.act(0, "checkpoint", { vm: "web", datastore: "san" });
    k1.run(5 * MS);
    t.equal(section(k1, "web").save.status, "active", "the first run is mid-save");
    const k2 = await save(out);
    t.equal(section(k2, "web").save.status, "completed", "the second run saves in the meantime");
    const theirs = readFileSync(join(out, "san", "web.ckpt"));
    k1.run(1 * SECOND);
    const s = section(k1, "web").save;
    t.same([s.status, s["failure-code"], s.path], ["failed", "VMSCN7311", null]);
    t.match(s.failure, new RegExp(`could not take its final name: another process ${before ? "replaced" : "created"} ".*web\\.ckpt" while this save was writing it \\(two runs sharing an output folder\\?\\); this save is dropped rather than overwrite it`));
    t.ok(readFileSync(join(out, "san", "web.ckpt")).equals(theirs), "the other run's file is untouched");
    t.same(ls(join(out, "san")), ["web.ckpt"], "and no temporary file is left");
    t.equal(inspectCheckpoint(join(out, "san", "web.ckpt"), true).verified!.ioBlocks > 0, true, "it is whole");
  }
  // One run after another: the later one replaces the earlier file, as before.
  const out = join(dir, "sequential");
  await save(out);
  const k = await save(out);
  t.equal(section(k, "web").save.status, "completed");
  t.same(ls(join(out, "san")), ["web.ckpt"]);
});

t.test("restores from a folder, a FIFO, a device, a link under the output folder: the action fails with a code", async (t) => {
  const out = join(dir, "restore");
  await save(out);
  mkdirSync(join(out, "san", "folder.ckpt"));
  symlinkSync(join(out, "san", "web.ckpt"), join(out, "san", "link.ckpt"));
  const fifo = join(out, "fifo.ckpt");
  const hasFifo = spawnSync("mkfifo", [fifo]).status === 0;
  const cases: [Record<string, string>, RegExp][] = [
    [{ path: join(out, "san") }, /^VMSCN7310 at 0 s: checkpoint file ".*\/restore\/san" is refused: it is a folder, not a regular file$/],
    [{ path: "/dev/zero" }, /^VMSCN7310 at 0 s: checkpoint file "\/dev\/zero" is refused: it is a character device, not a regular file$/],
    [{ path: join(out, "nope.ckpt") }, /^VMSCN7306 at 0 s: there is no checkpoint file ".*nope\.ckpt"$/],
    [{ file: "folder.ckpt" }, /^VMSCN7310 .*\/folder\.ckpt" is refused: it is a folder, not a regular file$/],
    [{ file: "link.ckpt" }, /^VMSCN7310 .*is refused: ".*\/san\/link\.ckpt" is a symbolic link: a checkpoint file is read from inside the output folder ".*" only, never through a link$/],
    [{ file: "../../web.ckpt" }, /^VMSCN5011 .*would be read from outside the output folder/],
  ];
  if (hasFifo) cases.push([{ path: fifo }, /^VMSCN7310 .*\/fifo\.ckpt" is refused: it is a FIFO, not a regular file$/]);
  else t.pass("no FIFO here (mkfifo failed)");
  for (const [options, match] of cases) {
    const k = await kernel(out);
    vm(k, "web", null);
    k.act(0, "restore", { vm: "web", datastore: "san" }, options);
    k.run(1 * SECOND);
    t.match(failure(k, "restore"), match, JSON.stringify(options));
    t.equal(k.cluster.world("web").state, "created", "the VM is as it was");
  }
  // A link the user named as the path is theirs to follow (to a regular file).
  const k = await kernel(out);
  vm(k, "web", null);
  k.act(0, "restore", { vm: "web", datastore: "san" }, { path: join(out, "san", "link.ckpt") });
  k.run(1 * SECOND);
  t.equal(section(k, "web").restore.status, "completed");
});

t.test("a save of memory never touched, or all zero, completes; a restore of it too", async (t) => {
  for (const [name, initial] of [["untouched", null], ["zero", ZERO]] as const) {
    const out = join(dir, name);
    const k = await kernel(out);
    vm(k, "web", initial, 16 * MiB);
    k.act(0, "start", { vm: "web" });
    k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" });
    k.run(3 * SECOND);
    const s = section(k, "web").save;
    t.same([s.status, s["io-blocks"], s["blocks-zero"], s["pages-untouched"]], ["completed", 0, 512, name === "untouched" ? 4096 : 0], name);
    t.equal(k.actionLog()[1]!.state, "done");
    t.same(ls(join(out, "san")), ["web.ckpt"]);
    const x = inspectCheckpoint(join(out, "san", "web.ckpt"), true);
    t.same([x.header.ioBlocks, x.zeroBlocks, x.verified!.pages], [0, 512, 0]);
    const k2 = await kernel(out);
    vm(k2, "web", null, 16 * MiB);
    k2.act(0, "restore", { vm: "web", datastore: "san" });
    k2.run(1 * SECOND);
    t.equal(section(k2, "web").restore.status, "completed");
    k2.checkInvariants();
  }
});

t.test("a checkpoint on a timer whose first save fails: the failure is the report's save, and the action ends", async (t) => {
  const k = await kernel(join(dir, "timer"));
  vm(k, "web", RANDOM, 16 * MiB);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" }, { every: 100 * MS, count: 3, "max-size": 4 * MiB });
  k.run(3 * SECOND);
  const s = section(k, "web");
  t.same([s.saves, s.save.status, s.save["failure-code"], s.save.file], [1, "failed", "VMSCN7307", "san/web-1.ckpt"], "no further save is tried");
  const a = k.actionLog()[1]!;
  t.equal(a.state, "failed");
  t.match(a.failure, /^VMSCN7307 at 1\.\d+ s: no space left for checkpoint file "san\/web-1\.ckpt"/);
  t.equal(a.finishedAt, s.save["start-time"] + s.save["total-time"], "the action ended when the save failed");
  t.same(ls(join(dir, "timer", "san")), []);
  k.checkInvariants();
});
