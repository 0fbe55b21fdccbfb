// k.createVm: a plugin makes a VM as a declaration would (a forked child, a clone).
import "reflect-metadata";
import t from "tap";
import { createKernel, createRunContainer } from "../../core/run/container.js";
import { definePlugin } from "../../core/plugin-host/define.js";
import { TOKENS } from "../../core/di/tokens.js";
import type { PluginContext } from "../../core/plugin-host/context.js";
import type { PluginHost } from "../../core/plugin-host/plugin-host.js";

const MiB = 1024 ** 2;

t.test("a plugin's VM has a page map, a MAC, VM info and its workload", async (t) => {
  const kernel = createKernel({ seed: 1 });
  kernel.addHost({ name: "a", cpus: 2, memoryBytes: 64 * MiB });
  let ctx!: PluginContext;
  await kernel.plugins.registerAll([definePlugin({ name: "maker", version: "1.0.0", kernel: "^1", register: (k) => void (ctx = k) })]);
  kernel.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB });
  const w = ctx.createVm({ name: "child", host: "a", vcpus: 2, memoryBytes: 2 * MiB, bootNs: 5, initNs: 6, appLaunchNs: 7, guest: "g", usage: "u", workload: { activities: [{ op: "write", rate: 1000, pattern: { kind: "uniform" } }], mix: { zero: 0, images: [], random: 1, compressible: [] }, scripted: [] } });
  t.equal(w.state, "created");
  t.equal(w.memory!.pages, 512);
  t.match(ctx.vmInfo(w), { mac: "02:00:00:00:00:02", bootNs: 5, spec: { initNs: 6, appLaunchNs: 7, guest: "g", usage: "u" } });
  kernel.act(0, "start", { vm: "child" });
  kernel.run(10_000_000);
  t.equal(kernel.workload.stats(w)!.writes, 10);
  t.throws(() => ctx.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB }), { code: "VMSCN5006" });
  t.end();
});
