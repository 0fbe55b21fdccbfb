// Where a launched VM goes, and whether the cluster's presumptions hold there. A host has
// `nodes` for guests (one per CPU unless declared); a node is free while no VM that is not
// stopped holds it. A clone also needs the image's pages free on its host, counting the pages
// that clones under way will still bring there. The presumptions are the document's:
// (1) the VMMs comply with the same VMM API and offer the same hypercall interface;
// (2) the VM interface of the clustered VMs is the same; (3) their guest OS kernel and
// software configuration are identical; (4) they have the same usage.
import { PAGE_SIZE, type Host, type PluginContext, type World } from "../../core/api.js";

export type Presumption = "vmm-api" | "hypercall-interface" | "vm-interface" | "guest-configuration" | "usage";

/** The code a clone's placement raises for each presumption. */
export const PRESUMPTION_CODES: Record<Presumption, string> = {
  "vmm-api": "VMSCN7202",
  "hypercall-interface": "VMSCN7203",
  "vm-interface": "VMSCN7204",
  "guest-configuration": "VMSCN7205",
  usage: "VMSCN7206",
};

export interface Violation {
  presumption: Presumption;
  message: string;
}

/** VMs on the host that hold a node: every VM world that is not stopped. */
export function liveVms(host: Host): number {
  let n = 0;
  for (const w of host.worlds) if (w.kind === "vm" && w.state !== "stopped") n++;
  return n;
}

export function freeNodes(host: Host): number {
  return Math.max(0, host.nodes - liveVms(host));
}

/** The hosts after `from` in declaration order, wrapping around: the document's "next host". */
export function ringAfter(from: Host, hosts: readonly Host[]): Host[] {
  const i = hosts.indexOf(from);
  return [...hosts.slice(i + 1), ...hosts.slice(0, Math.max(0, i))];
}

/**
 * The first presumption that placing a worker of `parent` on `host` breaks, if any. `worker`
 * is a declared VM that is to receive the image (its own configuration must match); VMs that
 * already run on the host are the cluster there, and their declared guest configuration and
 * usage must match the parent's.
 */
export function violation(k: PluginContext, parent: World, host: Host, worker?: World): Violation | null {
  const src = parent.host;
  if (host.vmm !== src.vmm) {
    return { presumption: "vmm-api", message: `host "${host.name}" complies with VMM API "${host.vmm}", host "${src.name}" with "${src.vmm}": the VM clone command needs the same VMM API (presumption 1)` };
  }
  if (host.hypercalls !== src.hypercalls) {
    return { presumption: "hypercall-interface", message: `host "${host.name}" offers hypercall interface "${host.hypercalls}", host "${src.name}" "${src.hypercalls}": the cluster's VMMs must offer the same hypercalls (presumption 1)` };
  }
  const ps = k.vmInfo(parent)?.spec;
  if (worker) {
    const ws = k.vmInfo(worker)?.spec;
    const pPages = parent.memory!.pages;
    const wPages = worker.memory?.pages ?? 0;
    if (worker.vcpus !== parent.vcpus || wPages !== pPages) {
      return { presumption: "vm-interface", message: `VM "${worker.name}" has ${worker.vcpus} vCPUs and ${wPages * PAGE_SIZE} bytes of memory, VM "${parent.name}" ${parent.vcpus} and ${pPages * PAGE_SIZE}: a worker's VM interface must be its parent's (presumption 2)` };
    }
    if (ws?.guest !== ps?.guest) {
      return { presumption: "guest-configuration", message: `VM "${worker.name}" has guest configuration ${show(ws?.guest)}, VM "${parent.name}" ${show(ps?.guest)}: clustered guests must be configured identically (presumption 3)` };
    }
    if (ws?.usage !== ps?.usage) {
      return { presumption: "usage", message: `VM "${worker.name}" has usage ${show(ws?.usage)}, VM "${parent.name}" ${show(ps?.usage)}: the VMs of one cluster have the same usage (presumption 4)` };
    }
  }
  for (const w of host.worlds) {
    if (w.kind !== "vm" || w.state === "stopped" || w === parent || w === worker) continue;
    const s = k.vmInfo(w)?.spec;
    if (ps?.guest !== undefined && s?.guest !== undefined && s.guest !== ps.guest) {
      return { presumption: "guest-configuration", message: `VM "${w.name}" on host "${host.name}" has guest configuration "${s.guest}", VM "${parent.name}" "${ps.guest}": clustered guests must be configured identically (presumption 3)` };
    }
    if (ps?.usage !== undefined && s?.usage !== undefined && s.usage !== ps.usage) {
      return { presumption: "usage", message: `VM "${w.name}" on host "${host.name}" has usage "${s.usage}", VM "${parent.name}" "${ps.usage}": the VMs of one cluster have the same usage (presumption 4)` };
    }
  }
  return null;
}

function show(v: string | undefined): string {
  return v === undefined ? "none" : `"${v}"`;
}
