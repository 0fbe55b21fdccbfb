// What can be known before the run is refused at validation time (VMSCN0222), at the argument
// concerned, naming the code the run would raise: a clone to its parent's own host, a next host
// whose VMM API or hypercall interface differs, a declared worker whose VM interface, guest
// configuration or usage differs from its parent's, a next host whose declared VMs have another
// guest configuration or usage, a named host without the nodes or memory for the workers as
// the scenario declares its VMs. Placement by policy depends on the run and is checked then.
import { DEFAULT_VMM_INTERFACE, PAGE_SIZE, formatBytes, type OptionValue, type ScenarioView, type VerbProblem } from "../../core/api.js";
import { PRESUMPTION_CODES, type Presumption, type Violation } from "./placement.js";

type HostView = ScenarioView["hosts"] extends ReadonlyMap<string, infer H> ? H : never;

const vmmOf = (h: HostView): string => h.vmm ?? DEFAULT_VMM_INTERFACE;
const hypercallsOf = (h: HostView): string => h.hypercalls ?? DEFAULT_VMM_INTERFACE;
const show = (v: string | undefined): string => (v === undefined ? "none" : `"${v}"`);

/** As placement.ts's `violation`, on the scenario as declared. */
export function declaredViolation(s: ScenarioView, parentName: string, hostName: string, workerName?: string): Violation | null {
  const parent = s.vms.get(parentName);
  const host = s.hosts.get(hostName);
  const src = parent ? s.hosts.get(parent.host) : undefined;
  if (!parent || !host || !src) return null;
  if (vmmOf(host) !== vmmOf(src)) {
    return { presumption: "vmm-api", message: `host "${hostName}" complies with VMM API "${vmmOf(host)}", host "${parent.host}" with "${vmmOf(src)}": the VM clone command needs the same VMM API (presumption 1)` };
  }
  if (hypercallsOf(host) !== hypercallsOf(src)) {
    return { presumption: "hypercall-interface", message: `host "${hostName}" offers hypercall interface "${hypercallsOf(host)}", host "${parent.host}" "${hypercallsOf(src)}": the cluster's VMMs must offer the same hypercalls (presumption 1)` };
  }
  const worker = workerName === undefined ? undefined : s.vms.get(workerName);
  if (worker) {
    const wPages = Math.ceil(worker.memoryBytes / PAGE_SIZE);
    const pPages = Math.ceil(parent.memoryBytes / PAGE_SIZE);
    if (worker.vcpus !== parent.vcpus || wPages !== pPages) {
      return { presumption: "vm-interface", message: `VM "${workerName}" has ${worker.vcpus} vCPUs and ${formatBytes(worker.memoryBytes)} of memory, VM "${parentName}" ${parent.vcpus} and ${formatBytes(parent.memoryBytes)}: a worker's VM interface must be its parent's (presumption 2)` };
    }
    if (worker.guest !== parent.guest) {
      return { presumption: "guest-configuration", message: `VM "${workerName}" has guest configuration ${show(worker.guest)}, VM "${parentName}" ${show(parent.guest)}: clustered guests must be configured identically (presumption 3)` };
    }
    if (worker.usage !== parent.usage) {
      return { presumption: "usage", message: `VM "${workerName}" has usage ${show(worker.usage)}, VM "${parentName}" ${show(parent.usage)}: the VMs of one cluster have the same usage (presumption 4)` };
    }
  }
  for (const [name, v] of s.vms) {
    if (v.host !== hostName || name === parentName || name === workerName) continue;
    if (parent.guest !== undefined && v.guest !== undefined && v.guest !== parent.guest) {
      return { presumption: "guest-configuration", message: `VM "${name}" on host "${hostName}" has guest configuration "${v.guest}", VM "${parentName}" "${parent.guest}": clustered guests must be configured identically (presumption 3)` };
    }
    if (parent.usage !== undefined && v.usage !== undefined && v.usage !== parent.usage) {
      return { presumption: "usage", message: `VM "${name}" on host "${hostName}" has usage "${v.usage}", VM "${parentName}" "${parent.usage}": the VMs of one cluster have the same usage (presumption 4)` };
    }
  }
  return null;
}

/** Nodes left on a host as the scenario declares its VMs (one per CPU unless declared). */
export function declaredFreeNodes(s: ScenarioView, hostName: string): number {
  const h = s.hosts.get(hostName);
  if (!h) return 0;
  let vms = 0;
  for (const v of s.vms.values()) if (v.host === hostName) vms++;
  return (h.nodes ?? h.cpus) - vms;
}

/** A declared worker must differ from its parent; its host is the placement. */
export function workerProblems(s: ScenarioView, parentName: string, workerName: string, hostName: string | undefined, count: number, countOption: string): VerbProblem[] {
  if (workerName === parentName) return [{ message: `VM "${parentName}" cannot receive its own runtime image`, at: "worker" }];
  const problems: VerbProblem[] = [];
  const w = s.vms.get(workerName);
  if (w && hostName !== undefined && w.host !== hostName) problems.push({ message: `VM "${workerName}" is declared on host "${w.host}", not "${hostName}"`, at: "host", hint: "leave out the host: a declared worker's host is its placement" });
  if (count !== 1) problems.push({ message: `a declared worker VM receives one image; ${countOption} is ${count}`, at: countOption });
  return problems;
}

export function presumptionProblem(v: Violation, at: string, codes: Partial<Record<Presumption, string>> = PRESUMPTION_CODES): VerbProblem {
  return { message: `${v.message} (${codes[v.presumption] ?? PRESUMPTION_CODES[v.presumption]})`, at, hint: "the document's cluster presumes one VMM API and hypercall interface, one VM interface, one guest configuration and one usage" };
}

export function checkClone(call: { args: Record<string, OptionValue>; options: Record<string, OptionValue> }, s: ScenarioView): VerbProblem[] {
  const parentName = String(call.args["vm"]);
  const parent = s.vms.get(parentName);
  if (!parent) return [];
  const workerName = call.args["worker"] === undefined ? undefined : String(call.args["worker"]);
  const named = call.args["host"] === undefined ? undefined : String(call.args["host"]);
  const workers = Number(call.options["workers"] ?? 1);
  const problems: VerbProblem[] = [];
  if (workerName !== undefined) problems.push(...workerProblems(s, parentName, workerName, named, workers, "workers"));
  if (problems.length > 0) return problems;
  const hostName = workerName !== undefined ? s.vms.get(workerName)?.host : named;
  if (hostName === undefined) return [];
  const at = workerName !== undefined ? "worker" : "host";
  if (hostName === parent.host) return [{ message: `a clone goes to a next host, and "${hostName}" is VM "${parentName}"'s own host`, at, hint: "fork the VM for a child on its own host" }];
  const v = declaredViolation(s, parentName, hostName, workerName);
  if (v) return [presumptionProblem(v, at)];
  if (workerName === undefined) {
    const nodes = declaredFreeNodes(s, hostName);
    if (workers > nodes) problems.push({ message: `host "${hostName}" has ${Math.max(0, nodes)} free node${nodes === 1 ? "" : "s"} for ${workers} clone${workers === 1 ? "" : "s"} as the scenario declares its VMs (VMSCN7201)`, at: "host", hint: 'declare more nodes on the host ("nodes N"), or clone fewer workers' });
  }
  return problems;
}
