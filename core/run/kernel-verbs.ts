// The kernel's own verbs, registered like any plugin's so the language treats them alike.
import { kernelError } from "../errors.js";
import type { WorldState } from "../world/world.js";
import type { ArgSpec, VerbSpec } from "../plugin-host/context.js";
import type { Kernel } from "./kernel.js";

const VM_ARG: ArgSpec = { name: "vm", kind: "vm", description: "the VM" };
const HOST_ARG: ArgSpec = { name: "host", kind: "host", description: "the host" };

export function registerKernelVerbs(k: Kernel): void {
  const lifecycle = (to: WorldState, from: WorldState[], description: string): VerbSpec => ({
    description,
    args: [VM_ARG],
    options: {},
    run(call) {
      const w = k.vm(String(call.args["vm"]));
      if (!from.includes(w.state)) {
        throw kernelError("VMSCN5004", `cannot ${call.verb} VM "${w.name}": it is ${w.state}`, { time: k.scheduler.now, where: w.label });
      }
      k.cluster.setState(w, to);
      k.trace.instant(call.verb, "lifecycle", { host: w.host.name, world: w.name }, k.scheduler.now);
    },
  });
  const add = (name: string, spec: VerbSpec) => k.plugins.addVerb(name, spec, "kernel");
  add("start", lifecycle("running", ["created"], "starts a created VM"));
  add("suspend", lifecycle("suspended", ["running"], "suspends a running VM (its vCPUs stop)"));
  add("resume", lifecycle("running", ["suspended"], "resumes a suspended VM"));
  add("stop", lifecycle("stopped", ["created", "running", "suspended"], "stops a VM for good"));
  add("crash", {
    description: "crashes a host: its VMs fail, its transfers and IOs fail",
    args: [HOST_ARG],
    options: {},
    run: (call) => k.crashHost(String(call.args["host"])),
  });
  add("recover", {
    description: "brings a crashed host back (empty)",
    args: [HOST_ARG],
    options: {},
    run: (call) => k.recoverHost(String(call.args["host"])),
  });
  add("link", {
    description: "takes a link down (its transfers fail) or brings it up",
    args: [
      { name: "link", kind: "link", description: "the link" },
      { name: "state", kind: "word", values: ["up", "down"], description: "up or down" },
    ],
    options: {},
    run: (call) => {
      k.network.setLinkUp(String(call.args["link"]), call.args["state"] === "up");
      k.trace.instant(`link ${String(call.args["state"])}`, "fault", {}, k.scheduler.now, { link: call.args["link"] });
    },
  });
}
