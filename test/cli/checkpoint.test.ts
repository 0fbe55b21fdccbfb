// `vmscn checkpoint inspect`: a file a run wrote, listed and verified; bad files refused with
// the restore's codes, the file and the offset (exit 2); usage errors.
import "reflect-metadata";
import t from "tap";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKernel } from "../../core/run/container.js";
import compression from "../../plugins/compression/index.js";
import lazyCheckpoint from "../../plugins/lazy-checkpoint/index.js";
import { H } from "../../plugins/lazy-checkpoint/format.js";
import { checkpointCommand, inspectCheckpoint, writerName } from "../../cli/commands/checkpoint.js";

const bundle = fileURLToPath(new URL("../../dist/vmscn.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "vmscn-inspect-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function save(name: string, options: Record<string, string | number>, initial = { zero: 0.25, images: [], random: 0.75, compressible: [] }): Promise<string> {
  const k = createKernel({ seed: 1, outDir: join(dir, name) });
  await k.plugins.registerAll([compression, lazyCheckpoint]);
  k.addHost({ name: "a", cpus: 2, memoryBytes: 1 << 30 });
  k.addDatastore({ name: "san", hosts: ["a"], bandwidth: 1e9, latency: 0 });
  k.createVm({ name: "web", host: "a", vcpus: 2, memoryBytes: 1 << 20, deviceStateBytes: 1000, initial, workload: { activities: [], mix: initial, scripted: [{ at: 1_001_000_000, op: "write", first: 0, count: 64 }] } });
  k.act(0, "start", { vm: "web" });
  k.act(1e9, "checkpoint", { vm: "web", datastore: "san" }, options);
  k.run(2e9);
  return join(dir, name, "san", "web.ckpt");
}

async function cmd(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await checkpointCommand(argv, (s) => (out += `${s}\n`), (s) => (err += `${s}\n`));
  return { code, out, err };
}

t.test("inspect lists the header, both parts and the maps; --verify reads every IO block", async (t) => {
  const file = await save("plain", {});
  const r = await cmd("inspect", file, "--maps", "--verify");
  t.equal(r.code, 0, r.err);
  t.match(r.out, `checkpoint file ${file}`);
  t.match(r.out, /format {9}version 1, complete\n/);
  t.match(r.out, /VM {13}web on host a, 2 vCPUs, 256 pages \(1 MiB\), checkpoint at 1 s/);
  t.match(r.out, /8 pages per memory block, 8 memory blocks per IO block \(IO blocks of 266240 bytes\)/);
  t.match(r.out, /codec {10}none/);
  t.match(r.out, /device state {3}1000 bytes at offset 4096/);
  t.match(r.out, /first part 1 \(vCPU save threads\), second part \d+ \(background threads\)/);
  t.match(r.out, /memory-IO map \(memory block → IO block at file offset\)\n {2}mb0 {2}io\d+ @ \d+/);
  t.match(r.out, /IO-memory map \(IO block → its memory blocks in order\)\n {2}io0 {2}/);
  t.match(r.out, /verified {7}\d+ IO blocks, \d+ memory blocks, \d+ pages: every CRC-32 matches/);
  const x = inspectCheckpoint(file, true);
  t.same(x.firstPart.length, 1, "the vCPU saved the 8 blocks it wrote to: one IO block, the first part");
  t.equal(x.header.memoryBlocks, 32);
  t.equal(x.verified!.memoryBlocks + x.zeroBlocks, 32);
  const j = JSON.parse((await cmd("inspect", file, "--json")).out);
  t.equal(j.header.vmName, "web");
  t.equal(j.memoryIoMap.length, 32);
  t.equal(j.ioMemoryMap.length, j.header.ioBlocks);
  t.same([writerName(1), writerName(0x10002)], ["vCPU 1", "background thread 2"]);
});

t.test("a compressed file: codec shown, no IO-memory map, bodies decompressed under --verify", async (t) => {
  const file = await save("zlib", { compression: "zlib", level: 9 }, { zero: 0, images: [], random: 0, compressible: [{ level: 12, fraction: 1 }] } as never);
  const r = await cmd("inspect", file, "--verify", "--maps");
  t.equal(r.code, 0, r.err);
  t.match(r.out, /codec {10}zlib level 9/);
  t.match(r.out, /IO-memory map {2}not used/);
  t.notMatch(r.out, /IO-memory map \(IO block/);
  t.match(r.out, /256 pages: every CRC-32 matches/);
  const s = await save("snappy", { compression: "snappy" });
  t.match((await cmd("inspect", s)).out, /codec {10}snappy/);
  t.equal((await cmd("inspect", s, "--json")).out.includes('"ioMemoryMap": null'), true);
});

t.test("bad files: the code, the file and the offset, exit 2", async (t) => {
  const file = await save("bad", {});
  const good = readFileSync(file);
  const write = (name: string, b: Buffer): string => {
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  };
  const trunc = await cmd("inspect", write("t.ckpt", good.subarray(0, 5000)));
  t.equal(trunc.code, 2);
  t.match(trunc.err, /^vmscn: error VMSCN7302: checkpoint file ".*t.ckpt" is refused at offset 5000: it is truncated/);
  const v = Buffer.from(good);
  v.writeUInt32LE(9, H.version);
  t.match((await cmd("inspect", write("v.ckpt", v))).err, /VMSCN7303.*offset 8: it is format version 9/);
  const x = inspectCheckpoint(file, false);
  const d = Buffer.from(good);
  d[x.header.ioAreaOffset + 4096 + 10] ^= 0xff;
  const plain = await cmd("inspect", write("d.ckpt", d));
  t.equal(plain.code, 0, "without --verify the IO blocks are not read");
  const bad = await cmd("inspect", write("d.ckpt", d), "--verify");
  t.equal(bad.code, 2);
  t.match(bad.err, new RegExp(`VMSCN7301.*offset ${x.header.ioAreaOffset + 28}: IO block 0 is corrupt: the CRC-32 does not match`));
  const missing = await cmd("inspect", join(dir, "nope.ckpt"));
  t.equal(missing.code, 2);
  t.match(missing.err, /^vmscn: error VMSCN7306: checkpoint file ".*nope.ckpt" cannot be read: it does not exist\n$/);
  // Not a regular file: refused without reading it (a FIFO is not waited on).
  const fifo = join(dir, "fifo.ckpt");
  const special: [string, string][] = [[dir, "a folder"], ["/dev/zero", "a character device"]];
  if (spawnSync("mkfifo", [fifo]).status === 0) special.push([fifo, "a FIFO"]);
  else t.pass("no FIFO here (mkfifo failed)");
  for (const [path, kind] of special) {
    const r = await cmd("inspect", path, "--verify");
    t.equal(r.code, 2, path);
    t.equal(r.err, `vmscn: error VMSCN7310: checkpoint file "${path}" is refused: it is ${kind}, not a regular file\n`);
  }
});

t.test("two runs sharing --out at once: each save completes or is dropped with VMSCN7311; the file is whole; no temporary file is left", { skip: existsSync(bundle) ? false : "dist/vmscn.js is missing: run `npm run build`" }, async (t) => {
  const out = join(dir, "shared");
  const scenario = join(dir, "shared.vmscn");
  writeFileSync(scenario, `scenario "shared" {
  host a { cpus 4  memory 1 GiB }
  datastore san { on a  bandwidth 1 GB/s }
  vm web on a { vcpus 1  memory 32 MiB  initial random 100% }
  at 0 s: checkpoint web to san
  run until 2 s
}
`);
  const once = () =>
    new Promise<{ code: number | null; out: string }>((done) => {
      const p = spawn(process.execPath, [bundle, "run", scenario, "--out", out, "--json", "-"]);
      let text = "";
      p.stdout.on("data", (d: Buffer) => (text += d.toString()));
      p.on("close", (code) => done({ code, out: text }));
    });
  for (let round = 0; round < 2; round++) {
    const runs = await Promise.all([once(), once()]);
    const saves = runs.map((r) => {
      t.equal(r.code, 0);
      const s = JSON.parse(r.out).checkpoint.web.save;
      return s.status === "completed" ? "completed" : `${s.status} ${s["failure-code"]}`;
    });
    for (const s of saves) t.match(s, /^(completed|failed VMSCN7311)$/, `round ${round}: ${s}`);
    t.ok(saves.includes("completed"), `round ${round}: one save at least completes`);
    t.same(readdirSync(join(out, "san")), ["web.ckpt"], `round ${round}: the file and nothing else`);
    t.ok(inspectCheckpoint(join(out, "san", "web.ckpt"), true).verified, `round ${round}: the file is whole`);
  }
});

t.test("usage errors", async (t) => {
  await t.rejects(cmd(), /takes a subcommand: inspect \(got none\)/);
  await t.rejects(cmd("list"), /subcommand: inspect \(got "list"\)/);
  await t.rejects(cmd("inspect"), /takes one file/);
  await t.rejects(cmd("inspect", "a", "b"), /takes one file/);
});
