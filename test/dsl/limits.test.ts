// A scenario too big for the machine is refused before it runs, with its largest contributors.
import "reflect-metadata";
import t from "tap";
import { estimateMemory } from "../../app/limits.js";
import type { Plan } from "../../dsl/plan.js";
import { files, run, check } from "./validate/helpers.js";
import { maxMemory, parseArgs } from "../../cli/args.js";

const SCENARIO = `scenario "big" {
  host a { cpus 8  memory 1 TiB }
  host b { cpus 8  memory 1 TiB }
  link a <-> b { bandwidth 10 Gbit/s }
  vm huge on a { vcpus 4  memory 512 GiB }
  vm small on a { vcpus 1  memory 1 GiB }
  at 1 s: migrate huge to b
  run until 2 s
}
`;

t.test("the estimate: 12 bytes per frame of every host, 5 per guest page, a second page map per migration, the series, the baseline", async (t) => {
  const c = await check(files({ "t.vmscn": SCENARIO }));
  const e = estimateMemory(c.plan!);
  const frames = (2 * 2 ** 40) / 4096;
  const huge = (512 * 2 ** 30) / 4096;
  const small = 2 ** 30 / 4096;
  // 2 hosts and 1 link, sampled at 0, 0.1, ... 2 s and at the end: 22 points of 16 B.
  const series = 3 * 22 * 16;
  t.equal(e.totalBytes, frames * 12 + huge * 5 * 2 + small * 5 + series + 96 * 2 ** 20);
  t.same(e.contributors, [
    { what: "the frame tables of 2 hosts (2 TiB of machine memory)", bytes: frames * 12 },
    { what: "VM huge (512 GiB guest): page map", bytes: huge * 5 },
    { what: '"migrate huge" at 1 s: the VM\'s second page map', bytes: huge * 5 },
    { what: "the simulator itself", bytes: 96 * 2 ** 20 },
    { what: "VM small (1 GiB guest): page map", bytes: small * 5 },
    { what: "the time series (3 of at most 22 points)", bytes: series },
  ]);
});

t.test("hosts count whether or not anything runs on them: ten thousand hosts of 1 GiB need 30 GiB of frame tables", async (t) => {
  const hosts = Array.from({ length: 10_000 }, (_, i) => ({ name: `h${i}`, cpus: 1, memoryBytes: 2 ** 30 }));
  const links = Array.from({ length: 5_000 }, (_, i) => ({ a: `h${2 * i}`, b: `h${2 * i + 1}`, bandwidth: 1e9, latency: 0 }));
  const plan = { hosts, links, vms: [], actions: [], hypercalls: [], until: undefined } as unknown as Plan;
  const e = estimateMemory(plan);
  t.same(e.contributors, [
    { what: "the frame tables of 10000 hosts (9.77 TiB of machine memory)", bytes: 10_000 * 262_144 * 12 },
    // run until done: as long as it takes, so every series may fill up (2048 points).
    { what: "the time series (15000 of at most 2048 points)", bytes: 15_000 * 2048 * 16 },
    { what: "the simulator itself", bytes: 96 * 2 ** 20 },
  ]);
  t.ok(e.totalBytes > 8 * 2 ** 30 * 3, "far over an 8 GB cap: refused before it runs");
});

// Every verb of the built-in plugins that allocates per guest page: 1 GiB guests, P pages each.
const PLUGINS = `scenario "plugins" {
  host a { cpus 8  memory 64 GiB  nodes 8 }
  host b { cpus 8  memory 64 GiB }
  link a <-> b { bandwidth 10 Gbit/s }
  datastore san { shared-by a, b  bandwidth 1 GB/s }
  vm web on a { vcpus 1  memory 1 GiB  disk san 2 GiB }
  vm w on b { vcpus 1  memory 1 GiB }
  at 0 s: start web
  at 1 s: tps on a
  at 2 s: fork web { children 3 }
  at 3 s: clone web { workers 2  memory on-demand }
  at 4 s: clone web into w
  at 5 s: checkpoint web { every 1 s  count 2  block-pages 4 }
  at 7 s: suspend web
  at 8 s: restore web { file "web-1.ckpt" }
  at 9 s: web hypercall fork { children 2 }
  at 9.5 s: web hypercall fork { into "w" }
  at 9.6 s: fork web into w
  at 9.7 s: clone web to b
  run until 10 s
}
`;

