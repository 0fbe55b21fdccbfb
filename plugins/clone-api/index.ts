// The VMM API VM clone command (option 2 of the expedited-launch document): the `clone` verb,
// the page-fault handler of clones that fetch their memory on demand, the `clone` report
// section, its table and chart, and the service the fork hypercall's plugin launches its
// next-host workers through. See README.md.
import { VmscnError, definePlugin, type Host, type World } from "../../core/api.js";
import { checkClone } from "./check.js";
import type { Clone } from "./clone.js";
import { CLONE_ARGS, CLONE_OPTIONS, parseLaunchOptions } from "./options.js";
import { FanOut, cloneReport, withParentRole } from "./report.js";
import { CloneState } from "./service.js";

export const CODES = {
  VMSCN7201: "no next host has a free node and enough free memory for a clone",
  VMSCN7202: "two hosts' VMMs comply with different VMM APIs (cluster presumption 1)",
  VMSCN7203: "two hosts' VMMs offer different hypercall interfaces (cluster presumption 1)",
  VMSCN7204: "a worker VM's VM interface (vCPUs, memory) differs from its parent's (cluster presumption 2)",
  VMSCN7205: "a worker VM's guest configuration differs from its parent's or its cluster's (cluster presumption 3)",
  VMSCN7206: "a worker VM's usage differs from its parent's or its cluster's (cluster presumption 4)",
  VMSCN7207: "a VM's runtime image cannot be captured now (a capture is under way, or its memory is not all on its host)",
  VMSCN7208: "a clone failed after its command was issued (a transfer failed, a host crashed, or its source went away while it fetched pages)",
  VMSCN7209: "a named worker VM cannot receive a runtime image (it is the parent, or it was started)",
} as const;

const NAME = "clone-api";

