// The kernel's own verbs, registered like any plugin's so the language treats them alike.
import { kernelError } from "../errors.js";
import { kernelCause } from "../world/cause.js";
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
      if (to === "running" && w.suspendHolds.length > 0) {
        throw kernelError("VMSCN5004", `cannot ${call.verb} VM "${w.name}": it is held suspended by ${w.suspendHolds.join(" and ")}, which resume${w.suspendHolds.length > 1 ? "" : "s"} it when done`, { time: k.scheduler.now, where: w.label });
      }
      k.cluster.setState(w, to, kernelCause(call.verb));
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
  const DS_ARG: ArgSpec = { name: "datastore", kind: "datastore", description: "the datastore" };
  add("slow", {
    description: "changes a datastore's bandwidth (a degraded array; slow it again to repair it)",
    args: [DS_ARG],
    options: { bandwidth: { type: "quantity", dimension: "bandwidth", min: 1, required: true, description: "the new bandwidth" } },
    run: (call) => {
      k.storage.setBandwidth(String(call.args["datastore"]), Number(call.options["bandwidth"]));
      k.trace.instant("datastore slowed", "fault", {}, k.scheduler.now, { datastore: call.args["datastore"], bandwidth: call.options["bandwidth"] });
    },
  });
  add("fill", {
    description: "fills a datastore: writes and new files fail (VMSCN5016) until it is unfilled",
    args: [DS_ARG],
    options: {},
    run: (call) => {
      k.storage.setFull(String(call.args["datastore"]), true);
      k.trace.instant("datastore full", "fault", {}, k.scheduler.now, { datastore: call.args["datastore"] });
    },
  });
  add("unfill", {
    description: "frees space on a filled datastore",
    args: [DS_ARG],
    options: {},
    run: (call) => k.storage.setFull(String(call.args["datastore"]), false),
  });
  add("exhaust", {
    description: "takes a host's free machine memory down to what `leave` says, as another tenant would",
    args: [HOST_ARG],
    options: { leave: { type: "quantity", dimension: "bytes", min: 0, default: 0, description: "free memory left" } },
    run: (call) => void k.exhaustMemory(String(call.args["host"]), Number(call.options["leave"])),
  });
  add("relieve", {
    description: "ends the exhaust fault on a host: its memory returns",
    args: [HOST_ARG],
    options: {},
    run: (call) => k.relieveMemory(String(call.args["host"])),
  });
  add("kill", {
    description: "kills a helper (system) world, such as a migration sender; its plugin decides what follows",
    args: [{ name: "world", kind: "world", description: "the helper world, by name (vmscn run --trace shows them)" }],
    options: {},
    run: (call) => k.killWorld(String(call.args["world"])),
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
