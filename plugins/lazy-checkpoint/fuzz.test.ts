// Crafted checkpoint files: valid files made by small scenarios (uncompressed, zlib, Snappy;
// zero and untouched blocks; short last blocks), mutated structure-aware with their CRCs made
// good again (test/support/checkpoint-mutator.ts), then restored (with verify) and inspected
// (--verify). Every mutant either restores or fails its restore action with a checkpoint code
// and a sentence; nothing throws, no restore is left waiting, the kernel's invariants hold;
// and the restore and `inspect --verify` agree on every file that fits the VM.
// VMSCN_FUZZ_LONG=1 runs 10,000 mutants instead of a few hundred.
import "reflect-metadata";
import t from "tap";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKernel } from "../../core/run/container.js";
import { SECOND } from "../../core/sim/time.js";
import type { Kernel } from "../../core/run/kernel.js";
import type { ContentMix } from "../../core/memory/content.js";
import type { CompressionService } from "../compression/api.js";
import compression from "../compression/index.js";
import plugin from "./index.js";
import { FormatError } from "./format.js";
import { inspectCheckpoint } from "./inspect.js";
import { StoreRefusal } from "./store.js";
import { mutate, random } from "../../test/support/checkpoint-mutator.js";

const LONG = process.env["VMSCN_FUZZ_LONG"] === "1" || process.env["VMSCN_LONG"] === "1";
const MUTANTS = Number(process.env["VMSCN_FUZZ_CASES"] ?? (LONG ? 10_000 : 300));
const SEED = Number(process.env["VMSCN_FUZZ_SEED"] ?? 20261207);

const KiB = 1024;
const MIX: ContentMix = { zero: 0.3, images: [{ name: "os", fraction: 0.2 }], random: 0.3, compressible: [{ level: 8, fraction: 0.2 }] };
const PAGES_BYTES = 200 * KiB; // 50 pages: the last memory block is short

const dir = mkdtempSync(join(tmpdir(), "vmscn-fuzz-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function kernel(outDir?: string): Promise<Kernel> {
  const k = createKernel({ seed: 5, checkInvariants: true, ...(outDir !== undefined ? { outDir } : {}) });
  await k.plugins.registerAll([compression, plugin]);
  k.addHost({ name: "a", cpus: 2, memoryBytes: 64 * 1024 * KiB });
  k.addDatastore({ name: "san", hosts: ["a"], bandwidth: 1e9, latency: 10_000 });
  return k;
}

/** A valid checkpoint file of a 50-page VM: some pages untouched (a zero block among them), some written. */
async function seedFile(name: string, options: Record<string, string | number>): Promise<Uint8Array> {
  const out = join(dir, name);
  const k = await kernel(out);
  k.createVm({ name: "web", host: "a", vcpus: 2, memoryBytes: PAGES_BYTES, deviceStateBytes: 3000, workload: { activities: [], mix: MIX, scripted: [{ at: 1, op: "write", first: 0, count: 30 }, { at: 2, op: "write", first: 40, count: 6 }] } });
  k.act(0, "start", { vm: "web" });
  k.act(SECOND, "checkpoint", { vm: "web", datastore: "san" }, options);
  k.run(2 * SECOND);
  return new Uint8Array(readFileSync(join(out, "san", "web.ckpt")));
}

type Verdict = { ok: true } | { ok: false; code: string; message: string };

/** Restores the file into a fresh VM of the same size, with verify; throws only if the run does. */
async function restore(path: string): Promise<Verdict> {
  const k = await kernel();
  k.createVm({ name: "web", host: "a", vcpus: 2, memoryBytes: PAGES_BYTES, deviceStateBytes: 3000, workload: { activities: [], mix: MIX, scripted: [{ at: 1_000_000, op: "read", first: 0, count: 50 }] } });
  k.act(0, "restore", { vm: "web", datastore: "san" }, { path, verify: true });
  k.run(SECOND);
  k.checkInvariants();
  const a = k.actionLog()[0]!;
  if (a.state === "done") return { ok: true };
  if (a.state !== "failed") throw new Error(`the restore is still ${a.state} a second later`);
  return { ok: false, code: a.failure!.slice(0, 9), message: a.failure! };
}

async function compressionService(): Promise<CompressionService> {
  const k = await kernel();
  return k.plugins.services.get("compression") as CompressionService;
}

function inspect(path: string, svc: CompressionService): Verdict {
  try {
    inspectCheckpoint(path, true, svc);
    return { ok: true };
  } catch (err) {
    if (err instanceof FormatError || err instanceof StoreRefusal) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
}

t.test(`${MUTANTS} crafted checkpoint files: a coded failure or a restore, never a crash; restore and inspect --verify agree`, async (t) => {
  const seeds = [
    ["plain", await seedFile("plain", { "block-pages": 4, "io-blocks": 2 })],
    ["zlib", await seedFile("zlib", { "block-pages": 4, "io-blocks": 3, compression: "zlib", level: 1 })],
    ["snappy", await seedFile("snappy", { compression: "snappy", "block-pages": 8 })],
  ] as const;
  const svc = await compressionService();
  const path = join(dir, "mutant.ckpt");
  for (const [name, bytes] of seeds) {
    writeFileSync(path, bytes);
    t.same([await restore(path), inspect(path, svc)], [{ ok: true }, { ok: true }], `the ${name} seed file restores and verifies`);
  }
  const rnd = random(SEED);
  const codes = new Map<string, number>();
  const problems: string[] = [];
  for (let i = 0; i < MUTANTS; i++) {
    const [name, bytes] = seeds[i % seeds.length]!;
    const m = mutate(bytes, rnd);
    writeFileSync(path, m.bytes);
    const label = `mutant ${i} of ${name} (seed ${SEED}): ${m.what.join(", ")}`;
    let r: Verdict;
    let x: Verdict;
    try {
      r = await restore(path);
      x = inspect(path, svc);
    } catch (err) {
      problems.push(`${label}: threw ${(err as Error).stack ?? String(err)}`);
      continue;
    }
    const key = r.ok ? "restored" : r.code;
    codes.set(key, (codes.get(key) ?? 0) + 1);
    if (!r.ok && !/^VMSCN73(0[1-9]|1[01])$/.test(r.code)) problems.push(`${label}: the restore failed with ${r.message}`);
    if (!r.ok && !/ at [\d.]+ m?s: .{10,}/.test(r.message)) problems.push(`${label}: no sentence: ${r.message}`);
    // A file for another VM size is the restore's refusal alone (inspect has no VM to compare).
    if (!r.ok && r.code === "VMSCN7304" && x.ok) continue;
    if (r.ok !== x.ok) problems.push(`${label}: the restore ${r.ok ? "completed" : `failed (${r.message})`} and inspect --verify ${x.ok ? "passed" : `refused it (${x.code}: ${x.message})`}`);
    if (problems.length >= 10) break;
  }
  t.same(problems, [], "no crash, no hang, no disagreement");
  t.comment(`outcomes: ${[...codes].sort().map(([c, n]) => `${c} ${n}`).join(", ")}`);
  t.ok((codes.get("VMSCN7301") ?? 0) > MUTANTS / 4, "most mutants reach a check behind the CRCs");
});
