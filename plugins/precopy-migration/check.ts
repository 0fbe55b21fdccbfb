// What can be known before the run is refused at validation time (VMSCN0222), at the argument
// concerned: a destination that is the VM's own host, one too small for it as the scenario
// declares the placement, RDMA without RDMA NICs, a disk the destination cannot reach when
// copying disks is refused. What depends on the run (free memory after other migrations, a
// VM already migrating) is still checked when the action runs.
import { formatBytes, type OptionValue, type ScenarioView, type VerbProblem } from "../../core/api.js";

export function checkMigrate(call: { args: Record<string, OptionValue>; options: Record<string, OptionValue> }, s: ScenarioView): VerbProblem[] {
  const vmName = String(call.args["vm"]);
  const destName = String(call.args["host"]);
  const vm = s.vms.get(vmName);
  const dest = s.hosts.get(destName);
  if (!vm || !dest) return [];
  if (vm.host === destName) return [{ message: `VM "${vmName}" is declared on host "${destName}" already`, at: "host" }];
  const problems: VerbProblem[] = [];
  const placed = [...s.vms.values()].filter((v) => v.host === destName).reduce((sum, v) => sum + v.memoryBytes, 0);
  const free = dest.memoryBytes - placed;
  if (vm.memoryBytes > free) {
    problems.push({
      message: `host "${destName}" cannot hold VM "${vmName}": it needs ${formatBytes(vm.memoryBytes)} and the VMs declared on it leave ${formatBytes(free)}`,
      at: "host",
      hint: "migrate to a larger host, or move a VM away first",
    });
  }
  if (call.options["transport"] === "rdma") {
    const src = s.hosts.get(vm.host);
    if (!dest.rdma || !src?.rdma) problems.push({ message: `RDMA transport needs RDMA NICs on both hosts; host "${!dest.rdma ? destName : vm.host}" has none`, at: "transport", hint: 'add "rdma" to the host, or use transport tcp' });
  }
  if (call.options["disk"] === "refuse") {
    for (const ds of vm.disks) {
      if (!(s.datastores.get(ds)?.hosts ?? []).includes(destName)) {
        problems.push({ message: `VM "${vmName}" has a disk on datastore "${ds}", which host "${destName}" cannot reach, and disk copy is refused`, at: "disk", hint: "use disk copy, or a datastore both hosts share" });
      }
    }
  }
  return problems;
}
