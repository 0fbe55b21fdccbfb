// A probe for the conformance scenarios of this folder: `throttle VM { by P% }` sets the
// kernel's vCPU throttle (as a migration's auto-converge does), and the hypercall
// `mark { as "NAME" }` records when the guest issued it, as `marks(VM).NAME` in the report.
import { definePlugin } from "vmscn";

export default definePlugin({
  name: "throttle-probe",
  version: "1.0.0",
  kernel: "^1",
  description: "sets a VM's vCPU throttle; records when marked hypercalls run",
  register(k) {
    const marks = new Map<string, Record<string, number>>();
    k.verb("throttle", {
      description: "sets the VM's vCPU throttle (0% removes it)",
      args: [{ name: "vm", kind: "vm", description: "the VM" }],
      options: { by: { type: "quantity", dimension: "percent", min: 0, max: 1, required: true, description: "share of CPU time withheld" } },
      run(call) {
        k.cluster.setThrottle(k.cluster.world(String(call.args.vm)), Number(call.options.by));
      },
    });
    k.hypercall("mark", {
      description: "records the time the guest issued it",
      options: { as: { type: "string", required: true, description: "the mark's name in the report" } },
      run(call) {
        const vm = marks.get(call.world.name) ?? Object.create(null);
        vm[String(call.options.as)] = call.time;
        marks.set(call.world.name, vm);
        return 0;
      },
    });
    k.metric("marks", () => (marks.size === 0 ? undefined : Object.fromEntries(marks)));
  },
});