t.test("the plugins' verbs: children, clones and images, checkpoint files and tables, restore tables, page sharing", async (t) => {
  const c = await check(files({ "t.vmscn": PLUGINS }));
  t.same(c.diagnostics, []);
  const P = 2 ** 30 / 4096;
  const e = estimateMemory(c.plan!);
  const by = new Map(e.contributors.map((x) => [x.what, x.bytes]));
  // The two 64 GiB hosts' frames (12 B each, and 4 B of owner once a VM forks); 2 hosts and 1
  // link sampled over 10 s: 102 points.
  const frames = 2 * 64 * P * 12;
  const owners = 2 * 64 * P * 4;
  const series = 3 * 102 * 16;
  t.same(
    [...by],
    [
      ['"checkpoint web" at 5 s: 2 checkpoint files kept in memory (no --out)', 2 * 2 ** 30],
      ["the frame tables of 2 hosts (128 GiB of machine memory)", frames],
      // 10 guests' pages (web, w, 3 children, 3 clones, 2 hypercall children; the worker w is one of the declared) × 104 B.
      ['"tps on" at 1 s: page sharing\'s tables over 2621440 guest pages', 10 * P * 104],
      ["the frames' owners, recorded once a VM forks", owners],
      ["the simulator itself", 96 * 2 ** 20],
      // New VMs: a page map each (5 B a page); their frames are in their host's table.
      ['"fork web" at 2 s: 3 new VMs\' page maps', 3 * P * 5],
      // 10 B a page, 17 B a memory block of 4 pages.
      ['"checkpoint web" at 5 s: the save\'s page and block tables', P * 10 + (P / 4) * 17],
      // On demand, each clone also marks the pages being fetched (1 B a page).
      ['"clone web" at 3 s: 2 new VMs\' page maps', 2 * P * 6],
      ['"web hypercall fork" at 9 s: 2 new VMs\' page maps', 2 * P * 5],
      ['"restore web" at 8 s: the restore\'s page tables', P * 9],
      ["VM web (1 GiB guest): page map", P * 5],
      ["VM w (1 GiB guest): page map", P * 5],
      ['"fork web" at 2 s: the captured image\'s page map', P * 5],
      ['"clone web" at 3 s: the captured image\'s page map', P * 5],
      ['"clone web" at 4 s: the captured image\'s page map', P * 5],
      // Into a declared worker (fork at 9.6 s, the hypercall at 9.5 s): no new VM, only the image.
      ['"fork web" at 9.6 s: the captured image\'s page map', P * 5],
      ['"clone web" at 9.7 s: a new VM\'s page map', P * 5],
      ['"clone web" at 9.7 s: the captured image\'s page map', P * 5],
      // The hypercalls come after the actions (the plan keeps them apart).
      ['"web hypercall fork" at 9 s: the captured image\'s page map', P * 5],
      ['"web hypercall fork" at 9.5 s: the captured image\'s page map', P * 5],
      ["the time series (3 of at most 102 points)", series],
    ],
  );
  const rest = 1150.25 * P + frames + owners + series + 96 * 2 ** 20;
  t.equal(e.totalBytes, rest + 2 * 2 ** 30);
  // With --out the checkpoint files go to disk: not counted.
  t.equal(estimateMemory(c.plan!, { filesOnDisk: true }).totalBytes, rest);
});

t.test("what the estimate does not know costs nothing: an action without a VM, another plugin's hypercall", async (t) => {
  const plan = {
    vms: [{ name: "x", memoryBytes: 64 * 2 ** 20 }],
    actions: [{ time: 0, verb: "kill", args: { world: "x.helper" }, options: {} }],
    hypercalls: [{ time: 0, vm: "x", name: "balloon", options: {}, vcpu: 0 }],
  } as unknown as Plan;
  t.same(estimateMemory(plan).contributors, [
    { what: "the simulator itself", bytes: 96 * 2 ** 20 },
    { what: "VM x (64 MiB guest): page map", bytes: 16384 * 5 },
  ]);
});

