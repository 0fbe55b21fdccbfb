// vmscn-plugin-balloon: a memory balloon driver. `at T: balloon HOST { ... }` puts a balloon in
// every VM on the host; when the host's free memory falls under the low watermark, the balloons
// inflate: each guest gives up its coldest pages (least recently written, as a dirty log sees
// them) and the host frees their frames. Over the high watermark they deflate. A guest that
// touches a page it gave up takes it back at once (a refault). See README.md.
import { PAGE_SIZE, definePlugin, type GuestMemory, type Host, type World } from "vmscn";
import { VmBalloon } from "./balloon.js";
import { HostPolicy } from "./policy.js";
import { BALLOON_ARGS, BALLOON_OPTIONS, checkBalloon, parseOptions } from "./options.js";

export default definePlugin({
  name: "balloon",
  version: "1.0.0",
  kernel: "^1",
  description: "memory balloon driver: reclaims guest memory under host memory pressure",
  codes: {
    BALLOON001: "a host already has a balloon policy",
  },
  register(k) {
    const policies = new Map<Host, HostPolicy>();
    /** Every VM that got a balloon, in the order it got one (the report's order). */
    const balloons: VmBalloon[] = [];
    const byGuest = new Map<GuestMemory, VmBalloon>();
    const balloonSlot = k.slot("balloon", (w: World) => {
      const b = new VmBalloon(k, w, byGuest);
      balloons.push(b);
      return b;
    });

    k.verb("balloon", {
      description: "gives every VM on a host a balloon that reclaims its memory when the host runs short",
      args: BALLOON_ARGS,
      options: BALLOON_OPTIONS,
      check: checkBalloon,
      run(call) {
        const o = parseOptions(call);
        const host = k.cluster.host(o.host);
        const existing = policies.get(host);
        if (existing) throw k.error("BALLOON001", `host "${host.name}" already has a balloon policy (since ${existing.since / 1e9} s)`, host.name);
        const policy = new HostPolicy(k, host, o, (w) => w.ext(balloonSlot), k.scheduler.now);
        policies.set(host, policy);
        const tick = (): void => {
          policy.tick();
          k.after(o.intervalNs, tick, `balloon(${host.name})`);
        };
        tick();
      },
    });

    // A ballooned page has no frame and an access trap: the guest wants it back.
    k.onFault("access-trace", (f) => {
      const b = byGuest.get(f.guest);
      // Another plugin's trap (a page this balloon does not hold) is left to that plugin.
      if (b !== undefined && b.holds(f.page)) b.refault(f.page);
      return 0;
    });

    // A VM that moves keeps its balloon only on a host with a balloon policy.
    k.on("moved", (w, _from, to) => {
      if (!w.hasExt(balloonSlot)) return;
      const b = w.ext(balloonSlot);
      if (policies.has(to)) b.bind();
      else b.unbind();
    });

    k.on("state-changed", (w, _from, to) => {
      if (to === "stopped" && w.hasExt(balloonSlot)) w.ext(balloonSlot).unbind();
    });

    k.on("simulation-end", (t) => {
      for (const p of policies.values()) p.endPressure(t);
    });

    k.metric("balloon", () => {
      const out: Record<string, unknown> = {};
      for (const b of balloons) {
        out[b.world.name] = { host: b.world.host.name, size: b.size, peak: b.peak, reclaimed: b.reclaimed, deflated: b.deflated, refaults: b.refaults };
      }
      return out;
    });

    k.table(() => balloons.length === 0 ? [] : {
      title: "balloons",
      columns: [{ name: "vm" }, { name: "host" }, { name: "reclaimed", unit: "B" }, { name: "size now", unit: "B" }, { name: "peak", unit: "B" }, { name: "refaults" }],
      rows: balloons.map((b) => [b.world.name, b.world.host.name, b.reclaimed * PAGE_SIZE, b.size * PAGE_SIZE, b.peak * PAGE_SIZE, b.refaults]),
    });

    k.chart(() => balloons.length === 0 ? [] : {
      title: "Balloon size over time",
      description: "Guest memory each VM's balloon holds: it grows while its host is short of free memory and shrinks when memory comes back.",
      mark: "step",
      x: { label: "time", unit: "ns" },
      y: { label: "balloon size", unit: "B" },
      legend: "VM",
      data: {
        series: balloons.map((b) => ({
          name: b.world.name,
          // Held to the end of the run.
          x: [...b.timeline.t, k.scheduler.now],
          y: [...b.timeline.size, b.size].map((pages) => pages * PAGE_SIZE),
        })),
      },
    });
  },
});
