// The pre-copy live migration plugin: the `migrate` verb (iterative pre-copy, then
// stop-and-copy, demand paging or background paging; or pure demand paging), its network
// page-fault handler, and its report section and chart. See README.md.
import { PAGE_SIZE, VmscnError, definePlugin, formatBytes, kernelError, type GuestMemory, type PluginContext, type VerbCall, type World } from "../../core/api.js";
import { Migration, type DiskCopyPlan } from "./migration.js";
import { checkMigrate } from "./check.js";
import { MIGRATE_ARGS, MIGRATE_OPTIONS, parseOptions } from "./options.js";
import { REPORT_UNITS, migrationReport, rateSeries } from "./report.js";
import { cancellable } from "./state.js";
import type { MigrationEngine, MigrationExtension, MigrationHooks } from "./api.js";
import { PageCoder } from "./coding.js";
import type { CompressionService } from "../compression/api.js";

export default definePlugin({
  name: "precopy-migration",
  version: "1.0.0",
  kernel: "^1",
  description: "live migration: iterative pre-copy, demand paging and background paging",
  // Compression and XBZRLE of the pages sent use the compression plugin's codecs.
  requires: ["compression"],
  register(k) {
    /** The latest migration of each VM, by VM name (the report's keys). */
    const byVm = new Map<string, Migration>();
    const active = new Map<World, Migration>();
    /** Destination page maps in post-copy, for the network page-fault handler. */
    const byDest = new Map<GuestMemory, Migration>();
    /** Refused requests per VM name: how many, and the last one's code and sentence. */
    const refusals = new Map<string, { count: number; code: string; reason: string }>();
    let seq = 0;
    // This run's options of `migrate`: the engine's own, plus those extensions add.
    const options = { ...MIGRATE_OPTIONS };
    const extensions: MigrationExtension[] = [];
    const engine: MigrationEngine = {
      extend(ext) {
        for (const name of Object.keys(ext.options)) {
          if (name in options) throw kernelError("VMSCN6008", `plugin "${ext.plugin}" adds option "${name}" to "migrate", which it has already`, { where: ext.plugin });
        }
        Object.assign(options, ext.options);
        extensions.push(ext);
      },
    };
    k.provide("precopy-migration", engine);

    k.verb("migrate", {
      description: "migrates a running VM to another host (pre-copy, then stop-and-copy, demand paging or background paging)",
      args: MIGRATE_ARGS,
      options,
      async: true,
      check: (call, scenario) => extensions.reduce((problems, e) => (e.check ? e.check(call, scenario, problems) : problems), checkMigrate(call, scenario)),
      run(call) {
        let m: Migration;
        try {
          m = begin(k, call, active, extensions, ++seq, (done) => {
            active.delete(done.world);
            byDest.delete(done.dst);
          });
        } catch (err) {
          // Refused: the action fails with the error's sentence; the report keeps the code.
          if (err instanceof VmscnError) {
            const vm = String(call.args["vm"]);
            const r = refusals.get(vm) ?? { count: 0, code: "", reason: "" };
            refusals.set(vm, { count: r.count + 1, code: err.code, reason: err.describe() });
          }
          throw err;
        }
        active.set(m.world, m);
        byDest.set(m.dst, m);
        byVm.set(m.world.name, m);
        m.start();
        m.hooks.started?.(m);
      },
    });

    k.verb("migrate-cancel", {
      description: "cancels a VM's migration before it runs on the destination (QEMU's migrate_cancel): the VM runs on the source, the destination's copy is dropped",
      args: [{ name: "vm", kind: "vm", description: "the VM whose migration is cancelled" }],
      options: {},
      run(call) {
        const vm = k.cluster.world(String(call.args["vm"]));
        const m = active.get(vm);
        if (m === undefined) throw k.error("VMSCN5011", `cannot cancel the migration of VM "${vm.name}": none is under way`, vm.label);
        if (!cancellable(m.state)) {
          // QEMU cannot cancel a post-copy either: the destination holds the newest pages.
          throw k.error("VMSCN5011", `cannot cancel the migration of VM "${vm.name}": it is in post-copy (the VM runs on "${m.dest.name}" with ${m.remainingPost} pages still on "${m.src.name}"), and the source no longer has its newest pages`, vm.label);
        }
        m.outcome.cancel();
      },
    });

    k.verb("migrate-start-postcopy", {
      description: "asks a VM's migration to switch to post-copy (QEMU's migrate-start-postcopy): at the next turn of its loop with more left than the threshold, the VM resumes on the destination and the source pushes the pages left",
      args: [{ name: "vm", kind: "vm", description: "the VM whose migration switches to post-copy" }],
      options: {},
      run(call) {
        const vm = k.cluster.world(String(call.args["vm"]));
        const m = active.get(vm);
        if (m === undefined) throw k.error("VMSCN5011", `cannot start post-copy for VM "${vm.name}": no migration of it is under way`, vm.label);
        // QEMU: "Enable postcopy with migrate_set_capability before the start of migration".
        if (!m.o.postcopyRam) throw k.error("VMSCN5011", `cannot start post-copy for VM "${vm.name}": its migration was started without postcopy-ram`, vm.label);
        if (m.state !== "setup" && m.state !== "precopy") throw k.error("VMSCN5011", `cannot start post-copy for VM "${vm.name}": its migration is past pre-copy (${m.status})`, vm.label);
        m.precopy.requestPostcopy?.();
      },
    });

    k.onFault("absent-fetch", (f) => {
      const m = byDest.get(f.guest);
      return m ? m.fault(f.page, f.vcpu) : 0;
    });

    // A world of a migration stopped: a failure unless this plugin stopped it itself (a helper
    // that is done, the destination VM it stops); a host crash shows here first, as its worlds
    // stop (cause "crash"), before its transfers fail.
    k.on("state-changed", (w, _from, to, cause) => {
      if (to !== "stopped" || cause.by === k.pluginName) return;
      for (const m of [...active.values()]) m.outcome.worldStopped(w, cause);
    });

    k.metric("migration", () => {
      const now = k.scheduler.now;
      // Keyed by VM names: no prototype, so a VM called `__proto__` is an entry like another.
      const out = Object.create(null) as Record<string, unknown>;
      for (const [name, m] of byVm) out[name] = { ...migrationReport(m, now), mac: k.vmInfo(m.world)?.mac ?? null };
      for (const [name, r] of refusals) {
        const base = (out[name] as Record<string, unknown> | undefined) ?? { status: "refused" };
        out[name] = { ...base, refusals: r.count, "refusal-code": r.code, refusal: r.reason };
      }
      return out;
    }, { units: REPORT_UNITS });

    k.table(() => ({
      title: "migrations",
      columns: [
        { name: "vm" },
        { name: "from → to" },
        { name: "status" },
        { name: "rounds" },
        { name: "total time", unit: "ns" },
        { name: "downtime", unit: "ns" },
        { name: "transferred", unit: "B" },
        { name: "zero pages" },
        { name: "demand faults" },
        { name: "on source", unit: "ns" },
      ],
      rows: [...byVm.entries()].map(([name, m]) => {
        const r = migrationReport(m, k.scheduler.now);
        const ram = r["ram"] as Record<string, number>;
        return [name, `${m.src.name} → ${m.dest.name}`, m.status, m.rounds.length, r["total-time-ns"] as number, (r["downtime-ns"] as number | null) ?? null, ram["transferred"]!, ram["duplicate"]!, m.c.faults, r["source-dependency-time"] as number];
      }),
    }));

    k.chart(() => {
      const points = [...byVm.values()].flatMap((m) => m.rounds.map((r) => ({ x: `round ${r.round}`, y: r.pages, series: m.world.name })));
      return {
        title: "Pages sent per pre-copy round",
        description: "Each bar is one pre-copy round: the pages it sent (round 1 sends every page; later rounds the pages dirtied meanwhile).",
        mark: "bar",
        x: { label: "round" },
        y: { label: "pages", unit: "pages" },
        legend: "VM",
        data: { points },
      };
    });

    k.chart(() => ({
      title: "Migration bandwidth over time",
      description: "Bytes each migration put on the wire (pages, device state, disk blocks) per 10 ms, as a rate; each transfer's bytes are spread evenly over its lifetime.",
      mark: "step",
      x: { label: "time", unit: "ns" },
      y: { label: "bandwidth", unit: "B/s" },
      legend: "VM",
      data: { series: [...byVm.values()].map((m) => ({ name: m.world.name, ...rateSeries(m) })) },
    }));
  },
});

