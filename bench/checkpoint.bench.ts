// Checkpoint save and restore of a 1 GiB guest (random pages: nothing shrinks, every byte goes
// to the file), each beside a plain sequential write and read of the same number of bytes on
// the same file system in the same run (the ratio is the figure to watch); the codecs' speed
// on half-compressible pages; the time to resume a 16 GiB guest (1 GiB of it touched) from its
// checkpoint. All wall-clock figures: the simulated ones are in the report. The file system's
// page cache serves both the plain IO and the checkpoint's alike (nothing is fsync'ed).
import "reflect-metadata";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { createKernel } from "../core/run/container.js";
import { pageBytes, privatePage } from "../core/memory/content.js";
import type { Kernel } from "../core/run/kernel.js";
import compression from "../plugins/compression/index.js";
import lazyCheckpoint from "../plugins/lazy-checkpoint/index.js";
import { makeCodec } from "../plugins/compression/codecs.js";
import { seconds, type Benchmark } from "./harness.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };

async function kernel(outDir: string, memory: number): Promise<Kernel> {
  const k = createKernel({ seed: 1, outDir });
  await k.plugins.registerAll([compression, lazyCheckpoint]);
  k.addHost({ name: "a", cpus: 8, memoryBytes: memory + 64 * MiB });
  k.addDatastore({ name: "ssd", hosts: ["a"], bandwidth: 2e9, latency: 50_000 });
  return k;
}

/**
 * A plain sequential write then read of `bytes` in 4 MiB chunks: the file system's own speed;
 * and the read again in IO blocks of 256 KiB (a restore's) with the CRC-32 of each, as a
 * restore must at least do.
 */
function plainIo(dir: string, bytes: number): { write: number; read: number; readCrc: number } {
  const path = join(dir, "plain.bin");
  const chunk = new Uint8Array(4 * MiB);
  for (let i = 0; i < chunk.length; i += 4096) pageBytes(privatePage(0, 9, i), chunk, i);
  const fd = openSync(path, "w+");
  const w = seconds(() => {
    for (let off = 0; off < bytes; off += chunk.length) writeSync(fd, chunk, 0, chunk.length, off);
  });
  const r = seconds(() => {
    for (let off = 0; off < bytes; off += chunk.length) readSync(fd, chunk, 0, chunk.length, off);
  });
  const block = new Uint8Array(256 * 1024);
  let crc = 0;
  const rc = seconds(() => {
    for (let off = 0; off < bytes; off += block.length) {
      readSync(fd, block, 0, block.length, off);
      crc ^= crc32(block);
    }
  });
  if (crc === 0.5) throw new Error("unreachable: keeps the CRC-32 from being optimised away");
  closeSync(fd);
  rmSync(path);
  return { write: bytes / MiB / w, read: bytes / MiB / r, readCrc: bytes / MiB / rc };
}

async function saveRestore(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-bench-ckpt-"));
  try {
    // The plain IO first, its file gone before the checkpoint starts, so neither waits on the other's dirty pages.
    const plain = plainIo(dir, 1 * GiB + 4 * MiB);
    const k = await kernel(dir, 2 * GiB);
    k.createVm({ name: "web", host: "a", vcpus: 4, memoryBytes: 1 * GiB, initial: RANDOM });
    k.createVm({ name: "copy", host: "a", vcpus: 4, memoryBytes: 1 * GiB });
    k.act(0, "checkpoint", { vm: "web", datastore: "ssd" }, { "background-threads": 2 });
    const save = seconds(() => k.run(10e9));
    const file = join(dir, "ssd", "web.ckpt");
    const size = statSync(file).size;
    k.act(10e9, "restore", { vm: "copy", datastore: "ssd" }, { file: "web.ckpt", "background-threads": 2 });
    const restore = seconds(() => k.run(20e9));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = (k.report("bench") as any).checkpoint;
    if (r.web.save.status !== "completed" || r.copy.restore.status !== "completed") throw new Error("the checkpoint benchmark's save or restore did not complete");
    const saveMb = size / MiB / save;
    const restoreMb = size / MiB / restore;
    return {
      "checkpoint.save_mb_per_s": saveMb,
      "disk.seq_write_mb_per_s": plain.write,
      "checkpoint.save_to_disk_write_ratio": saveMb / plain.write,
      "checkpoint.restore_mb_per_s": restoreMb,
      "disk.seq_read_mb_per_s": plain.read,
      "checkpoint.restore_to_disk_read_ratio": restoreMb / plain.read,
      "disk.seq_read_crc_mb_per_s": plain.readCrc,
      "checkpoint.restore_to_read_crc_ratio": restoreMb / plain.readCrc,
      "checkpoint.save_to_write_ratio": saveMb / plain.write,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function codecs(): Record<string, number> {
  const n = 16 * MiB;
  const src = new Uint8Array(n);
  for (let i = 0; i < n; i += 4096) pageBytes(privatePage(8, 3, i), src, i);
  const rate = (name: "zlib" | "snappy", level?: number): number => {
    const c = makeCodec(name, level);
    const block = 32 * 1024;
    return n / MiB / seconds(() => {
      for (let off = 0; off < n; off += block) c.compress(src.subarray(off, off + block));
    });
  };
  return { "compression.zlib_mb_per_s": rate("zlib"), "compression.zlib1_mb_per_s": rate("zlib", 1), "compression.snappy_mb_per_s": rate("snappy") };
}

async function resume16(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-bench-resume-"));
  try {
    const k = await kernel(dir, 33 * GiB);
    const web = k.createVm({ name: "web", host: "a", vcpus: 4, memoryBytes: 16 * GiB });
    // 1 GiB touched, the rest untouched (encoded up front: no IO block holds it).
    for (let p = 0; p < GiB / 4096; p++) k.memory.populate(web.memory!, p, privatePage(0, web.id, p));
    k.createVm({ name: "copy", host: "a", vcpus: 4, memoryBytes: 16 * GiB });
    k.act(0, "checkpoint", { vm: "web", datastore: "ssd" }, { "background-threads": 2 });
    k.run(30e9);
    k.act(30e9, "restore", { vm: "copy", datastore: "ssd" }, { file: "web.ckpt" });
    const copy = k.cluster.world("copy");
    let resumed = false;
    k.cluster.signals.stateChanged.connect((w, _f, to) => {
      if (w === copy && to === "running") {
        resumed = true;
        k.scheduler.stop();
      }
    });
    const wall = seconds(() => k.run(60e9));
    if (!resumed) throw new Error("the 16 GiB restore did not resume");
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = (k.report("bench") as any).checkpoint.copy.restore;
    return { "checkpoint.time_to_resume_ms": wall * 1e3, "checkpoint.time_to_resume_simulated_ms": r["time-to-resume"] / 1e6 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const benchmarks: Benchmark[] = [
  { name: "checkpoint.save_mb_per_s", unit: "MB/s", target: "near disk.seq_write_mb_per_s", run: saveRestore },
  { name: "compression.zlib_mb_per_s", unit: "MB/s", run: codecs },
  { name: "checkpoint.time_to_resume_ms", unit: "ms", run: resume16 },
];
