// The disk copy of a migration, driven directly through DiskPort: the bulk phase, dirty
// passes, switch-over (stop-and-copy or absent blocks fetched on demand and in the
// background), failures. Figures by hand: datastores and the link move 1 byte per ns, so a
// 1 MiB block takes 1048576 ns to read, 1048576 + 8 (its header) to cross, 1048576 to write.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { definePlugin, type PluginContext, type VmscnError } from "../../core/api.js";
import type { Kernel } from "../../core/run/kernel.js";
import { vmInfo } from "../../core/world/vm-info.js";
import { DISK_BLOCK_BYTES, DISK_BLOCK_HEADER_BYTES, DiskMigration, type DiskOptions, type DiskPort } from "./disk.js";
import { MS, SECOND, US } from "../../core/sim/time.js";
import plugin from "./index.js";
import compression from "../compression/index.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const B = DISK_BLOCK_BYTES;
const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };
/** One block read, sent (header included) and written, at 1 byte per ns. */
const BLOCK_NS = B + (B + DISK_BLOCK_HEADER_BYTES) + B;

interface Rig {
  k: Kernel;
  ctx: PluginContext;
  d: DiskMigration;
  log: string[];
  port: DiskPort & { done: boolean };
}

async function rig(opts: { sizeBytes?: number; latency?: number; options?: Partial<DiskOptions>; full?: boolean } = {}): Promise<Rig> {
  const k = createKernel({ seed: 3, checkInvariants: true });
  let ctx!: PluginContext;
  await k.plugins.registerAll([definePlugin({ name: "probe", version: "1.0.0", kernel: "^1", register: (c) => void (ctx = c) })]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 1 * GiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 1 * GiB });
  k.addLink({ a: "a", b: "b", bandwidth: 1e9, latency: opts.latency ?? 0 });
  // Straight to storage: no IOPS limit, so every figure is bytes / bandwidth.
  for (const [name, host] of [["local-a", "a"], ["local-b", "b"]] as const) {
    k.storage.addDatastore(name, { hosts: [host], bandwidth: 1e9, latency: 0 });
    k.cluster.host(host).datastores.push(name);
  }
  const web = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: opts.sizeBytes ?? 4 * B }] });
  k.act(0, "start", { vm: "web" });
  if (opts.full) k.storage.setFull("local-b", true);
  const log: string[] = [];
  const port = {
    done: false,
    send(bytes: number, initiator: "source" | "destination", label: string, onDone: () => void) {
      k.network.transfer({ from: "a", to: "b", bytes, kind: "tcp", initiator, label, onDone: () => void (port.done || onDone()), onFail: (e) => port.failed(e) });
    },
    failed(err: VmscnError) {
      log.push(`failed ${err.code} ${k.scheduler.now}`);
      port.done = true;
    },
    settled() {
      log.push(`settled ${k.scheduler.now}`);
    },
  };
  const source = vmInfo(web)!.disks[0]!;
  const d = new DiskMigration(ctx, web, k.cluster.host("a"), k.cluster.host("b"), [{ source, datastore: "local-b", name: source.name }], port, { threshold: 0, zeroBlocks: false, blockHeader: 8, ...opts.options });
  return { k, ctx, d, log, port };
}

const src = (r: Rig) => r.d.disks[0]!.source;
const dst = (r: Rig) => r.k.storage.file("local-b", "web-disk0.vmdk");
/** Writes `n` bytes of `v` at the start of block `b` of a file (untimed in effect: issued now). */
const put = (r: Rig, f: ReturnType<typeof src>, host: string, b: number, v: number, n = 3) => f.write(host, b * B, new Uint8Array(n).fill(v), () => {});

