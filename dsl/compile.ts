// Compilation: the validated plan becomes kernel calls: the platform, the VMs (with their
// workloads and scripted accesses) and the timed actions.
import type { Kernel } from "../core/run/kernel.js";
import { emptyWorkload, type WorkloadSpec } from "../core/workload/spec.js";
import type { Plan } from "./plan.js";

export function compile(plan: Plan, k: Kernel): void {
  if (plan.tickNs !== undefined) k.config.tickNs = plan.tickNs;
  for (const h of plan.hosts) k.addHost(h);
  for (const l of plan.links) k.addLink(l);
  for (const d of plan.datastores) k.addDatastore(d);
  for (const vm of plan.vms) {
    const scripted = plan.scripted.filter((s) => s.vm === vm.name).map((s) => ({ at: s.time, op: s.op, first: s.first, count: s.count, vcpu: s.vcpu }));
    const hypercalls = plan.hypercalls.filter((h) => h.vm === vm.name).map((h) => ({ at: h.time, name: h.name, options: h.options, vcpu: h.vcpu }));
    let workload: WorkloadSpec | undefined = vm.workload;
    if (scripted.length > 0 || hypercalls.length > 0) {
      // Scripted accesses and hypercalls need a workload to run on, even an otherwise idle one.
      workload = { ...(workload ?? emptyWorkload()), scripted, ...(hypercalls.length > 0 ? { hypercalls } : {}) };
    }
    k.createVm({ ...vm, ...(workload ? { workload } : {}) });
  }
  for (const a of plan.actions) k.act(a.time, a.verb, a.args, a.options);
}
