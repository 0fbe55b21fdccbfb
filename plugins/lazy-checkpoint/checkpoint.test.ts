// Lazy save and restore through the kernel: exact block, IO block and byte counts against hand
// calculations, the real file (deterministic, restorable by another run), every refusal and
// failure with the VM left consistent, the throttle, accessed bits, write traces.
import "reflect-metadata";
import t from "tap";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKernel } from "../../core/run/container.js";
import { MS, SECOND } from "../../core/sim/time.js";
import { PageState, Trap } from "../../core/memory/page.js";
import type { Kernel } from "../../core/run/kernel.js";
import type { World } from "../../core/world/world.js";
import type { ContentMix } from "../../core/memory/content.js";
import compression from "../compression/index.js";
import plugin from "./index.js";
import { H, HEADER_SIZE, decodeHeader, geometry } from "./format.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const RANDOM: ContentMix = { zero: 0, images: [], random: 1, compressible: [] };
const HALF: ContentMix = { zero: 0, images: [], random: 0, compressible: [{ level: 12, fraction: 1 }] };
const IO = geometry(8, 8).ioBlockSize; // 266240

async function kernel(opts: { outDir?: string; memory?: number } = {}): Promise<Kernel> {
  const k = createKernel({ seed: 3, checkInvariants: true, ...(opts.outDir ? { outDir: opts.outDir } : {}) });
  await k.plugins.registerAll([compression, plugin]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: opts.memory ?? 1 * GiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 1 * GiB });
  k.addDatastore({ name: "san", hosts: ["a", "b"], bandwidth: 1e9, latency: 100_000 });
  return k;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const section = (k: Kernel, vm: string): any => (k.report("t") as any).checkpoint?.[vm];
const failure = (k: Kernel, verb: string): string | undefined => k.actionLog().find((a) => a.verb === verb && a.state === "failed")?.failure;
const contents = (k: Kernel, w: World): number[] => Array.from({ length: w.memory!.pages }, (_, p) => k.memory.peek(w.memory!, p));

function vm(k: Kernel, name: string, opts: { memory?: number; vcpus?: number; initial?: ContentMix | null; host?: string; scripted?: { at: number; op: "read" | "write"; first: number; count: number; vcpu?: number }[] } = {}): World {
  return k.createVm({
    name,
    host: opts.host ?? "a",
    vcpus: opts.vcpus ?? 1,
    memoryBytes: opts.memory ?? 1 * MiB,
    deviceStateBytes: 4096,
    ...(opts.initial === undefined ? { initial: RANDOM } : opts.initial === null ? {} : { initial: opts.initial }),
    workload: { activities: [], mix: RANDOM, scripted: opts.scripted ?? [] },
  });
}

