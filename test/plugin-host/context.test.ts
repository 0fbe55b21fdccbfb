import "reflect-metadata";
import t from "tap";
import { readFileSync } from "node:fs";
import { createKernel } from "../../core/run/container.js";
import { definePlugin } from "../../core/plugin-host/define.js";
import { KERNEL_CODES, VmscnError } from "../../core/errors.js";
import { MS } from "../../core/sim/time.js";
import type { PluginContext } from "../../core/plugin-host/context.js";
import { builtinPlugins } from "../../app/builtins.js";

const MiB = 1024 ** 2;

async function withPlugin(register: (k: PluginContext) => void) {
  const kernel = createKernel({ seed: 3 });
  kernel.addHost({ name: "a", cpus: 4, memoryBytes: 64 * MiB });
  kernel.addHost({ name: "b", cpus: 4, memoryBytes: 64 * MiB });
  await kernel.plugins.registerAll([definePlugin({ name: "probe", version: "1.0.0", kernel: "^1", register })]);
  return kernel;
}

t.test("signals, slots, random streams, timers and system worlds through the context", async (t) => {
  const log: string[] = [];
  let ctx!: PluginContext;
  const kernel = await withPlugin((k) => {
    ctx = k;
    const visits = k.slot("visits", () => ({ n: 0 }));
    k.on("moved", (w, from, to) => log.push(`moved ${w.name} ${from.name}->${to.name} visits=${++w.ext(visits).n}`));
    k.on("destroyed", (w) => log.push(`destroyed ${w.name}`));
    k.onCowBreak((g, page) => log.push(`cow ${g.name}:${page}`));
    k.after(2 * MS, () => log.push(`timer at ${k.scheduler.now}`));
  });
  const a = kernel.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB, initial: { zero: 0, images: [], random: 1, compressible: [] } });
  const child = kernel.createVm({ name: "child", host: "a", vcpus: 1, memoryBytes: MiB });
  kernel.memory.shareAll(a.memory!, child.memory!);
  kernel.memory.write(child.memory!, 3, 1);
  const sender = ctx.systemWorld("web-sender", kernel.cluster.host("a"), a);
  t.equal(sender.kind, "system");
  t.equal(sender.serves, a);
  kernel.cluster.move(sender, kernel.cluster.host("b"));
  kernel.cluster.destroy(sender);
  kernel.run(5 * MS);
  t.same(log, ["cow child:3", "moved web-sender a->b visits=1", "destroyed web-sender", `timer at ${2 * MS}`]);
  const r1 = ctx.random("scanner").u32();
  const again = await withPlugin(() => {});
  t.equal(again.streams.stream("plugin:probe:scanner").u32(), r1, "a plugin's stream is named after it");
  t.end();
});

t.test("every context hook reports a throw as VMSCN6006 with its hook name", async (t) => {
  const cases: [string, (k: PluginContext) => void, (kernel: ReturnType<typeof createKernel>) => void][] = [
    ["on(created)", (k) => k.on("created", () => { throw new Error("x"); }), (kn) => kn.createVm({ name: "v", host: "a", vcpus: 1, memoryBytes: MiB })],
    ["on(state-changed)", (k) => k.on("state-changed", () => { throw new Error("x"); }), (kn) => { kn.createVm({ name: "v", host: "a", vcpus: 1, memoryBytes: MiB }); kn.act(0, "start", { vm: "v" }); kn.run(1); }],
    ["on(simulation-end)", (k) => k.on("simulation-end", () => { throw new Error("x"); }), (kn) => kn.run(1)],
    ["timer", (k) => k.at(0, () => { throw new Error("x"); }, "timer"), (kn) => kn.run(1)],
    ["onCowBreak", (k) => k.onCowBreak(() => { throw new Error("x"); }), (kn) => {
      const v = kn.createVm({ name: "v", host: "a", vcpus: 1, memoryBytes: MiB, initial: { zero: 1, images: [], random: 0, compressible: [] } });
      const w = kn.createVm({ name: "w", host: "a", vcpus: 1, memoryBytes: MiB });
      kn.memory.shareAll(v.memory!, w.memory!);
      kn.memory.write(w.memory!, 0, 5);
    }],
    ["verb(boom)", (k) => k.verb("boom", { description: "", args: [{ name: "vm", kind: "vm", description: "" }], options: {}, run: () => { throw new TypeError("bug"); } }), (kn) => { kn.act(0, "boom", { vm: "v" }); kn.run(1); }],
    ["metric(probe)", (k) => k.metric("probe", () => { throw new Error("x"); }), (kn) => kn.report("t")],
    ["chart", (k) => k.chart(() => { throw new Error("x"); }), (kn) => kn.metrics.collectCharts()],
    ["table", (k) => k.table(() => { throw new Error("x"); }), (kn) => kn.metrics.collectTables()],
  ];
  for (const [hook, register, trigger] of cases) {
    const kernel = await withPlugin(register);
    t.throws(() => trigger(kernel), { code: "VMSCN6006", plugin: "probe", hook }, hook);
  }
  // A coded error from a verb is an impossible request: that action fails, the run goes on.
  const refusing = await withPlugin((k) => k.verb("refuse", { description: "", args: [{ name: "vm", kind: "vm", description: "" }], options: {}, run: () => { throw new VmscnError("VMSCN5002", "no room"); } }));
  const rec = refusing.act(0, "refuse", { vm: "v" });
  refusing.run(1);
  t.equal(rec.state, "failed");
  t.match(rec.failure, /^VMSCN5002.*no room/);
  const kernel = await withPlugin((k) => t.throws(() => k.on("exploded" as "created", () => {}), { code: "VMSCN5011" }));
  t.ok(kernel);
  t.end();
});

