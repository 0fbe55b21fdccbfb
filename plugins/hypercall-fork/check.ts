// What can be known before the run is refused at validation time (VMSCN0222), at the argument
// or option concerned, naming the code the run would raise: more children than the parent's
// host has free nodes (as the scenario declares its VMs), a declared worker or a named host
// that breaks a cluster presumption. Placement by policy on next hosts depends on the run.
import type { OptionValue, ScenarioView, VerbProblem } from "../../core/api.js";
import type { CloneApi, Presumption } from "../clone-api/api.js";

/** The code a child raises for each presumption that can fail on its parent's own host (clones raise clone-api's). */
export const CHILD_CODES: Partial<Record<Presumption, string>> = {
  "vm-interface": "VMSCN7102",
  "guest-configuration": "VMSCN7103",
  usage: "VMSCN7104",
};

export function checkFork(api: CloneApi) {
  return (call: { args: Record<string, OptionValue>; options: Record<string, OptionValue> }, s: ScenarioView): VerbProblem[] => {
    const parentName = String(call.args["vm"]);
    const parent = s.vms.get(parentName);
    if (!parent) return [];
    const n = Number(call.options["children"] ?? 1);
    const workerName = call.args["worker"] === undefined ? undefined : String(call.args["worker"]);
    const named = call.args["host"] === undefined ? undefined : String(call.args["host"]);
    if (workerName !== undefined) {
      if (workerName === parentName) return [{ message: `VM "${parentName}" cannot receive its own runtime image (VMSCN7105)`, at: "worker" }];
      const problems: VerbProblem[] = [];
      const w = s.vms.get(workerName);
      if (w && named !== undefined && w.host !== named) problems.push({ message: `VM "${workerName}" is declared on host "${w.host}", not "${named}"`, at: "host", hint: "leave out the host: a declared worker's host is its placement" });
      if (n !== 1) problems.push({ message: `a declared worker VM receives one image; children is ${n}`, at: "children" });
      if (problems.length > 0 || !w) return problems;
      const v = api.declaredViolation(s, parentName, w.host, workerName);
      return v ? [api.presumptionProblem(v, "worker", w.host === parent.host ? CHILD_CODES : undefined)] : [];
    }
    const placement = call.options["placement"] ?? "same-host";
    const hostName = named ?? (placement === "same-host" ? parent.host : undefined);
    if (hostName === undefined) return [];
    const at = named !== undefined ? "host" : "placement";
    const v = api.declaredViolation(s, parentName, hostName);
    if (v) return [api.presumptionProblem(v, at, hostName === parent.host ? CHILD_CODES : undefined)];
    const free = api.declaredFreeNodes(s, hostName);
    if (n > free) {
      const code = hostName === parent.host ? "VMSCN7101" : "VMSCN7201";
      return [{ message: `host "${hostName}" has ${Math.max(0, free)} free node${free === 1 ? "" : "s"} for ${n} ${hostName === parent.host ? "child VM" : "clone"}${n === 1 ? "" : "s"} of "${parentName}" as the scenario declares its VMs (${code})`, at: named !== undefined ? "host" : "children", hint: 'declare more nodes on the host ("nodes N"), fork fewer children, or use placement auto' }];
    }
    return [];
  };
}