t.test("over --max-memory: VMSCN0223 at the scenario, nothing runs", async (t) => {
  const path = files({ "t.vmscn": SCENARIO });
  const r = await run(path, { maxMemoryBytes: 4 * 2 ** 30 });
  t.equal(r.failedPhase, "validate");
  t.equal(r.report, undefined);
  t.equal(r.diagnostics.length, 1);
  const d = r.diagnostics[0]!;
  t.equal(d.code, "VMSCN0223");
  t.equal(d.loc.line, 1);
  t.equal(d.message, 'this scenario would need about 7522 MiB of memory, more than the 4096 MiB allowed; the largest: the frame tables of 2 hosts (2 TiB of machine memory) 6144 MiB; VM huge (512 GiB guest): page map 640 MiB; "migrate huge" at 1 s: the VM\'s second page map 640 MiB');
  const fits = await check(path, { maxMemoryBytes: 8 * 2 ** 30 });
  t.same(fits.diagnostics, []);
});

t.test("a checkpoint file kept in memory counts unless the run has an output folder", async (t) => {
  const path = files({
    "t.vmscn": `scenario "ckpt" {
  host a { cpus 8  memory 64 GiB }
  datastore san { on a  bandwidth 1 GB/s }
  vm db on a { vcpus 1  memory 16 GiB  disk san 1 GiB }
  at 0 s: start db
  at 1 s: checkpoint db
  run until 2 s
}
`,
  });
  // The 64 GiB host's frame table (16 Mi frames × 12 B: 192 MiB) + the 16 GiB guest's page map (4 Mi pages × 5 B: 20 MiB)
  // + the file (16384 MiB) + the save's tables (4 Mi × 10 B + 512 Ki blocks × 17 B: 48.5 MiB) + 96 MiB + one series = 16740.5 MiB.
  const c = await check(path, { maxMemoryBytes: 16 * 2 ** 30 });
  t.equal(c.diagnostics[0]?.code, "VMSCN0223");
  t.match(c.diagnostics[0]!.message, /would need about 16741 MiB .* the largest: "checkpoint db" at 1 s: the checkpoint file kept in memory \(no --out\) 16384 MiB; host a \(64 GiB\): its frame table 192 MiB; the simulator itself 96 MiB$/);
  const out = await check(path, { maxMemoryBytes: 16 * 2 ** 30, outDir: t.testdir({}) });
  t.same(out.diagnostics, [], "with --out the file is on disk");
});

t.test("--max-memory parses sizes; the default is 80% of the machine", async (t) => {
  t.equal(maxMemory(parseArgs(["--max-memory", "8GiB"], ["max-memory"], []), 100), 8 * 2 ** 30);
  t.equal(maxMemory(parseArgs(["--max-memory=512 MiB"], ["max-memory"], []), 100), 512 * 2 ** 20);
  t.equal(maxMemory(parseArgs(["--max-memory", "1.5GB"], ["max-memory"], []), 100), 1.5e9);
  t.equal(maxMemory(parseArgs([], ["max-memory"], []), 1000), 800);
  t.throws(() => maxMemory(parseArgs(["--max-memory", "lots"], ["max-memory"], []), 1), /needs a size such as 8GiB/);
});

t.test("a migration with XBZRLE counts its cache: the slots asked for, no more than the guest's pages rounded up to a power of two", async (t) => {
  const text = (cache: string) => `scenario "x" {
  host a { cpus 8  memory 4 GiB }
  host b { cpus 8  memory 4 GiB }
  link a <-> b { bandwidth 10 Gbit/s }
  vm web on a { vcpus 1  memory 1 GiB }
  vm small on a { vcpus 1  memory 3 MiB }
  at 1 s: migrate web to b { xbzrle${cache} }
  at 1 s: migrate small to b { xbzrle  xbzrle-cache-size 4294967296 MiB }
  run until 2 s
}
`;
  const cacheOf = async (cache: string) => {
    const c = await check(files({ "t.vmscn": text(cache) }));
    t.same(c.diagnostics, []);
    return new Map(estimateMemory(c.plan!).contributors.map((x) => [x.what, x.bytes]));
  };
  // The default 64 MiB: 16384 slots of 20 bytes; a 4 PiB cache of a 3 MiB guest (768 pages): 1024 slots.
  const d = await cacheOf("");
  t.equal(d.get('"migrate web" at 1 s: the XBZRLE cache'), 16384 * 20);
  t.equal(d.get('"migrate small" at 1 s: the XBZRLE cache'), 1024 * 20);
  t.equal((await cacheOf("  xbzrle-cache-size 16 GiB")).get('"migrate web" at 1 s: the XBZRLE cache'), 262144 * 20, "16 GiB for a 1 GiB guest: its 262144 pages");
});