t.test("a lazy save, counted by hand: downtime, vCPU and background blocks, the two parts, the file's size", async (t) => {
  const k = await kernel();
  const web = vm(k, "web", { scripted: [{ at: 1 * SECOND + 1 * MS, op: "write", first: 8, count: 1 }] });
  k.act(0, "start", { vm: "web" });
  let snap: number[] = [];
  k.scheduler.at(1 * SECOND, () => (snap = contents(k, web)));
  k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" });
  k.run(2 * SECOND);
  const s = section(k, "web").save;
  t.equal(s.status, "completed");
  t.equal(s.downtime, 256 * 2, "no disk IO to wait for; 2 ns to trace each of 256 pages");
  t.same([s["trace-faults"], s["blocks-vcpu"], s["vcpu-stall-time"]], [1, 1, 3277], "one fault; copying 32 KiB at 10 GB/s stalls the vCPU 3.277 us");
  t.equal(s["background-start"], 512 + 10 * MS, "the vCPUs saved 8 pages in the first 10 ms: under 8192 pages/s");
  t.same([s["blocks-background"], s["io-blocks-second-part"], s["io-blocks-first-part"], s["io-blocks"]], [31, 4, 1, 5], "31 blocks: 3 full buffers and one of 7; the vCPU's partial buffer at the end");
  // header 4 KiB + device state 4 KiB, 5 IO blocks, memory-IO map 32 × 8, IO-memory map 5 × 8 × 4, part table 5 × 4
  t.equal(s["file-size"], 8192 + 5 * IO + 256 + 160 + 20);
  t.equal(s["memory-io-map"].mb1, 8192 + 4 * IO, "block 1 (the vCPU's) is in the last IO block written");
  t.equal(s["io-memory-map"].io4, "1");
  t.equal(s["io-memory-map"].io0, "0,2,3,4,5,6,7,8", "the background thread goes in block order when no accessed bits were gathered");
  t.equal(k.storage.file("san", "web.ckpt").size, 8192 + (4 + 1 + 1) * IO + 32 * 8 + 6 * 8 * 4 + 6 * 4, "the datastore reserves the uncompressed worst case");
  t.equal(web.memory!.meta.reduce((n, m) => n + (m & (Trap.AccessTrace | Trap.WriteTrace) ? 1 : 0), 0), 0, "no trace left");
  t.not(contents(k, web)[8], snap[8], "the guest wrote page 8 after the checkpoint");
  // Restore it into a second VM: its memory equals the checkpoint, page 8 as it was then.
  const copy = vm(k, "copy", { initial: null });
  k.act(3 * SECOND, "restore", { vm: "copy", datastore: "san" }, { file: "web.ckpt" });
  k.run(4 * SECOND);
  const r = section(k, "copy").restore;
  t.equal(r.status, "completed");
  t.equal(r["io-reads"], 5);
  t.equal(r["io-reads-background"], 5);
  t.equal(r["verified-pages"], 256, "each page's bytes checked (--check-invariants)");
  t.same(contents(k, copy), snap, "every page equals the page at save time");
  t.equal(copy.state, "running");
  // time to resume: the header (4 KiB), then the device state and maps read together, then 2 ns per page
  const hdr = 4096 + 100_000 + 0;
  t.ok(r["time-to-resume"] > hdr + 100_000 && r["time-to-resume"] < hdr + 200_000 + 512 + 10_000, `time to resume ${r["time-to-resume"]} ns`);
  k.checkInvariants();
});

