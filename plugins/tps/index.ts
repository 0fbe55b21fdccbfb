// Transparent page sharing (the document's TPS; Linux KSM's scanner and counters): the `tps`
// verb turns a host's scanner on or off, the kernel's copy-on-write breaks are counted, and
// the report's `ksm` section gives KSM's counters per host. Other plugins (RDMA migration)
// read the counters and learn of pages re-mapped between hosts through the service. See README.md.
import { definePlugin, formatTime, type GuestMemory, type Host } from "../../core/api.js";
import { HostKsm } from "./ksm.js";
import type { TpsService } from "./api.js";
import { TPS_ARGS, TPS_OPTIONS, parseSettings } from "./options.js";

export default definePlugin({
  name: "tps",
  version: "1.0.0",
  kernel: "^1",
  description: "transparent page sharing: a scanner per host merges identical guest pages into one copy-on-write frame (Linux KSM's algorithm and counters)",
  codes: { VMSCN7501: "page sharing cannot be turned on on a host that is down" },
  register(k) {
    /** Hosts where TPS was ever on, in order of first use. */
    const hosts = new Map<Host, HostKsm>();
    const listeners: ((g: GuestMemory, page: number, fromHost: number, toHost: number) => void)[] = [];
    let seq = 0;
    const remapped = (g: GuestMemory, page: number, fromHost: number, toHost: number): void => {
      for (const l of listeners) l(g, page, fromHost, toHost);
    };

    k.verb("tps", {
      description: "turns transparent page sharing on (or re-configures it) or off on a host",
      args: TPS_ARGS,
      options: TPS_OPTIONS,
      run(call) {
        const host = k.cluster.host(String(call.args["host"]));
        let ksm = hosts.get(host);
        if (call.args["state"] === "off") {
          ksm?.stop();
          k.trace.instant("tps off", "tps", { host: host.name }, k.scheduler.now);
          return;
        }
        if (!host.up) throw k.error("VMSCN7501", `cannot turn page sharing on on host "${host.name}": the host is down`, host.name);
        const settings = parseSettings(call);
        if (!ksm) hosts.set(host, (ksm = new HostKsm(k, host, settings, remapped)));
        ksm.start(settings, ++seq);
        k.trace.instant("tps on", "tps", { host: host.name }, k.scheduler.now, { ...settings });
      },
    });

    k.onCowBreak((g, page, oldFrame) => hosts.get(k.cluster.hosts[g.hostId]!)?.cowBreak(g, page, oldFrame));
    k.on("created", (w) => hosts.get(w.host)?.addWorld(w));
    k.on("moved", (w, from, to) => {
      hosts.get(from)?.removeWorld(w);
      hosts.get(to)?.addWorld(w);
    });
    k.on("destroyed", (w) => hosts.get(w.host)?.removeWorld(w));
    // The scanner stops without `tps off` when its host crashes (the memory and the trees go
    // with it) or when it is killed (scanning stops; merged pages stay merged, as after tps off).
    k.on("state-changed", (w, _from, to, cause) => {
      if (to !== "stopped" || w.kind !== "system") return;
      for (const ksm of hosts.values()) {
        if (!ksm.on || ksm.scanner !== w) continue;
        const at = formatTime(k.scheduler.now);
        if (cause.by === "kernel" && cause.reason === "crash") ksm.crashed(`host "${w.host.name}" crashed at ${at}`);
        else ksm.killed(`the scanner "${w.name}" was killed at ${at}`);
      }
    });
    k.on("simulation-end", () => {
      for (const ksm of hosts.values()) ksm.sample(true);
    });

    k.provide("tps", {
      counters: (name: string) => {
        for (const [h, ksm] of hosts) if (h.name === name) return ksm.counters();
        return null;
      },
      onRemap: (l) => void listeners.push(l),
    } satisfies TpsService);

    k.metric("ksm", () => {
      // Keyed by host names: no prototype, so a host called `__proto__` is an entry like another.
      const out = Object.create(null) as Record<string, unknown>;
      for (const [h, ksm] of hosts) {
        const s = ksm.settings;
        out[h.name] = {
          run: ksm.on ? 1 : 0,
          pages_to_scan: s.pagesToScan,
          sleep_millisecs: s.sleepNs / 1e6,
          scope: s.scope,
          zero_pages: s.zeroPages,
          use_zero_pages: s.zeroPages === "use-zero-pages" ? 1 : 0,
          remote_pages: s.remotePages,
          ...ksm.counters(),
          ...(ksm.stoppedBy ? { stopped: ksm.stoppedBy } : {}),
        };
      }
      return out;
    });

    k.table(() => ({
      title: "page sharing (KSM counters)",
      columns: [{ name: "host" }, { name: "run" }, { name: "pages_shared" }, { name: "pages_sharing" }, { name: "pages_unshared" }, { name: "pages_volatile" }, { name: "full_scans" }, { name: "saved", unit: "B" }, { name: "cow breaks" }],
      rows: [...hosts].map(([h, ksm]) => {
        const c = ksm.counters();
        return [h.name, ksm.on ? "on" : "off", c.pages_shared, c.pages_sharing, c.pages_unshared, c.pages_volatile, c.full_scans, c.memory_saved, c.cow_breaks];
      }),
    }));

    k.chart(() => ({
      title: "Memory saved by page sharing",
      description: "Per host: pages_sharing plus pages merged with the zero page, × 4 KiB, sampled every 100 ms of simulated time (less often on long runs) while the scanner runs.",
      mark: "step",
      x: { label: "time", unit: "ns" },
      y: { label: "memory saved", unit: "B" },
      legend: "host",
      data: { series: [...hosts].map(([h, ksm]) => ({ name: h.name, x: [...ksm.savedSeries.x], y: [...ksm.savedSeries.y] })) },
    }));
  },
});