t.test("bulk: every block crosses once, in full by default; the copy equals the source", async (t) => {
  const r = await rig();
  put(r, src(r), "a", 1, 7);
  put(r, src(r), "a", 3, 9);
  r.k.scheduler.run(1000); // the writes land (3 ns each)
  t.ok(r.d.start());
  let end = -1;
  const t0 = r.k.scheduler.now;
  r.d.bulk(() => (end = r.k.scheduler.now));
  t.equal(r.d.phase, "bulk");
  t.equal(r.d.report(t0).remaining, 4 * B, "nothing moved yet");
  r.k.scheduler.run();
  t.equal(end - t0, 4 * BLOCK_NS);
  t.equal(r.d.phase, "precopy");
  const rep = r.d.report(r.k.scheduler.now);
  t.same([rep["bulk-blocks"], rep.normal, rep.duplicate, rep.transferred, rep["normal-bytes"], rep["precopy-bytes"]], [4, 4, 0, 4 * (B + 8), 4 * B, 4 * (B + 8)]);
  t.same([rep.remaining, rep.total, rep["bulk-time"], rep.time], [0, 4 * B, 4 * BLOCK_NS, 4 * BLOCK_NS]);
  t.same(rep.files, ["local-b/web-disk0.vmdk"]);
  t.equal(r.d.mismatch(), null);
  t.same(Array.from(dst(r).peek(3 * B, 4)), [9, 9, 9, 0]);
  t.same(r.log, []);
  t.end();
});

t.test("zero-blocks: a block of zeros crosses as its header only", async (t) => {
  const r = await rig({ options: { zeroBlocks: true } });
  put(r, src(r), "a", 2, 5);
  r.k.scheduler.run(1000);
  r.d.start();
  const t0 = r.k.scheduler.now;
  let end = -1;
  r.d.bulk(() => (end = r.k.scheduler.now));
  r.k.scheduler.run();
  // Three zero blocks: read, 8 bytes, written; one block in full.
  t.equal(end - t0, 3 * (B + 8 + B) + BLOCK_NS);
  const rep = r.d.report(r.k.scheduler.now);
  t.same([rep.duplicate, rep.normal, rep.transferred], [3, 1, 4 * 8 + B]);
  t.equal(r.d.mismatch(), null);
  t.end();
});

t.test("a dirty pass re-sends the blocks written after their bulk read, not those written before", async (t) => {
  const r = await rig({ sizeBytes: 4 * B + 1000 }); // 5 blocks, the last 1000 bytes
  r.d.start();
  r.d.bulk(() => {
    // The pass runs at the end of the round: here, right after the bulk.
    r.d.pass(() => {});
  });
  // At 1.5 blocks' time: block 0 was read (and sent), block 1 is on its way, 3 not yet read.
  r.k.scheduler.at(Math.round(1.5 * BLOCK_NS), () => {
    put(r, src(r), "a", 0, 1);
    put(r, src(r), "a", 3, 2);
  });
  r.k.scheduler.run();
  const rep = r.d.report(r.k.scheduler.now);
  t.same(rep.rounds, { r1: { blocks: 1, bytes: B + 8, start: 4 * BLOCK_NS + (1000 + 1008 + 1000), duration: BLOCK_NS } });
  t.same([rep["bulk-blocks"], rep["resent-blocks"], rep.total, rep["dirty-sync-count"]], [5, 1, 4 * B + 1000, 1]);
  t.equal(r.d.mismatch(), null, "block 0's new bytes and block 3's are on the destination");
  t.same(Array.from(dst(r).peek(0, 1)), [1]);
  t.same(Array.from(dst(r).peek(3 * B, 1)), [2]);
  t.end();
});

t.test("allows: few enough dirty blocks, or a rule that gives up", async (t) => {
  const r = await rig({ options: { threshold: 1 } });
  r.d.start();
  t.equal(r.d.allows("threshold"), true);
  put(r, src(r), "a", 0, 1);
  put(r, src(r), "a", 1, 1);
  r.k.scheduler.run(1000);
  t.equal(r.d.dirty, 2);
  t.equal(r.d.allows("threshold"), false);
  t.equal(r.d.allows("downtime-limit"), false);
  t.equal(r.d.allows("few-dirty"), false);
  for (const reason of ["max-rounds", "no-progress", "max-iterations", "sent-3x"]) t.equal(r.d.allows(reason), true, reason);
  t.end();
});

