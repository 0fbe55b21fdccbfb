// The kernel's sections of the report: hosts, VMs, links, datastores, actions, run figures.
import { PAGE_SIZE } from "../config.js";
import { vmInfo } from "../world/vm-info.js";
import { nameTable } from "../report/table.js";
import type { Kernel } from "./kernel.js";

// Every table keyed by a name the scenario chose is prototype-free (nameTable): a host or VM
// named `__proto__` or `constructor` is an entry like any other.
export function kernelSections(k: Kernel): Record<string, unknown> {
  const hosts = nameTable();
  for (const h of k.cluster.hosts) {
    const m = k.memory.machine(h.id);
    hosts[h.name] = {
      up: h.up,
      cpus: h.cpus,
      rdma: h.rdma,
      memory: { capacity: m.capacity * PAGE_SIZE, used: m.used * PAGE_SIZE, free: m.free * PAGE_SIZE, peak: m.peak * PAGE_SIZE },
      frames: { capacity: m.capacity, used: m.used, peak: m.peak },
      worlds: h.worlds.map((w) => w.name),
      network: withoutName(k.network.hostStats(h.name)),
    };
  }
  const vms = nameTable();
  for (const w of k.cluster.worlds) {
    if (w.kind !== "vm") continue;
    const g = w.memory!;
    const info = vmInfo(w);
    vms[w.name] = {
      host: w.host.name,
      state: w.state,
      ...(w.failure ? { failure: w.failure } : {}),
      vcpus: w.vcpus,
      memory: g.pages * PAGE_SIZE,
      mac: info?.mac ?? null,
      pages: g.census(),
      accesses: { reads: g.reads, writes: g.writes, faults: g.faults, cowBreaks: g.cowBreaks },
      workload: k.workload.stats(w) ?? null,
      disks: (info?.disks ?? []).map((f) => ({ datastore: f.datastore.name, name: f.name, size: f.size })),
    };
  }
  const net = k.network.stats();
  const store = k.storage.stats();
  return {
    hosts,
    vms,
    links: byName(net.links),
    transfers: net.transfers,
    datastores: byName(store.datastores),
    files: nameTable(store.files.map(({ datastore, name, ...f }) => [`${datastore}/${name}`, { datastore, ...f }])),
    actions: k.actionLog().map((a) => ({
      time: a.time,
      verb: a.verb,
      args: a.args,
      options: a.options,
      state: a.state,
      ...(a.finishedAt !== undefined ? { finishedAt: a.finishedAt } : {}),
      ...(a.failure ? { failure: a.failure } : {}),
    })),
    hypercalls: k.plugins.hypercallLog.map((h) => ({ ...h })),
    run: { events: k.scheduler.executed, plugins: k.plugins.plugins().map((p) => ({ name: p.name, version: p.version })) },
  };
}

function byName<T extends { name: string }>(items: readonly T[]): Record<string, Omit<T, "name">> {
  return nameTable(items.map((i) => [i.name, withoutName(i)] as const));
}

function withoutName<T extends { name: string }>(item: T): Omit<T, "name"> {
  const { name: _name, ...rest } = item;
  return rest;
}
