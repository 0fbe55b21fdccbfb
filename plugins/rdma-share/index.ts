// RDMA-based live migration with deferred shared pages (the document's RDMA approach to
// VMotion): `migrate VM to HOST { transport rdma }` runs the pre-copy engine over RDMA but
// leaves the pages whose frames are shared on the source; after switch-over the moved VM
// maps them there, read over RDMA, until a write (or any access) copies one over (a remote
// copy-on-write), a background copier brings it, or the destination's page sharing re-maps
// it onto a local frame. See README.md.
import { PageState, STATE_MASK, definePlugin, formatTime, type GuestMemory, type Host, type PluginContext, type World } from "../../core/api.js";
import { Dependence } from "./dependence.js";
import { RDMA_OPTIONS, checkRdma, parseRdmaOptions, type RdmaOptions } from "./options.js";
import type { MigrationHooks, MigrationView } from "../precopy-migration/api.js";

/** Bytes per page left behind in the list that crosses at switch-over (page number and checksum): modelled. */
export const PAGE_LIST_ENTRY_BYTES = 16;

const KSM_FIELDS = ["pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "full_scans", "memory_saved"] as const;

interface Record_ {
  vm: string;
  source: Host;
  destination: Host;
  o: RdmaOptions;
  transport: "tcp" | "rdma";
  fallback: boolean;
  leave: boolean;
  view: MigrationView | undefined;
  ksmBefore: Record<string, unknown> | undefined;
  ksmAfter: Record<string, unknown> | undefined;
  leftRemote: number;
  dependence: Dependence | undefined;
}

export default definePlugin({
  name: "rdma-share",
  version: "1.0.0",
  kernel: "^1",
  requires: ["precopy-migration", "tps"],
  description: "RDMA live migration that leaves shared pages on the source, mapped over RDMA until a remote copy-on-write",
  codes: {
    VMSCN7601: "RDMA migration between hosts without RDMA NICs on both ends",
    VMSCN7602: "shared pages can be left on the source only by an RDMA migration",
    VMSCN7603: "the source host crashed while a moved VM still mapped pages on it",
    VMSCN7604: "a moved VM could not reach the host its remote pages are on",
  },
  register(k) {
    const engine = k.use("precopy-migration");
    const tps = k.use("tps");
    /** Latest RDMA migration per VM name, and every remote-shared period per page map. */
    const records = new Map<string, Record_>();
    const deps = new Map<GuestMemory, Dependence>();
    /** Periods that ended, per VM name (the last one), for the report. */
    const ended = new Map<string, Dependence>();
    let seq = 0;

    const snapshot = (hosts: Host[]): Record<string, unknown> => {
      const out = Object.create(null) as Record<string, unknown>;
      for (const h of hosts) {
        const c = tps.counters(h.name);
        out[h.name] = c === null ? null : Object.fromEntries(KSM_FIELDS.map((f) => [f, c[f] ?? 0]));
      }
      return out;
    };

    const newDependence = (world: World, guest: GuestMemory, o: Pick<RdmaOptions, "remoteCow"> & { background: boolean }, batch: number, maxRate: number | undefined): Dependence => {
      const d = new Dependence(k, world, guest, { remoteCow: o.remoteCow, background: o.background, batch, maxRate }, ++seq, (done) => {
        if (deps.get(done.guest) === done) deps.delete(done.guest);
        ended.set(done.world.name, done);
      });
      deps.set(guest, d);
      return d;
    };

    engine.extend({
      plugin: "rdma-share",
      options: RDMA_OPTIONS,
      check: checkRdma,
      prepare(req): MigrationHooks | undefined {
        const o = parseRdmaOptions(req.call.options, req.options.transport);
        const src = req.world.host;
        const dest = req.dest;
        const label = req.world.label;
        if (o.sharedPages === "leave" && req.options.transport !== "rdma") {
          throw k.error("VMSCN7602", `cannot leave the shared pages of VM "${req.world.name}" on host "${src.name}": shared-pages leave needs transport rdma`, label);
        }
        let fallback = false;
        if (req.options.transport === "rdma" && !(src.rdma && dest.rdma)) {
          const missing = src.rdma ? dest : src;
          if (o.fallback !== "tcp") {
            throw k.error("VMSCN7601", `cannot migrate VM "${req.world.name}" from host "${src.name}" to host "${dest.name}" over RDMA: host "${missing.name}" has no RDMA NIC (add fallback tcp to migrate over TCP, copying shared pages)`, label);
          }
          req.options.transport = "tcp";
          fallback = true;
        }
        if (req.options.transport !== "rdma" && !fallback) return undefined;
        const leave = !fallback && o.sharedPages === "leave";
        const rec: Record_ = { vm: req.world.name, source: src, destination: dest, o, transport: req.options.transport, fallback, leave, view: undefined, ksmBefore: undefined, ksmAfter: undefined, leftRemote: 0, dependence: undefined };
        const hooks: MigrationHooks = {
          started(m) {
            rec.view = m;
            rec.ksmBefore = snapshot([src, dest]);
            records.set(rec.vm, rec);
          },
          finished(m) {
            rec.ksmAfter = snapshot([src, dest]);
            const d = rec.dependence;
            if (m.status === "failed" && d?.active) d.vmGone(m.failure ?? "the migration failed");
          },
        };
        if (!fallback) hooks.initiator = o.initiator;
        if (!leave) return hooks;
        // A page is left behind when its frame has other references (another VM's, a remote
        // mapping's) and it is not the zero page (a zero page costs 9 bytes to send).
        const g = req.world.memory!;
        const machine = k.memory.machine(src.id);
        hooks.defer = (p) => {
          if ((g.meta[p]! & STATE_MASK) !== PageState.Present) return false;
          const f = g.frame[p]!;
          return machine.refs[f]! >= 2 && machine.content[f] !== 0;
        };
        hooks.switchOverBytes = (n) => n * PAGE_LIST_ENTRY_BYTES;
        hooks.beforeResume = (m, list) => {
          // The moved VM's page map points at the frames still on the source.
          for (let i = 0; i < list.length; i++) k.memory.share(m.srcGuest, list[i]!, m.dst, list[i]!);
          rec.leftRemote = list.length;
          const d = newDependence(m.world, m.dst, { remoteCow: o.remoteCow, background: o.background }, m.o.batch, m.o.bandwidth);
          d.add(src.id, list.length);
          rec.dependence = d;
        };
        return hooks;
      },
    });

    /** A guest with remote pages nobody told us of: a period with the defaults. */
    const adopt = (g: GuestMemory): Dependence | undefined => {
      const world = k.cluster.worlds.find((w) => w.memory === g);
      if (!world) return undefined;
      const d = newDependence(world, g, { remoteCow: "on-write", background: false }, 512, undefined);
      for (const [host, n] of d.recount()) d.add(host, n);
      return d;
    };

    k.onFault("remote", (f) => {
      let d = deps.get(f.guest);
      if (!d?.active) d = adopt(f.guest);
      if (d) return d.fault(f.page, f.write, f.vcpu);
      // A page map without a world (none faults in practice): copy on write, read in place.
      if (f.write) k.memory.populate(f.guest, f.page, k.memory.peek(f.guest, f.page));
      return 0;
    });

    // The destination's page sharing re-maps pages between local and remote frames.
    tps.onRemap((g, page, fromHost, toHost) => {
      if (fromHost !== g.hostId) {
        const d = deps.get(g);
        if (d?.active) {
          if (toHost === g.hostId) d.resharedLocally++;
          d.drop(fromHost);
        }
      }
      if (toHost !== g.hostId) {
        let d = deps.get(g);
        if (!d?.active) {
          const world = k.cluster.worlds.find((w) => w.memory === g);
          if (!world) return;
          d = newDependence(world, g, { remoteCow: "on-write", background: false }, 512, undefined);
        }
        d.mappedRemotely++;
        d.add(toHost, 1);
      }
    });

    // A period's helper or VM stopped: a crash, a kill, a stop; what a period did itself (it
    // failed and stopped its VM, it ended its helpers) is not news to it.
    k.on("state-changed", (w, _from, to, cause) => {
      if (to !== "stopped") return;
      for (const d of [...deps.values()]) {
        if (!d.active || d.did(cause)) continue;
        if (w.kind === "system") d.worldStopped(w, cause);
        else if (d.world === w) d.vmGone(w.failure ?? `VM "${w.name}" stopped at ${formatTime(k.scheduler.now)}`);
      }
    });
    k.on("destroyed", (w, cause) => {
      for (const d of [...deps.values()]) if (d.world === w && d.active && !d.did(cause)) d.vmGone(`VM "${w.name}" was destroyed at ${formatTime(k.scheduler.now)}`);
    });

    // Copy home: the source keeps a page left behind only while a VM of its own maps the same
    // frame. When a world leaves the source (a VM destroyed there; a migration's helpers,
    // destroyed when it ends, after the source's page map was dropped), the frames no page map
    // there maps any more are kept for remote VMs alone: their pages are copied home in the
    // background, so the moved VMs stop depending on the source and it can be evacuated.
    k.on("destroyed", (w) => {
      const hostId = w.host.id;
      const dependents = [...deps.values()].filter((d) => d.active && d.remote.has(hostId));
      if (dependents.length === 0 || !w.host.up) return;
      const local = new Uint8Array(k.memory.machine(hostId).touched);
      for (const g of k.memory.liveGuests()) {
        if (g.hostId !== hostId) continue;
        for (let p = 0; p < g.pages; p++) if ((g.meta[p]! & STATE_MASK) === PageState.Present) local[g.frame[p]!] = 1;
      }
      for (const d of dependents) d.copyHome(d.orphans(hostId, local));
    });

    // A period still under way at the end shows in the trace up to the end.
    k.on("simulation-end", (now) => {
      for (const d of deps.values()) if (d.active) k.trace.span("remote-shared", "rdma", { host: d.world.host.name, world: d.world.name }, d.startedAt, now, { end: "ongoing", pages: d.pages });
    });

    k.metric("rdma", () => report(k, records, deps, ended));

    k.table(() => ({
      title: "RDMA migrations (shared pages left on the source)",
      columns: [{ name: "vm" }, { name: "from → to" }, { name: "status" }, { name: "pages sent" }, { name: "left remote" }, { name: "remote now" }, { name: "remote reads" }, { name: "remote COWs" }, { name: "bytes saved", unit: "B" }, { name: "dependence", unit: "ns" }],
      rows: [...records.values()].map((r) => {
        const e = entry(k, r, r.dependence);
        return [r.vm, `${r.source.name} → ${r.destination.name}`, String(e["status"]), e["pages-sent"] as number, r.leftRemote, e["pages-remote"] as number, e["remote-reads"] as number, e["remote-cows"] as number, e["bytes-saved"] as number, e["dependence-time"] as number];
      }),
    }));
  },
});

function report(k: PluginContext, records: Map<string, Record_>, deps: Map<GuestMemory, Dependence>, ended: Map<string, Dependence>): Record<string, unknown> {
  // Keyed by VM names: no prototype, so a VM called `__proto__` is an entry like another.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [vm, r] of records) out[vm] = entry(k, r, r.dependence);
  // Periods no migration started (page sharing re-mapped a local page onto a remote frame):
  // the VM's last one.
  for (const d of [...ended.values(), ...deps.values()]) if (!records.has(d.world.name)) out[d.world.name] = dependenceFields(k, d);
  return out;
}

function entry(k: PluginContext, r: Record_, d: Dependence | undefined): Record<string, unknown> {
  const m = r.view;
  const sent = m ? m.c.duplicate + m.c.normal : 0;
  const bytesSent = m?.c.transferred ?? 0;
  const deferredBytes = m?.deferral.bytes ?? 0;
  const listBytes = m?.deferral.listBytes ?? 0;
  const fetched = (d?.cowBytes ?? 0) + (d?.backgroundBytes ?? 0);
  const saved = deferredBytes - fetched - listBytes;
  const plain = bytesSent + deferredBytes;
  return {
    status: m?.status ?? "refused",
    ...(m?.failure ? { failure: m.failure } : {}),
    transport: r.transport,
    fallback: r.fallback,
    "shared-pages": r.leave ? "leave" : "copy",
    "remote-cow": r.o.remoteCow,
    "remote-background": r.o.background,
    initiator: r.fallback ? "source" : r.o.initiator,
    source: r.source.name,
    destination: r.destination.name,
    "pages-sent": sent,
    "bytes-sent": bytesSent,
    "pages-left-remote": r.leftRemote,
    "deferred-skips": m?.deferral.skips ?? 0,
    "bytes-deferred": deferredBytes,
    "page-list-bytes": listBytes,
    "bytes-saved": saved,
    "bytes-saved-pct": plain > 0 ? (100 * saved) / plain : 0,
    ...dependenceFields(k, d),
    "ksm-before": r.ksmBefore ?? null,
    "ksm-after": r.ksmAfter ?? null,
  };
}

function dependenceFields(k: PluginContext, d: Dependence | undefined): Record<string, unknown> {
  const now = k.scheduler.now;
  return {
    "pages-remote": d?.active ? d.pages : 0,
    "remote-pages-peak": d?.peak ?? 0,
    "remote-reads": d?.reads ?? 0,
    "remote-read-bytes": d?.readBytes ?? 0,
    "remote-stall-time": d?.stallNs ?? 0,
    "remote-cows": d?.cows ?? 0,
    "remote-cow-bytes": d?.cowBytes ?? 0,
    "background-pages": d?.backgroundPages ?? 0,
    "background-bytes": d?.backgroundBytes ?? 0,
    "reshared-locally": d?.resharedLocally ?? 0,
    "mapped-remotely": d?.mappedRemotely ?? 0,
    "dependence-time": d ? (d.endedAt ?? now) - d.startedAt : 0,
    "depends-on-source": d?.active ?? false,
    "dependence-end": d?.end ?? null,
    ...(d?.copierKilled ? { "background-stopped": d.copierKilled } : {}),
    ...(d && d.homePages > 0 ? { "copied-home": d.homePages } : {}),
  };
}