t.test("stop-and-copy: the guest's IOs drain, then the dirty blocks go while suspended", async (t) => {
  const r = await rig();
  r.d.start();
  let phase = "";
  r.d.bulk(() => (phase = "bulk done"));
  r.k.scheduler.run();
  t.equal(phase, "bulk done");
  const t0 = r.k.scheduler.now;
  // A write in flight at switch-over (1 MiB: 1048576 ns) must land first.
  src(r).write("a", 2 * B, new Uint8Array(B).fill(4), () => {});
  let resumed = -1;
  r.d.switchOver(true, () => {
    resumed = r.k.scheduler.now;
    r.d.resume(false);
  });
  r.k.scheduler.run();
  t.equal(resumed - t0, B + BLOCK_NS, "drain, then one block");
  const rep = r.d.report(r.k.scheduler.now);
  t.same([rep["downtime-blocks"], rep["resent-blocks"], rep["downtime-bytes"], rep["dirty-sync-count"]], [1, 1, B + 8, 1]);
  t.equal(r.d.phase, "ended");
  t.same(r.log, [`settled ${resumed}`]);
  t.equal(vmInfo(r.d.world)!.disks[0], dst(r), "the VM uses the destination's file");
  t.equal(src(r).logs.length, 0, "logs closed");
  t.equal(r.d.mismatch(), null);
  t.end();
});

t.test("after resume: a guest IO on an absent block waits for its demand fetch; the background thread pulls the rest", async (t) => {
  const L = 50_000;
  const r = await rig({ latency: L });
  r.d.start();
  // No bulk (pure demand paging): every block is absent at resume.
  r.d.switchOver(false, () => r.d.resume(true));
  r.k.scheduler.run(0);
  t.equal(r.d.phase, "postcopy");
  t.equal(r.d.pending, 4);
  t.equal(dst(r).absent!.count, 4);
  // The guest reads block 3 at once: the background thread has block 0 under way.
  let readAt = -1;
  dst(r).read("b", 3 * B + 10, 100, () => (readAt = r.k.scheduler.now), undefined, { data: false });
  const rep0 = r.d.report(r.k.scheduler.now);
  t.same([rep0["postcopy-requests"], rep0.waits, rep0["blocks-left"], rep0.remaining], [1, 1, 4, 4 * B]);
  r.k.scheduler.run();
  // The background's block 0 and the demand's block 3 (50 us later) share each resource:
  // local-a: block 0 alone to 50000, then both at 0.5 B/ns: 0 read by 2047152, 3 by 2097152;
  // the link: 0 alone to 2097152, then both: 0 drained at 4094320 (+50 us: 4144320), 3 at
  // 4144320 (+50 us: 4194320); local-b: 0's fill alone to 4194320, then both: 0 at 6191472,
  // 3 at 6241472. The guest's 100 bytes then take 100 ns (block 1 is being read on local-a).
  t.equal(readAt, 6_241_572);
  const rep = r.d.report(r.k.scheduler.now);
  t.same([rep["postcopy-requests"], rep["background-blocks"], rep.waits, rep["blocks-left"], rep.remaining], [1, 3, 1, 0, 0]);
  t.equal(rep["postcopy-bytes"], 4 * (B + 8));
  t.equal(rep["stall-time"], readAt - 100);
  t.equal(r.log.length, 1);
  t.match(r.log[0], /^settled /);
  t.equal(dst(r).absent, null);
  t.equal(r.d.mismatch(), null);
  t.end();
});

t.test("demand fetch timing alone: request one way, read, transfer, fill", async (t) => {
  const L = 50_000;
  const r = await rig({ latency: L, sizeBytes: 2 * B });
  put(r, src(r), "a", 1, 8);
  r.k.scheduler.run(1000);
  const t0 = r.k.scheduler.now;
  r.d.start();
  r.d.switchOver(false, () => r.d.resume(false));
  let got: Uint8Array | undefined;
  let at = -1;
  dst(r).read("b", B, 4, (b) => {
    got = b;
    at = r.k.scheduler.now;
  });
  // A second IO on the same block shares the fetch.
  dst(r).write("b", B + 100, 4, () => {});
  r.k.scheduler.run();
  // 50 us there; read 1 MiB; 1 MiB + 8 and 50 us back; fill 1 MiB; then the read's 4 B and
  // the write's 4 B together at 0.5 B/ns each.
  t.equal(at - t0, L + BLOCK_NS + L + 8);
  t.same(Array.from(got!), [8, 8, 8, 0]);
  const rep = r.d.report(r.k.scheduler.now);
  t.same([rep["postcopy-requests"], rep.waits, rep["background-blocks"], rep["blocks-left"]], [1, 2, 0, 1], "without the background thread block 0 stays absent");
  t.equal(rep["stall-time"], 2 * (L + BLOCK_NS + L));
  t.equal(r.d.phase, "postcopy");
  t.same(r.log, []);
  t.end();
});