t.test("the real file: under the output folder, deterministic, and restorable by another run", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-ckpt-"));
  try {
    const runOnce = async (out: string): Promise<{ k: Kernel; snap: number[] }> => {
      const k = await kernel({ outDir: out });
      const web = vm(k, "web", { vcpus: 2, memory: 2 * MiB, initial: HALF });
      k.workload.attach(web, { activities: [{ op: "write", rate: 5000, pattern: { kind: "uniform" } }], mix: HALF, scripted: [] });
      k.act(0, "start", { vm: "web" });
      let snap: number[] = [];
      k.scheduler.at(1 * SECOND, () => (snap = contents(k, web)));
      k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" }, { compression: "zlib", level: 1 });
      k.run(3 * SECOND);
      return { k, snap };
    };
    const a = await runOnce(join(dir, "a"));
    const b = await runOnce(join(dir, "b"));
    const fa = readFileSync(join(dir, "a", "san", "web.ckpt"));
    const fb = readFileSync(join(dir, "b", "san", "web.ckpt"));
    t.equal(createHash("sha256").update(fa).digest("hex"), createHash("sha256").update(fb).digest("hex"), "two runs write the same bytes");
    const s = section(a.k, "web").save;
    t.equal(fa.length, s["file-size"]);
    t.equal(s.path, join(dir, "a", "san", "web.ckpt"));
    const h = decodeHeader(new Uint8Array(fa), fa.length);
    t.same([h.compressed, h.codec, h.level, h.guestPages, h.vmName, h.hostName, h.savedAt, h.ioBlocks, h.ioMemLength], [true, 1, 1, 512, "web", "a", 1 * SECOND, s["io-blocks"], 0]);
    t.ok(fa.length < 2 * MiB * 0.6, `a 2 MiB guest of half-compressible pages in ${fa.length} bytes`);
    t.equal(JSON.stringify(a.k.report("x")).replaceAll(join(dir, "a"), "OUT"), JSON.stringify(b.k.report("x")).replaceAll(join(dir, "b"), "OUT"), "and the same report");
    // Another run restores it, from the output folder by name and from a path.
    for (const how of ["folder", "path"] as const) {
      const k2 = await kernel({ outDir: join(dir, "a") });
      const w2 = vm(k2, "web", { vcpus: 2, memory: 2 * MiB, initial: null });
      k2.act(0, "restore", { vm: "web", datastore: "san" }, how === "path" ? { path: join(dir, "a", "san", "web.ckpt") } : {});
      k2.run(1 * SECOND);
      const r = section(k2, "web").restore;
      t.equal(r.status, "completed", `restored from the ${how}`);
      t.equal(r.compressed, true);
      t.same(contents(k2, w2), a.snap, `every page equals the page at save time (${how})`);
      t.equal(r.path, join(dir, "a", "san", "web.ckpt"));
      k2.checkInvariants();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test("the real file is written under a temporary name and takes its final name only when the save completes", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-tmp-"));
  try {
    const ls = (d: string): string[] => readdirSync(join(d, "san")).sort();
    const once = async (out: string) => {
      const k = await kernel({ outDir: out });
      const web = vm(k, "web", { memory: 2 * MiB });
      vm(k, "copy", { host: "b", memory: 2 * MiB, initial: null });
      k.act(0, "start", { vm: "web" });
      let snap: number[] = [];
      k.scheduler.at(1 * SECOND, () => (snap = contents(k, web)));
      k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" });
      k.run(1 * SECOND + 5 * MS);
      t.match(ls(out), [/^web\.ckpt\.tmp-[0-9a-f]{16}$/], "mid-save: only the temporary name (64 random bits: it cannot be guessed)");
      t.equal(section(k, "web").save.status, "active");
      k.run(2 * SECOND);
      t.same(ls(out), ["web.ckpt"], "complete: exactly the final file");
      t.equal(section(k, "web").save.path, join(out, "san", "web.ckpt"));
      const first = readFileSync(join(out, "san", "web.ckpt"));
      // A second save to the same name fails (its host crashes): the first file stays, byte for
      // byte, and a restore in this run gets it.
      k.act(2 * SECOND, "checkpoint", { vm: "web", datastore: "san" });
      k.act(2 * SECOND + 5 * MS, "crash", { host: "a" });
      k.act(3 * SECOND, "restore", { vm: "copy", datastore: "san" }, { file: "web.ckpt" });
      k.run(4 * SECOND);
      const s = section(k, "web").save;
      t.same([s.status, s["failure-code"], s.path], ["failed", "VMSCN7309", null], "the failed save has no real file");
      t.same(ls(out), ["web.ckpt"], "its temporary file is removed");
      t.ok(readFileSync(join(out, "san", "web.ckpt")).equals(first), "the complete file is untouched");
      t.equal(section(k, "copy").restore.status, "completed");
      t.same(contents(k, k.cluster.world("copy")), snap, "the restore read the first save");
      k.checkInvariants();
      return first;
    };
    const a = await once(join(dir, "a"));
    const b = await once(join(dir, "b"));
    t.ok(a.equals(b), "two runs write the same bytes");
    // A first save that fails (the datastore fills up; the host crashes) leaves no file at all;
    // a restore in the same run is refused: the save did not finish.
    for (const fault of ["fill", "crash"] as const) {
      const out = join(dir, fault);
      const k = await kernel({ outDir: out });
      vm(k, "web", { memory: 2 * MiB });
      vm(k, "copy", { host: "b", memory: 2 * MiB, initial: null });
      k.act(0, "start", { vm: "web" });
      k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" });
      if (fault === "fill") k.act(1 * SECOND + 5 * MS, "fill", { datastore: "san" });
      else k.act(1 * SECOND + 5 * MS, "crash", { host: "a" });
      k.act(2 * SECOND, "restore", { vm: "copy", datastore: "san" }, { file: "web.ckpt" });
      k.run(3 * SECOND);
      t.match(failure(k, "checkpoint"), fault === "fill" ? /^VMSCN7307/ : /^VMSCN7309/, `${fault}: the save failed`);
      t.same(ls(out), [], `${fault}: no file, under either name`);
      t.match(failure(k, "restore"), /^VMSCN7305 .*it is incomplete/, `${fault}: the restore is refused as incomplete`);
      t.equal(k.cluster.world("copy").state, "created", `${fault}: the VM is as it was`);
      k.checkInvariants();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test("a checkpoint on a timer: a save still under way holds the next one back; a host crash ends the series", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-timer-"));
  try {
    const k = await kernel({ outDir: dir });
    vm(k, "web", { memory: 4 * MiB });
    k.act(0, "start", { vm: "web" });
    // Each save of 4 MiB takes longer than the 1 ms period: the next waits for it (polled every 1 ms).
    k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" }, { every: 1 * MS, count: 3, mode: "suspend" });
    k.run(1 * SECOND + 500 * MS);
    const saves = section(k, "web");
    t.equal(saves.saves, 3, "three saves");
    // Each save takes 7.017472 ms; the timer looks again every 1 ms while one is under way, so
    // the next starts at 1.008 s, then 1.016 s.
    t.same([saves.save["start-time"], saves.save["total-time"]], [1 * SECOND + 16 * MS, 7_017_472], "the third started at the first look after the second ended");
    t.equal(saves.save.file, "san/web-3.ckpt");
    t.equal(saves.save.status, "completed");
    t.same(readdirSync(join(dir, "san")).sort(), ["web-1.ckpt", "web-2.ckpt", "web-3.ckpt"]);
    t.equal(k.actionLog()[1]!.state, "done");
    // The host crashes during the second save: that save fails, and no third one is tried.
    const k2 = await kernel({ outDir: join(dir, "crash") });
    vm(k2, "web", { memory: 4 * MiB });
    k2.act(0, "start", { vm: "web" });
    k2.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" }, { every: 100 * MS, count: 3 });
    k2.act(1 * SECOND + 101 * MS, "crash", { host: "a" });
    k2.run(2 * SECOND);
    t.equal(section(k2, "web").saves, 2, "the third save is not tried: the VM is gone");
    t.match(failure(k2, "checkpoint"), /^VMSCN7309 at 1\.101 s: the save of "web" to "san\/web-2\.ckpt" stopped: the VM stopped/);
    t.same(readdirSync(join(dir, "crash", "san")), ["web-1.ckpt"], "the first save's file, and nothing of the second");
    k2.checkInvariants();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test("crafted bad files are refused with the code and offset, the VM untouched; a bad IO block found after resume stops the VM", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-bad-"));
  try {
    const k = await kernel({ outDir: dir });
    vm(k, "web", { memory: 1 * MiB });
    k.act(0, "checkpoint", { vm: "web", datastore: "san" });
    k.run(1 * SECOND);
    const good = readFileSync(join(dir, "san", "web.ckpt"));
    const h = decodeHeader(new Uint8Array(good), good.length);
    const cases: { name: string; bytes: Buffer; code: string; where: string; resumes?: boolean }[] = [];
    const patch = (name: string, code: string, where: string, f: (b: Buffer) => Buffer, resumes = false): void => {
      cases.push({ name, bytes: f(Buffer.from(good)), code, where, resumes });
    };
    patch("truncated", "VMSCN7302", `offset ${good.length - 100}`, (b) => b.subarray(0, b.length - 100));
    patch("tiny", "VMSCN7302", "offset 10", (b) => b.subarray(0, 10));
    patch("magic", "VMSCN7301", "offset 0", (b) => ((b[1] = 0), b));
    patch("version", "VMSCN7303", `offset ${H.version}`, (b) => (b.writeUInt32LE(7, H.version), b));
    patch("header byte", "VMSCN7301", `offset ${H.crc}`, (b) => ((b[300] ^= 1), b));
    patch("device state", "VMSCN7301", `offset ${HEADER_SIZE}`, (b) => ((b[HEADER_SIZE + 5] ^= 1), b));
    patch("maps", "VMSCN7301", `offset ${h.memIoOffset}`, (b) => ((b[h.memIoOffset + 3] ^= 1), b));
    patch("IO block data", "VMSCN7301", `offset ${h.ioAreaOffset + 28}`, (b) => ((b[h.ioAreaOffset + 8192] ^= 1), b), true);
    for (const c of cases) {
      const file = join(dir, `${c.name}.ckpt`);
      writeFileSync(file, c.bytes);
      const k2 = await kernel();
      const w = vm(k2, "web", { memory: 1 * MiB });
      const before = contents(k2, w);
      k2.act(1 * SECOND, "restore", { vm: "web", datastore: "san" }, { path: file });
      k2.run(2 * SECOND);
      const f = failure(k2, "restore") ?? "";
      t.match(f, new RegExp(`^${c.code}`), `${c.name}: ${f}`);
      t.match(f, file, `${c.name}: names the file`);
      t.match(f, c.where, `${c.name}: names the offset`);
      if (c.resumes) {
        t.equal(w.state, "stopped", "the VM had resumed: it cannot run without its memory");
        t.match(w.failure ?? "", /checkpoint restore/);
        t.equal(k2.memory.machine(0).used, 0, "its frames are free");
      } else {
        t.equal(w.state, "created", `${c.name}: the VM is as it was`);
        t.same(contents(k2, w), before);
      }
      k2.checkInvariants();
    }
    // A compressed body that does not decompress.
    const kc = await kernel({ outDir: join(dir, "c") });
    vm(kc, "web", { memory: 1 * MiB, initial: HALF });
    kc.act(0, "checkpoint", { vm: "web", datastore: "san" }, { compression: "snappy" });
    kc.run(1 * SECOND);
    const cb = Buffer.from(readFileSync(join(dir, "c", "san", "web.ckpt")));
    const ch = decodeHeader(new Uint8Array(cb), cb.length);
    const g = geometry(8, 8);
    // The first record's body starts after the IO block header and the record: garble it, then re-seal the CRC.
    const at = ch.ioAreaOffset + 32 + g.recordBytes;
    cb.fill(0xff, at, at + 64);
    const { crcOf } = await import("./format.js");
    const used = cb.readUInt32LE(ch.ioAreaOffset + 20);
    cb.writeUInt32LE(crcOf(cb.subarray(ch.ioAreaOffset, ch.ioAreaOffset + 28), cb.subarray(ch.ioAreaOffset + 32, ch.ioAreaOffset + used)), ch.ioAreaOffset + 28);
    writeFileSync(join(dir, "garbled.ckpt"), cb);
    const k3 = await kernel();
    const w3 = vm(k3, "web", { memory: 1 * MiB, initial: null });
    k3.act(0, "restore", { vm: "web", datastore: "san" }, { path: join(dir, "garbled.ckpt") });
    k3.run(1 * SECOND);
    t.match(failure(k3, "restore"), new RegExp(`VMSCN7301.*offset ${at}.*does not decompress`));
    t.equal(w3.state, "stopped");
    k3.checkInvariants();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test("refusals before anything starts", async (t) => {
  const k = await kernel();
  k.addHost({ name: "c", cpus: 1, memoryBytes: 64 * MiB });
  vm(k, "web");
  vm(k, "far", { host: "c" });
  vm(k, "running");
  k.act(0, "start", { vm: "running" });
  k.act(1 * MS, "restore", { vm: "running", datastore: "san" });
  k.act(1 * MS, "restore", { vm: "web", datastore: "san" });
  k.act(1 * MS, "checkpoint", { vm: "far" });
  k.act(1 * MS, "checkpoint", { vm: "web", datastore: "san" }, { compression: "zlib", level: 11 });
  k.act(2 * MS, "checkpoint", { vm: "web", datastore: "san" }, { file: "../escape.ckpt" });
  k.run(1 * SECOND);
  const fails = k.actionLog().filter((a) => a.state === "failed").map((a) => a.failure!.replace(/ at [\d.]+ m?s/, ""));
  t.match(fails[0], /^VMSCN5004: cannot restore VM "running": it is running .*suspend it first/);
  t.match(fails[1], /^VMSCN7306: there is no checkpoint file san\/web.ckpt/);
  t.match(fails[2], /^VMSCN5012: VM "far" has no disk and host "c" reaches no datastore/);
  t.match(fails[3], /^VMSCN7402/);
  t.equal(fails.length, 4, "a name with .. stays a name: without an output folder the bytes are in memory");
  k.checkInvariants();
  // With an output folder, a name that would leave it is refused.
  const dir = mkdtempSync(join(tmpdir(), "vmscn-esc-"));
  try {
    const k2 = await kernel({ outDir: dir });
    vm(k2, "web");
    k2.act(0, "checkpoint", { vm: "web", datastore: "san" }, { file: "../../escape.ckpt" });
    k2.run(1 * SECOND);
    t.match(failure(k2, "checkpoint"), /VMSCN5011.*outside the output folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test("write traces: reads do not fault; accessed bits order the background thread, least accessed first", async (t) => {
  const k = await kernel();
  const web = vm(k, "web", {
    scripted: [
      { at: 1 * SECOND + 1 * MS, op: "read", first: 0, count: 64 }, // blocks 0-7 read: no fault with write traces
      { at: 2 * SECOND + 1 * MS, op: "read", first: 0, count: 16 }, // accessed bits: blocks 0, 1
    ],
  });
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" }, { trace: "write", file: "w.ckpt" });
  k.run(2 * SECOND);
  const s = section(k, "web").save;
  t.equal(s["trace-faults"], 0);
  t.equal(s["blocks-background"], 32);
  k.act(2 * SECOND, "checkpoint", { vm: "web", datastore: "san" }, { "access-window": 100 * MS, file: "a.ckpt" });
  k.run(3 * SECOND);
  const s2 = section(k, "web").save;
  t.equal(s2["accessed-pages"], 16);
  t.equal(s2["trace-faults"], 0, "the reads came before the checkpoint");
  t.equal(s2["io-memory-map"].io0, "2,3,4,5,6,7,8,9", "blocks 0 and 1 were accessed: they go last");
  t.equal(s2["io-memory-map"].io3, "26,27,28,29,30,31,0,1");
  t.equal(web.memory!.meta.reduce((n, m) => n + (m & Trap.AccessTrace ? 1 : 0), 0), 0);
  k.checkInvariants();
});

t.test("failures during a save: the VM stops, moves, a helper dies; during a restore: a helper dies, memory runs out", async (t) => {
  // A background save thread is killed: its buffer's blocks are lost, so the save fails; the VM runs on, untraced.
  let k = await kernel();
  let web = vm(k, "web", { memory: 8 * MiB });
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" });
  k.scheduler.at(1 * SECOND + 20 * MS, () => k.killWorld("web.checkpoint-save#1.0"));
  k.run(2 * SECOND);
  t.match(failure(k, "checkpoint"), /^VMSCN7309.*background thread "web.checkpoint-save#1.0" died/);
  t.equal(web.state, "running");
  t.equal(web.memory!.meta.reduce((n, m) => n + (m & Trap.AccessTrace ? 1 : 0), 0), 0, "its traces are lifted");
  k.checkInvariants();
  // The VM is stopped, or moved, during the save.
  for (const how of ["stop", "move"] as const) {
    k = await kernel();
    web = vm(k, "web", { memory: 8 * MiB });
    k.act(0, "start", { vm: "web" });
    k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" });
    if (how === "stop") k.act(1 * SECOND + 5 * MS, "stop", { vm: "web" });
    else k.scheduler.at(1 * SECOND + 5 * MS, () => k.cluster.move(web, k.cluster.host("b")));
    k.run(2 * SECOND);
    t.match(failure(k, "checkpoint"), how === "stop" ? /VM stopped/ : /VM moved to another host/);
  }
  // A background restore thread is killed: the other one (and the vCPUs) finish the restore.
  k = await kernel();
  web = vm(k, "web", { memory: 8 * MiB });
  k.act(0, "checkpoint", { vm: "web", datastore: "san" });
  k.act(1 * SECOND, "restore", { vm: "web", datastore: "san" }, { "background-threads": 2 });
  k.scheduler.at(1 * SECOND + 5 * MS, () => k.killWorld("web.checkpoint-restore#2.0"));
  k.run(2 * SECOND);
  const r = section(k, "web").restore;
  t.equal(r.status, "completed");
  t.equal(r["io-reads"], r["io-blocks"]);
  k.checkInvariants();
  // Not enough free memory: refused before the VM changes.
  k = await kernel({ memory: 64 * MiB });
  web = vm(k, "web", { memory: 8 * MiB });
  const copy = vm(k, "copy", { memory: 8 * MiB, initial: null });
  k.act(0, "checkpoint", { vm: "web", datastore: "san" });
  k.act(1 * SECOND, "exhaust", { host: "a" }, { leave: 4 * MiB });
  k.act(2 * SECOND, "restore", { vm: "copy", datastore: "san" }, { file: "web.ckpt" });
  k.run(3 * SECOND);
  t.match(failure(k, "restore"), /^VMSCN5002.*2048 pages with contents, and 1024 frames are free/);
  t.equal(copy.state, "created");
  // Memory taken away after the VM resumed: the restore fails and the VM stops.
  k = await kernel({ memory: 64 * MiB });
  web = vm(k, "web", { memory: 8 * MiB });
  const copy2 = vm(k, "copy", { memory: 8 * MiB, initial: null });
  k.act(0, "checkpoint", { vm: "web", datastore: "san" });
  k.act(1 * SECOND, "restore", { vm: "copy", datastore: "san" }, { file: "web.ckpt" });
  k.act(1 * SECOND + 2 * MS, "exhaust", { host: "a" });
  k.run(2 * SECOND);
  t.match(failure(k, "restore"), /^VMSCN5002/);
  t.equal(copy2.state, "stopped");
  t.equal(copy2.memory!.census().present, 0);
  k.checkInvariants();
});

t.test("the throttle: background restore reads give way while the guest's own disk IO is in flight", async (t) => {
  const run = async (guestIo: boolean): Promise<Record<string, number>> => {
    const k = await kernel();
    const disk = guestIo ? [{ op: "read" as const, rate: 400e6, pattern: "sequential" as const }] : [];
    k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 16 * MiB, deviceStateBytes: 4096, initial: RANDOM, disks: [{ datastore: "san", sizeBytes: 1 * GiB }], workload: { activities: [], mix: RANDOM, scripted: [], disk } });
    k.act(0, "checkpoint", { vm: "web", datastore: "san" });
    k.act(1 * SECOND, "restore", { vm: "web", datastore: "san" }, { throttle: 0.25 });
    k.run(3 * SECOND);
    return section(k, "web").restore;
  };
  const quiet = await run(false);
  const busy = await run(true);
  t.equal(quiet["throttle-waits"], 0, "no other IO: no waiting");
  t.ok(busy["throttle-waits"] > 0, `with guest IO: ${busy["throttle-waits"]} waits, ${busy["throttle-time"]} ns`);
  t.ok(busy["total-time"] > quiet["total-time"], "so the restore takes longer");
  t.equal(busy.status, "completed");
});

t.test("suspend mode can leave the VM suspended; a second save to the same file reuses its datastore file", async (t) => {
  const k = await kernel();
  const web = vm(k, "web");
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "checkpoint", { vm: "web", datastore: "san" }, { mode: "suspend", after: "suspended" });
  k.act(2 * SECOND, "resume", { vm: "web" });
  k.act(3 * SECOND, "checkpoint", { vm: "web", datastore: "san" });
  k.run(4 * SECOND);
  const s = section(k, "web");
  t.equal(s.saves, 2);
  t.equal(s.save.status, "completed");
  t.equal(k.storage.datastore("san").files().length, 1);
  t.equal(web.state, "running");
  k.checkInvariants();
  t.equal(web.memory!.meta.every((m) => (m & 7) === PageState.Present), true);
});

t.test("the buffer pool: vCPUs share a fetch, wait for a buffer, or finish one to take it", async (t) => {
  const k = await kernel();
  const web = vm(k, "web", {
    vcpus: 2,
    memory: 8 * MiB,
    scripted: [
      { at: 2 * SECOND, op: "read", first: 100, count: 1, vcpu: 0 },
      { at: 2 * SECOND, op: "read", first: 101, count: 1, vcpu: 1 }, // the same memory block: it waits on the first fetch
      { at: 2 * SECOND + 5 * MS, op: "read", first: 1000, count: 1, vcpu: 0 },
      { at: 2 * SECOND + 5 * MS, op: "read", first: 1800, count: 1, vcpu: 1 },
      { at: 2 * SECOND + 6 * MS, op: "read", first: 1500, count: 1, vcpu: 0 },
    ],
  });
  k.act(0, "checkpoint", { vm: "web", datastore: "san" }, { "background-threads": 1 });
  k.act(1 * SECOND, "restore", { vm: "web", datastore: "san" }, { buffers: 1, "background-threads": 0 });
  k.run(3 * SECOND);
  const r = section(k, "web").restore;
  t.equal(r.status, "active", "no background thread: only faults load memory");
  t.equal(r.faults, 5);
  t.equal(r["fault-waits"], 1, "the second vCPU waited on the block already being fetched");
  t.equal(r["io-reads-demand"], 4);
  t.ok(r["buffer-evictions"] + r["buffer-waits"] >= 2, `one buffer for four IO blocks: ${r["buffer-evictions"]} finished by the requester, ${r["buffer-waits"]} waits`);
  t.equal(web.state, "running");
  k.checkInvariants();
});

t.test("a restore refused while its header is read: the VM started meanwhile, or its host crashed", async (t) => {
  let k = await kernel();
  let web = vm(k, "web");
  k.act(0, "checkpoint", { vm: "web", datastore: "san" });
  k.act(1 * SECOND, "restore", { vm: "web", datastore: "san" });
  k.act(1 * SECOND, "start", { vm: "web" });
  k.run(2 * SECOND);
  t.match(failure(k, "restore"), /^VMSCN5004.*is running now/);
  t.equal(web.memory!.census().present, 256, "the VM kept its memory");
  k = await kernel();
  web = vm(k, "web");
  k.act(0, "checkpoint", { vm: "web", datastore: "san" });
  k.act(1 * SECOND, "restore", { vm: "web", datastore: "san" });
  k.scheduler.at(1 * SECOND + 1000, () => k.crashHost("a"));
  k.run(2 * SECOND);
  t.match(failure(k, "restore"), /^VMSCN7309/);
  t.equal(section(k, "web").restore.status, "failed");
  k.checkInvariants();
});