export default definePlugin({
  name: NAME,
  version: "1.0.0",
  kernel: "^1",
  description: "expedited VM launch on a next host: the VMM API VM clone command, with eager or on-demand memory",
  codes: CODES,
  register(k) {
    const state = new CloneState(k);
    const api = state.api();
    /** Fan-outs of `clone` commands by parent name: the latest, and how many. */
    const fanouts = new Map<string, { last: FanOut; count: number }>();
    const refusals = new Map<string, { count: number; code: string; reason: string }>();

    k.provide("clone-api", api);

    k.verb("clone", {
      description: "captures a VM's runtime image and issues VM clone commands to next hosts, whose VMMs load and start the clones",
      args: CLONE_ARGS,
      options: CLONE_OPTIONS,
      async: true,
      check: checkClone,
      run(call) {
        const parentName = String(call.args["vm"]);
        try {
          const parent = k.cluster.world(parentName);
          const o = parseLaunchOptions(call.options);
          const n = Number(call.options["workers"] ?? 1);
          const worker = call.args["worker"] === undefined ? undefined : namedWorker(parent, String(call.args["worker"]), n);
          let host: Host | undefined = call.args["host"] === undefined ? undefined : k.cluster.host(String(call.args["host"]));
          if (worker) {
            if (host && host !== worker.host) throw k.error("VMSCN5011", `VM "${worker.name}" is on host "${worker.host.name}", not "${host.name}"`, worker.label);
            host = worker.host;
          }
          state.checkCapturable(parent);
          const hosts = state.placeClones(parent, n, host, worker);
          const capture = state.newCapture(parent, o, true);
          const fan = new FanOut(k.scheduler.now, parent, n, (f) => {
            const lost = [...state.clones.values()].filter((c) => c.capture === capture && c.status === "failed");
            if (f.failed === 0) call.done();
            else call.done({ failed: k.error("VMSCN7208", `${f.failed} of ${n} clone${n === 1 ? "" : "s"} of "${parent.name}" failed: ${lost.map((c) => `${c.name}: ${c.failure}`).join("; ")}`).describe() });
          });
          const prev = fanouts.get(parent.name);
          fanouts.set(parent.name, { last: fan, count: (prev?.count ?? 0) + 1 });
          state.startClones(capture, hosts, worker, o, "clone", { running: () => fan.ran(k.scheduler.now), failed: () => fan.lost(k.scheduler.now) });
          capture.start();
        } catch (err) {
          if (err instanceof VmscnError) {
            const r = refusals.get(parentName) ?? { count: 0, code: "", reason: "" };
            refusals.set(parentName, { count: r.count + 1, code: err.code, reason: err.describe() });
          }
          throw err;
        }
      },
    });

    /** A declared VM named to receive the image: never started, not the parent (VMSCN7209). */
    function namedWorker(parent: World, name: string, n: number): World {
      const w = k.cluster.world(name);
      if (n !== 1) throw k.error("VMSCN5011", `a declared worker VM receives one image; ${n} were asked for`, w.label);
      if (w === parent) throw k.error("VMSCN7209", `VM "${name}" cannot receive its own runtime image`, w.label);
      if (w.kind !== "vm" || w.state !== "created") throw k.error("VMSCN7209", `VM "${name}" cannot receive a runtime image: it is ${w.kind === "vm" ? w.state : "a system world"} (a worker must be declared and never started)`, w.label);
      return w;
    }

    k.onFault("absent-fetch", (f) => {
      const c = state.byGuest.get(f.guest);
      return c ? c.fault(f.page, f.vcpu) : 0;
    });

    k.on("state-changed", (w, _from, to, cause) => {
      if (to !== "stopped") return;
      const capture = state.capturing.get(w);
      // The plugin's own stops (a failed clone, a fetcher done, an image dropped) lose nothing;
      // anyone else's (a crash, `kill`, `stop`) may cost a clone its source or its fetcher.
      const own = cause.by === NAME;
      const clone = own ? undefined : state.clones.get(w.name);
      const server = own ? undefined : state.captures.find((c) => c.server === w);
      if (!own && w.kind === "system" && w.serves) state.clones.get(w.serves.name)?.pagerStopped(w);
      if (!capture && !(clone && clone.world === w && !clone.finished) && !server) return;
      // On an event of its own: a crash stops every world of the host before it records why
      // (`failure`) and fails the host's transfers; the failure here comes after all that.
      k.after(0, () => {
        capture?.fail(w.failure ?? `VM "${w.name}" stopped during the capture`);
        if (clone?.world === w) clone.worldStopped();
        server?.serverStopped();
      }, "stopped");
    });

    k.metric("clone", () => {
      // Keyed by VM names (no prototype: a VM may be called `__proto__`). A clone that was
      // cloned from in turn keeps its clone entry and carries its parent's under `as-parent`.
      const out = Object.create(null) as Record<string, Record<string, unknown>>;
      for (const [name, c] of state.clones) out[name] = cloneReport(c);
      const parents = new Map<string, Record<string, unknown>>();
      for (const [name, f] of fanouts) parents.set(name, { role: "parent", requests: f.count, ...f.last.report() });
      for (const [name, r] of refusals) parents.set(name, { ...(parents.get(name) ?? { role: "parent", status: "refused" }), refusals: r.count, "refusal-code": r.code, refusal: r.reason });
      for (const [name, p] of parents) out[name] = withParentRole(out[name], p);
      return out;
    });

    k.table(() => ({
      title: "clones",
      columns: [
        { name: "clone" },
        { name: "parent" },
        { name: "from → to" },
        { name: "memory" },
        { name: "status" },
        { name: "launch", unit: "ns" },
        { name: "cold launch", unit: "ns" },
        { name: "capsule", unit: "B" },
        { name: "sent", unit: "B" },
        { name: "faults" },
      ],
      rows: [...state.clones.values()].map((c) => [
        c.name,
        c.parent.name,
        `${c.src.name} → ${c.dest.name}`,
        c.o.memory,
        c.status,
        c.runningAt === undefined ? null : c.runningAt - c.requestedAt,
        c.coldLaunchNs,
        c.capture.layout.bytes,
        c.bytesSent,
        c.c.faults,
      ]),
    }));

    k.chart(() => ({
      title: "Clone launch against cold launch",
      description: "For each clone: the time from the VM clone command to running, beside the cold launch (boot, initialisation, application launch) it replaces.",
      mark: "bar",
      x: { label: "clone" },
      y: { label: "time", unit: "ns" },
      legend: "launch",
      data: { points: [...state.clones.values()].flatMap((c: Clone) => (c.runningAt === undefined ? [] : [{ x: c.name, y: c.runningAt - c.requestedAt, series: "clone" }, { x: c.name, y: c.coldLaunchNs, series: "cold launch" }])) },
    }));
  },
});