/** Checks the request (coded errors leave everything as it was) and builds the migration. */
function begin(k: PluginContext, call: VerbCall, active: Map<World, Migration>, extensions: readonly MigrationExtension[], seq: number, onFinish: (m: Migration) => void): Migration {
  const o = parseOptions(call);
  const now = k.scheduler.now;
  const world = k.cluster.world(o.vm);
  if (world.kind !== "vm" || !world.memory) throw kernelError("VMSCN5005", `"${o.vm}" is a system world, not a VM`, { time: now });
  const dest = k.cluster.host(o.host);
  // Extensions first: one may change the options (fall back to TCP) or refuse the request.
  const hooks = combine(extensions.flatMap((e) => e.prepare?.({ call, options: o, world, dest }) ?? []));
  const cur = active.get(world);
  if (cur) throw kernelError("VMSCN5011", `VM "${world.name}" is already migrating (to "${cur.dest.name}" since ${cur.startedAt} ns)`, { time: now, where: world.label });
  if (world.state !== "running" && world.state !== "suspended") throw kernelError("VMSCN5004", `cannot migrate VM "${world.name}": it is ${world.state}`, { time: now, where: world.label });
  if (dest === world.host) throw kernelError("VMSCN5011", `VM "${world.name}" is already on host "${dest.name}"`, { time: now, where: world.label });
  if (!dest.up) throw kernelError("VMSCN5009", `cannot migrate VM "${world.name}" to host "${dest.name}": the host is down`, { time: now, where: world.label });
  if (!k.network.hasRoute(world.host.name, dest.name)) throw kernelError("VMSCN5009", `cannot migrate VM "${world.name}": no route from host "${world.host.name}" to host "${dest.name}"`, { time: now, where: world.label });
  if (o.transport === "rdma" && !(world.host.rdma && dest.rdma)) {
    throw kernelError("VMSCN5011", `cannot migrate VM "${world.name}" over RDMA: host "${world.host.rdma ? dest.name : world.host.name}" has no RDMA NIC`, { time: now, where: world.label });
  }
  const free = k.memory.machine(dest.id).free;
  const pages = world.memory.pages;
  if (free < pages) {
    throw kernelError("VMSCN5002", `host "${dest.name}" cannot hold VM "${world.name}": it needs ${formatBytes(pages * PAGE_SIZE)} and ${formatBytes(free * PAGE_SIZE)} is free`, { time: now, where: `${world.name}@${dest.name}` });
  }
  // Disks on storage both hosts share are re-mapped; a disk the destination cannot reach is
  // copied (`disk copy`, onto the first datastore the destination is attached to) or refused.
  const copies: DiskCopyPlan[] = [];
  for (const d of k.vmInfo(world)?.disks ?? []) {
    if (k.storage.reachable(d.datastore.name, dest.name)) continue;
    const where = `its disk "${d.name}" is on datastore "${d.datastore.name}", which host "${dest.name}" cannot reach`;
    if (o.disk === "refuse") throw kernelError("VMSCN5012", `cannot migrate VM "${world.name}": ${where} (disk refuse)`, { time: now, where: world.label });
    const first = dest.datastores[0];
    const target = first === undefined ? undefined : k.storage.datastore(first);
    if (!target) throw kernelError("VMSCN5012", `cannot migrate VM "${world.name}": ${where}, and host "${dest.name}" is attached to no datastore to copy it onto`, { time: now, where: world.label });
    // (The source reaches the disk: the kernel places a VM only where its disks are reachable.)
    const name = target.hasFile(d.name) ? `${d.name}.migrated-${seq}` : d.name;
    if (target.hasFile(name)) throw kernelError("VMSCN5012", `cannot migrate VM "${world.name}": datastore "${target.name}" already has a file "${name}" to copy disk "${d.name}" into`, { time: now, where: world.label });
    copies.push({ source: d, datastore: target.name, name });
  }
  let coder: { coder: PageCoder; port: CompressionService } | null = null;
  if (o.compress !== "none" || o.xbzrle) {
    const port = k.use("compression");
    const wl = k.vmInfo(world)?.spec.workload;
    coder = { coder: new PageCoder(port, `migrate:${world.name}`, o, wl?.writeBytes ?? PAGE_SIZE, wl?.writeOffset, world.memory?.pages), port };
  }
  // One operation on a VM's memory at a time: a lazy restore under way refuses the migration,
  // and a restore asked for during the migration is refused.
  const release = k.cluster.claim(world, `a migration to host "${dest.name}"`);
  try {
    return new Migration(k, world, dest, o, call, seq, (m) => {
      release();
      onFinish(m);
    }, copies, hooks, coder);
  } catch (err) {
    release();
    throw err;
  }
}

/** Several extensions' hooks as one: a page is deferred if any defers it; every callback runs, in order. */
function combine(list: MigrationHooks[]): MigrationHooks {
  if (list.length <= 1) return list[0] ?? {};
  const all = <K extends keyof MigrationHooks>(k: K): NonNullable<MigrationHooks[K]>[] => list.flatMap((h) => (h[k] === undefined ? [] : [h[k]!]));
  const defers = all("defer");
  const out: MigrationHooks = {
    started: (m) => all("started").forEach((f) => f(m)),
    beforeResume: (m, pages) => all("beforeResume").forEach((f) => f(m, pages)),
    finished: (m) => all("finished").forEach((f) => f(m)),
    switchOverBytes: (n) => all("switchOverBytes").reduce((sum, f) => sum + f(n), 0),
  };
  if (defers.length > 0) out.defer = (p) => defers.some((f) => f(p));
  const initiators = all("initiator");
  if (initiators.length > 0) out.initiator = initiators[initiators.length - 1]!;
  return out;
}