t.test("a plugin's charts reach the HTML report's input", async (t) => {
  const kernel = await withPlugin((k) => {
    k.chart(() => ({ title: "pages left per round", x: { label: "round" }, y: { label: "pages left", unit: "pages" }, data: { points: [{ x: 1, y: 4096 }, { x: 2, y: 1024 }, { x: 3, y: 300 }] } }));
    k.chart(() => []);
  });
  const charts = kernel.metrics.collectCharts();
  t.equal(charts.length, 1);
  t.equal(charts[0]!.title, "pages left per round");
  t.end();
});

t.test("docs/diagnostics.md lists every kernel and plugin-host code", (t) => {
  const doc = readFileSync(new URL("../../docs/diagnostics.md", import.meta.url), "utf8");
  for (const [code, meaning] of Object.entries(KERNEL_CODES)) t.ok(doc.includes(`| ${code} | ${meaning} |`), code);
  for (const p of builtinPlugins) {
    for (const [code, meaning] of Object.entries(p.codes ?? {})) t.ok(doc.includes(`| ${code} | ${meaning} |`), `${code} (${p.name})`);
  }
  t.end();
});

t.test("vmInfo gives what the scenario declared of a VM", async (t) => {
  let info: unknown;
  const kernel = await withPlugin((k) => {
    k.on("created", (w) => (info = k.vmInfo(w)));
  });
  kernel.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB, deviceStateBytes: 4096, bootNs: 20e9 });
  t.match(info, { mac: "02:00:00:00:00:01", deviceStateBytes: 4096, bootNs: 20e9, disks: [] });
  t.equal((info as { spec: { name: string } }).spec.name, "web");
  t.end();
});

t.test("plugin error codes, services between plugins, and empty report groups", async (t) => {
  const kernel = createKernel({ seed: 1 });
  let base!: PluginContext;
  let user!: PluginContext;
  await kernel.plugins.registerAll([
    definePlugin({
      name: "base",
      version: "1.0.0",
      kernel: "^1",
      codes: { VMSCN7991: "a probe refused" },
      register(k) {
        base = k;
        k.provide({ twice: (n: number) => 2 * n });
        k.metric("base", () => ({}));
        k.metric("base-full", () => ({ n: 1 }));
      },
    }),
    definePlugin({ name: "user", version: "1.0.0", kernel: "^1", requires: ["base"], register: (k) => void (user = k) }),
  ]);
  t.equal((user.use("base") as { twice(n: number): number }).twice(4), 8, "a required plugin's service");
  t.throws(() => base.use("user"), { code: "VMSCN6001", message: /without listing it in "requires"/ });
  t.throws(() => base.provide({}), { code: "VMSCN6008" });
  const e = base.error("VMSCN7991", "no", "web@a");
  t.ok(e instanceof VmscnError);
  t.match(e.describe(), /^VMSCN7991 at .*: no$/);
  t.equal(e.where, "web@a");
  t.equal(base.error("VMSCN5002", "full").code, "VMSCN5002", "a kernel code is allowed");
  t.throws(() => user.error("VMSCN7991", "x"), { code: "VMSCN6008", message: /belongs to plugin "base"/ });
  t.throws(() => user.error("VMSCN7992", "x"), { code: "VMSCN6008", message: /did not declare/ });
  const infos = kernel.plugins.plugins();
  t.same(infos.find((p) => p.name === "base")?.codes, { VMSCN7991: "a probe refused" });
  const groups = kernel.metrics.collect();
  t.notOk("base" in groups, "an empty plugin group is left out of the report");
  t.same(groups["base-full"], { n: 1 });

  const clash = createKernel({ seed: 1 });
  await t.rejects(
    clash.plugins.registerAll([definePlugin({ name: "clash", version: "1.0.0", kernel: "^1", codes: { VMSCN5002: "mine" }, register() {} })]),
    { code: "VMSCN6008", message: /error code VMSCN5002, which the kernel already uses/ },
  );
  t.throws(() => definePlugin({ name: "bad", version: "1.0.0", kernel: "^1", codes: { oops: "" }, register() {} }), { code: "VMSCN6005", message: /capital letters.*one-line meaning/s });
  const noService = createKernel({ seed: 1 });
  let lone!: PluginContext;
  await noService.plugins.registerAll([
    definePlugin({ name: "quiet", version: "1.0.0", kernel: "^1", register() {} }),
    definePlugin({ name: "asker", version: "1.0.0", kernel: "^1", requires: ["quiet"], register: (k) => void (lone = k) }),
  ]);
  t.throws(() => lone.use("quiet"), { code: "VMSCN6001", message: /provides no service/ });
});