t.test("kill: the source is gone; waiting guest IOs fail, later ones are refused", async (t) => {
  const r = await rig({ latency: 50_000 });
  r.d.start();
  r.d.switchOver(false, () => r.d.resume(false));
  const seen: string[] = [];
  dst(r).read("b", 0, 10, () => seen.push("done"), (e) => seen.push(`${e.code}: ${e.message}`));
  r.k.scheduler.at(10_000, () => {
    const err = r.ctx.error("VMSCN5010", 'host "a" crashed');
    r.d.kill(err);
  });
  r.k.scheduler.run();
  t.same(seen, ['VMSCN5010: host "a" crashed']);
  t.throws(() => dst(r).read("b", B, 10, () => {}), /its blocks cannot arrive any more/);
  t.equal(r.d.phase, "ended");
  t.equal(r.d.report(r.k.scheduler.now).remaining, 4 * B, "frozen at the failure");
  t.end();
});

t.test("abort during the bulk: the partial file is removed, the logs closed, the VM keeps its disk", async (t) => {
  const r = await rig();
  r.d.start();
  r.d.bulk(() => t.fail("aborted"));
  r.k.scheduler.at(Math.round(1.5 * BLOCK_NS), () => r.d.abort());
  r.k.scheduler.run();
  t.equal(r.k.storage.datastore("local-b").hasFile("web-disk0.vmdk"), false);
  t.equal(src(r).logs.length, 0);
  t.equal(vmInfo(r.d.world)!.disks[0], src(r));
  const rep = r.d.report(r.k.scheduler.now);
  t.same([rep["bulk-blocks"], rep.remaining, rep.time], [2, 3 * B, Math.round(1.5 * BLOCK_NS)]);
  t.same(r.log, []);
  t.end();
});

t.test("failures of the copy's IOs fail the migration, coded", async (t) => {
  const full = await rig({ full: true });
  t.equal(full.d.start(), false, "no space for the new file");
  full.k.scheduler.run();
  t.same(full.log, ["failed VMSCN5016 0"]);

  const crash = await rig();
  crash.d.start();
  crash.d.bulk(() => t.fail("crashed"));
  crash.k.act(Math.round(1.5 * BLOCK_NS), "crash", { host: "a" });
  crash.k.scheduler.run();
  t.match(crash.log, [/^failed VMSCN5010 /]);

  // A read refused at issue (the source host already down) is a failure on its own event.
  const down = await rig();
  down.d.start();
  down.k.act(0, "crash", { host: "a" });
  down.k.scheduler.run(0);
  down.d.bulk(() => t.fail("down"));
  down.k.scheduler.run();
  t.same(down.log, ["failed VMSCN5010 0"]);
  t.end();
});


t.test("mismatch names a block the destination holds differently", async (t) => {
  const r = await rig({ sizeBytes: 2 * B });
  r.d.start();
  r.d.bulk(() => {});
  r.k.scheduler.run();
  t.equal(r.d.mismatch(), null);
  put(r, dst(r), "b", 1, 6);
  r.k.scheduler.run();
  t.equal(r.d.mismatch(), 'block 1 of disk "web-disk0.vmdk" on "b" differs from the source\'s at switch-over');
  t.end();
});

// ---- through the migrate verb ----------------------------------------------------------

async function cluster(latency = 0): Promise<Kernel> {
  const k = createKernel({ seed: 3, checkInvariants: true });
  await k.plugins.registerAll([compression, plugin]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 1 * GiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 1 * GiB });
  k.addLink({ a: "a", b: "b", bandwidth: 1e9, latency });
  for (const [name, host] of [["local-a", "a"], ["local-b", "b"]] as const) {
    k.storage.addDatastore(name, { hosts: [host], bandwidth: 1e9, latency: 0 });
    k.cluster.host(host).datastores.push(name);
  }
  return k;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const section = (k: Kernel, vm: string): any => (k.report("t") as any).migration[vm];

