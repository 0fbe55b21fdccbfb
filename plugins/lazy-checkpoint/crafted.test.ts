// The crafted checkpoint files of the red team's report, each made from a real file with its
// CRC-32s recomputed: a zlib level above 9, a device state of 2-4 GiB (in a sparse file that
// is as long as the header says), lengths past the end of the file, edited IO block and record
// fields. Each fails its restore action with a code, the file and the offset; the run goes on
// (a later action completes); `vmscn checkpoint inspect --verify` refuses it with the same code.
import "reflect-metadata";
import t from "tap";
import { ftruncateSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKernel } from "../../core/run/container.js";
import { SECOND } from "../../core/sim/time.js";
import type { Kernel } from "../../core/run/kernel.js";
import type { ContentMix } from "../../core/memory/content.js";
import type { CompressionService } from "../compression/api.js";
import compression from "../compression/index.js";
import plugin from "./index.js";
import { FormatError, H, HEADER_SIZE, decodeHeader, putU64, roundUp } from "./format.js";
import { inspectCheckpoint } from "./inspect.js";
import { fixCrcs } from "../../test/support/checkpoint-mutator.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const MIX: ContentMix = { zero: 0.2, images: [], random: 0.4, compressible: [{ level: 8, fraction: 0.4 }] };

const dir = mkdtempSync(join(tmpdir(), "vmscn-crafted-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function kernel(outDir?: string): Promise<Kernel> {
  const k = createKernel({ seed: 9, checkInvariants: true, ...(outDir !== undefined ? { outDir } : {}) });
  await k.plugins.registerAll([compression, plugin]);
  k.addHost({ name: "a", cpus: 2, memoryBytes: 256 * MiB });
  k.addDatastore({ name: "san", hosts: ["a"], bandwidth: 1e9, latency: 10_000 });
  return k;
}

const vm = (k: Kernel, name: string, initial?: ContentMix): unknown =>
  k.createVm({ name, host: "a", vcpus: 1, memoryBytes: 1 * MiB, deviceStateBytes: 4096, ...(initial ? { initial } : {}), workload: { activities: [], mix: MIX, scripted: [] } });

async function file(name: string, options: Record<string, string | number>): Promise<Buffer> {
  const k = await kernel(join(dir, name));
  vm(k, "web", MIX);
  k.act(0, "checkpoint", { vm: "web", datastore: "san" }, options);
  k.run(1 * SECOND);
  return readFileSync(join(dir, name, "san", "web.ckpt"));
}

/** Restores `path` into a VM, then restores a good file into another: the first fails, the run goes on. */
async function restore(path: string, good: string): Promise<{ failure: string | undefined; after: string }> {
  const k = await kernel();
  vm(k, "web");
  vm(k, "other");
  k.act(0, "restore", { vm: "web", datastore: "san" }, { path });
  k.act(1 * SECOND, "restore", { vm: "other", datastore: "san" }, { path: good });
  k.run(2 * SECOND);
  k.checkInvariants();
  const [a, b] = k.actionLog();
  return { failure: a!.state === "failed" ? a!.failure : `not failed: ${a!.state}`, after: b!.state };
}

function inspected(path: string, svc: CompressionService): string {
  try {
    inspectCheckpoint(path, true, svc);
    return "ok";
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    return `${err.code} at ${err.offset}`;
  }
}

t.test("crafted files fail their restore with a code and an offset; the run goes on; inspect --verify agrees", async (t) => {
  const plain = await file("plain", {});
  const zlib = await file("zlib", { compression: "zlib", level: 6 });
  const good = join(dir, "good.ckpt");
  writeFileSync(good, plain);
  const h = decodeHeader(new Uint8Array(plain), plain.length);
  const hz = decodeHeader(new Uint8Array(zlib), zlib.length);
  const k = await kernel();
  const svc = k.plugins.services.get("compression") as CompressionService;
  let n = 0;
  const crafted = (from: Buffer, patch: (b: Buffer) => unknown): string => {
    const out = Buffer.from(from);
    patch(out);
    fixCrcs(out);
    const p = join(dir, `crafted-${n++}.ckpt`);
    writeFileSync(p, out);
    return p;
  };
  const cases: [string, string, RegExp][] = [
    ["a zlib level byte above 9", crafted(zlib, (b) => void (b[H.level] = 12)), /^VMSCN7301 .*is refused at offset 37: its header is inconsistent: codec "zlib" takes a level from 0 to 9, not 12$/],
    ["a level in a file not compressed", crafted(plain, (b) => void (b[H.level] = 3)), /^VMSCN7301 .*offset 37: its header is inconsistent: level 3 in a file not compressed$/],
    ["a device state of 3 GiB", crafted(plain, (b) => putU64(new DataView(b.buffer, b.byteOffset), H.deviceLength, 3 * GiB)), /^VMSCN7301 .*offset 72: its header is inconsistent: a device state of 3221225472 bytes, more than the 1073741824 a checkpoint holds$/],
    ["a file length past the end", crafted(plain, (b) => putU64(new DataView(b.buffer, b.byteOffset), H.fileLength, 2 ** 40)), /^VMSCN7301 .*offset 136: its header is inconsistent: a file length of 1099511627776$/],
    ["a 64-bit field past 2^53", crafted(plain, (b) => b.writeUInt32LE(0xffffffff, H.memIoLength + 4)), /^VMSCN7301 .*offset 96: its header is inconsistent: memIoLength is \d+, past 2\^53$/],
    ["an IO block's record count edited", crafted(plain, (b) => b.writeUInt32LE(b.readUInt32LE(h.ioAreaOffset + 16) - 1, h.ioAreaOffset + 16)), new RegExp(`^VMSCN7301 .*corrupt at offset ${h.ioAreaOffset + 16}: IO block 0 is corrupt: 7 records, and the memory-IO map places 8 memory blocks in it$`)],
    ["a record naming another memory block", crafted(plain, (b) => b.writeUInt32LE(b.readUInt32LE(h.ioAreaOffset + 32) + 1, h.ioAreaOffset + 32)), new RegExp(`^VMSCN7301 .*corrupt at offset ${h.ioAreaOffset + 32}: IO block 0's record 0 is memory block 1, and the IO-memory map says 0$`)],
    ["a compressed record's body length past the block", crafted(zlib, (b) => b.writeUInt32LE(10 ** 9, hz.ioAreaOffset + 32 + 8)), new RegExp(`^VMSCN7301 .*offset ${hz.ioAreaOffset + 32 + 8}: IO block 0 is corrupt: record 0's body of 1000000000 bytes runs past`)],
    ["a page content that is no content", crafted(plain, (b) => b.writeDoubleLE(-1, h.ioAreaOffset + 32 + 24)), new RegExp(`^VMSCN7301 .*offset ${h.ioAreaOffset + 32 + 24}: IO block 0 is corrupt: record 0's page 0 has content -1, which is no page content$`)],
    ["a zero mask that disagrees", crafted(plain, (b) => b.writeUInt32LE(0xff, h.ioAreaOffset + 32 + 12)), new RegExp(`^VMSCN7301 .*offset ${h.ioAreaOffset + 32 + 12}: IO block 0 is corrupt: record 0's page \\d is marked zero but has contents$`)],
  ];
  // A device state of 3 GiB in a file as long as the header then says (sparse): every offset
  // consistent, so only the limit refuses it, before anything is read or allocated.
  const big = join(dir, "big.ckpt");
  {
    const b = Buffer.from(plain);
    const v = new DataView(b.buffer, b.byteOffset);
    const shift = roundUp(HEADER_SIZE + 3 * GiB, 4096) - h.ioAreaOffset;
    for (const f of ["ioAreaOffset", "memIoOffset", "ioMemOffset", "partOffset", "fileLength"] as const) putU64(v, H[f], h[f] + shift);
    putU64(v, H.deviceLength, 3 * GiB);
    const fd = openSync(big, "w");
    writeSync(fd, b, 0, h.ioAreaOffset, 0);
    writeSync(fd, b, h.ioAreaOffset, b.length - h.ioAreaOffset, h.ioAreaOffset + shift);
    ftruncateSync(fd, h.fileLength + shift);
    closeSync(fd);
    const head = Buffer.from(b.subarray(0, HEADER_SIZE));
    fixCrcs(head);
    const fd2 = openSync(big, "r+");
    writeSync(fd2, head, 0, HEADER_SIZE, 0);
    closeSync(fd2);
  }
  cases.push(["a device state of 3 GiB, every offset consistent (a sparse file)", big, /^VMSCN7301 .*offset 72: its header is inconsistent: a device state of 3221225472 bytes, more than the 1073741824 a checkpoint holds$/]);
  for (const [what, path, match] of cases) {
    const r = await restore(path, good);
    t.match(r.failure, match, what);
    t.match(r.failure, path, `${what}: names the file`);
    t.equal(r.after, "done", `${what}: the run goes on`);
    const code = r.failure!.slice(0, 9);
    const offset = /offset (\d+)/.exec(r.failure!)![1];
    t.equal(inspected(path, svc), `${code} at ${offset}`, `${what}: inspect --verify refuses it alike`);
  }
  // Without --verify, inspect still lists what the header says.
  t.equal(inspectCheckpoint(cases[0]![1], false, svc).header.level, 12);
});