t.test("disk-threshold holds pre-copy back while the guest keeps blocks dirty; max-rounds gives up and they go at switch-over", async (t) => {
  const k = await cluster();
  // A 4 MiB disk written all over, again and again: every block is dirty at every pass's end.
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: 4 * B }], workload: { activities: [], mix: RANDOM, scripted: [], disk: [{ op: "write", rate: 64 * MiB, pattern: "sequential" }] } });
  k.act(0, "start", { vm: "web" });
  const act = k.act(10 * MS, "migrate", { vm: "web", host: "b" }, { "disk-threshold": 0, "max-rounds": 3 });
  k.run(1 * SECOND);
  const m = section(k, "web");
  t.equal(m.status, "completed", act.failure ?? "");
  // Memory (idle) converges in round 1 every time; the disk does not, until round 3 gives up.
  t.equal(m["round-count"], 3);
  t.equal(m["switch-reason"], "max-rounds");
  t.same([m.rounds.r2.pages, m.rounds.r3.pages], [0, 0]);
  t.same(Object.keys(m.disk.rounds), ["r1", "r2", "r3"]);
  t.ok(m.disk.rounds.r2.blocks > 0 && m.disk.rounds.r3.blocks > 0);
  t.ok(m.disk["downtime-blocks"] > 0, "the blocks still dirty went while suspended");
  t.equal(m.disk["resent-blocks"], m.disk.rounds.r1.blocks + m.disk.rounds.r2.blocks + m.disk.rounds.r3.blocks + m.disk["downtime-blocks"]);
  t.equal(m.disk["dirty-sync-count"], 4);
  t.equal(m.disk.remaining, 0);
  t.equal(m.disk.transferred, (4 + m.disk["resent-blocks"]) * (B + 8));
  // The same with the default disk-threshold (8 ≥ the disk's 4 blocks): one round.
  const k2 = await cluster();
  k2.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: 4 * B }], workload: { activities: [], mix: RANDOM, scripted: [], disk: [{ op: "write", rate: 64 * MiB, pattern: "sequential" }] } });
  k2.act(0, "start", { vm: "web" });
  k2.act(10 * MS, "migrate", { vm: "web", host: "b" }, { "max-rounds": 3 });
  k2.run(1 * SECOND);
  t.equal(section(k2, "web")["round-count"], 1);
  t.equal(section(k2, "web")["switch-reason"], "threshold");
  t.end();
});

t.test("after pre-copy with demand paging: a block written during the last pass is absent after resume and fetched with its new bytes", async (t) => {
  const k = await cluster();
  const web = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: 4 * B }] });
  const disk = vmInfo(web)!.disks[0]!;
  k.act(0, "start", { vm: "web" });
  const t0 = 1 * MS;
  k.act(t0, "migrate", { vm: "web", host: "b" }, { "disk-threshold": 0, "max-rounds": 1, after: ["demand-paging"] });
  // Bulk: 4 blocks (12582944 ns); round 1: 256 pages × 4104 B (1050624 ns); then the pass.
  const pass = t0 + 4 * BLOCK_NS + 256 * 4104;
  // During round 1: block 1 changes (the pass re-sends it); during the pass, block 0 (behind
  // its walk: dirty at switch-over).
  k.scheduler.at(pass - 500_000, () => disk.write("a", B + 7, Uint8Array.of(1, 1), () => {}));
  k.scheduler.at(pass + 500_000, () => disk.write("a", 5, Uint8Array.of(2, 2, 2), () => {}));
  let got: number[] = [];
  k.scheduler.at(100 * MS, () => vmInfo(web)!.disks[0]!.read("b", 0, 8, (b) => (got = Array.from(b!))));
  k.run(1 * SECOND);
  const m = section(k, "web");
  t.equal(m.status, "completed");
  t.same([m.disk["bulk-blocks"], m.disk.rounds.r1.blocks, m.disk["downtime-blocks"], m.disk["postcopy-requests"], m.disk["blocks-left"]], [4, 1, 0, 1, 0]);
  t.equal(m.disk.rounds.r1.start, pass);
  t.same(got, [0, 0, 0, 0, 0, 2, 2, 2], "the block came with the bytes written before the switch-over");
  t.equal(m["depends-on-source"], false);
  t.ok(m["source-dependency-time"] > 99 * MS - pass, "the VM needed the source until its disk read fetched block 0");
  const copy = k.storage.file("local-b", "web-disk0.vmdk");
  t.same(Array.from(copy.peek(B + 6, 4)), [0, 1, 1, 0]);
  t.equal(k.storage.file("local-a", "web-disk0.vmdk"), disk, "the source's disk is kept");
  t.end();
});

t.test("a source crash while disk blocks are absent kills the destination VM; its waiting disk IO fails", async (t) => {
  const k = await cluster(50 * US);
  const web = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: 4 * B }], workload: { activities: [], mix: RANDOM, scripted: [], disk: [{ op: "read", rate: 4 * MiB, pattern: "uniform" }] } });
  k.act(0, "start", { vm: "web" });
  const act = k.act(1 * MS, "migrate", { vm: "web", host: "b", mode: "demand-paging" }, {});
  // A fetch takes 2 × 50 us + 3 MiB at 1 B/ns (about 3.2 ms): a read is waiting at some point
  // in every 16 ms; crash in the middle of one.
  let crashAt = -1;
  const poll = (): void => {
    const f = vmInfo(web)!.disks[0]!;
    if (f.absent !== null && f.absent.waiters.size > 0 && crashAt < 0) {
      crashAt = k.scheduler.now;
      k.act(crashAt, "crash", { host: "a" });
    } else if (crashAt < 0) k.scheduler.at(k.scheduler.now + 100 * US, poll);
  };
  k.scheduler.at(2 * MS, poll);
  k.run(1 * SECOND);
  const m = section(k, "web");
  t.ok(crashAt > 0);
  t.equal(m.status, "failed");
  t.match(act.failure, /^VMSCN5010 at /);
  t.match(m.failure, /^host "a" crashed at .* while the destination still depended on it for 256 pages and \d disk blocks?$/);
  t.equal(web.state, "stopped");
  t.match(web.failure, /^VMSCN5010 at [\d.]+ s: migration: host "a" crashed/);
  t.equal(k.workload.stats(web)!.diskErrors, 1, "the read waiting for its block failed");
  t.ok(m.disk["blocks-left"] > 0);
  t.end();
});

t.test("a link down while a disk block is being fetched after resume kills the destination VM", async (t) => {
  const k = await cluster();
  const web = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: 4 * B }] });
  k.act(0, "start", { vm: "web" });
  const act = k.act(1 * MS, "migrate", { vm: "web", host: "b", mode: "demand-paging" }, { after: ["background"] });
  // The background thread's first block crosses from about 1 ms + 1 MiB read on.
  k.act(1 * MS + B + 200 * US, "link", { link: "a<->b", state: "down" });
  k.run(1 * SECOND);
  const m = section(k, "web");
  t.equal(m.status, "failed");
  t.match(act.failure, /^VMSCN5010 /);
  t.match(m.failure, /^the destination could no longer fetch pages from "a"/);
  t.equal(web.state, "stopped");
  t.ok(m.disk["blocks-left"] === 4, "no block arrived");
  t.end();
});

t.test("the destination's datastore full: the copy cannot start, the migration fails and the VM stays", async (t) => {
  const k = await cluster();
  const web = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: 4 * B }] });
  k.act(0, "start", { vm: "web" });
  k.storage.setFull("local-b", true);
  const act = k.act(1 * MS, "migrate", { vm: "web", host: "b" }, {});
  k.run(1 * SECOND);
  const m = section(k, "web");
  t.equal(m.status, "failed");
  t.match(act.failure, /^VMSCN5016 .*no space left on datastore "local-b"/);
  t.equal(web.host.name, "a");
  t.equal(web.state, "running");
  t.equal(k.storage.datastore("local-b").stats().files, 0);
  t.end();
});
