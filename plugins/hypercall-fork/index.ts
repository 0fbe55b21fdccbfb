// The VM fork hypercall (option 1 of the expedited-launch document): a guest's `fork`
// hypercall and, for convenience, the `fork` verb, one implementation for both; child VMs on
// the parent's host share its memory copy-on-write, workers placed on next hosts are clones
// (plugin clone-api). The `fork` report section, its tables and chart. See README.md.
import { PAGE_SIZE, VmscnError, definePlugin, type Host, type OptionValue, type PluginContext, type World } from "../../core/api.js";
import type { CloneApi } from "../clone-api/api.js";
import { checkFork } from "./check.js";
import { Fork, childFrames, forkMemorySaved, type Child, type ForkRequest, type Origin } from "./fork.js";
import { FORK_ARGS, FORK_OPTIONS, HYPERCALL_OPTIONS, type Placement } from "./options.js";

export const CODES = {
  VMSCN7101: "the parent's host has no free node for a child VM",
  VMSCN7102: "a child's VM interface (vCPUs, memory) differs from its parent's (cluster presumption 2)",
  VMSCN7103: "a child's guest configuration differs from its parent's or its cluster's (cluster presumption 3)",
  VMSCN7104: "a child's usage differs from its parent's or its cluster's (cluster presumption 4)",
  VMSCN7105: "a named worker VM cannot receive a runtime image (it is the parent, or it was started)",
  VMSCN7106: "a fork's worker failed before it ran (the capture failed, a host crashed, a clone's transfer failed)",
} as const;

/** The figures this plugin models rather than computes (README, "Capture and load costs"). */
const MODELLED = ["capsule-bytes", "capture-time", "load-time"];

const NAME = "hypercall-fork";

export default definePlugin({
  name: NAME,
  version: "1.0.0",
  kernel: "^1",
  requires: ["clone-api"],
  description: "expedited VM launch by the VM fork hypercall: copy-on-write child VMs on the parent's host, clones on next hosts",
  codes: CODES,
  register(k) {
    const api = k.use("clone-api");
    const forks: Fork[] = [];
    const children = new Map<string, Child>();
    /** Fan-outs by parent name: the latest, and how many. */
    const byParent = new Map<string, { last: Fork; count: number }>();
    const refusals = new Map<string, { count: number; code: string; reason: string }>();
    let seq = 0;

    /** The verb and the hypercall both come here; a refusal is kept for the parent's report. */
    function fork(vm: string, build: () => ForkRequest, onSettled: (f: Fork) => void): Fork {
      // `new-frames` counts the frames each child allocated: the hosts record owners from now on.
      k.memory.trackOwners();
      try {
        const req = build();
        const f = new Fork(k, api, ++seq, req, onSettled);
        f.begin();
        forks.push(f);
        for (const c of f.children) children.set(c.name, c);
        const prev = byParent.get(req.parent.name);
        byParent.set(req.parent.name, { last: f, count: (prev?.count ?? 0) + 1 });
        return f;
      } catch (err) {
        if (err instanceof VmscnError) {
          const r = refusals.get(vm) ?? { count: 0, code: "", reason: "" };
          refusals.set(vm, { count: r.count + 1, code: err.code, reason: err.describe() });
        }
        throw err;
      }
    }

    k.verb("fork", {
      description: "the VM fork: captures a VM's runtime image and launches workers from it, child VMs sharing its memory copy-on-write on its host or clones on next hosts",
      args: FORK_ARGS,
      options: { ...FORK_OPTIONS, ...api.launchOptions },
      async: true,
      check: checkFork(api),
      run(call) {
        const vm = String(call.args["vm"]);
        fork(vm, () => request(k, api, vm, call.options, optional(call.args["host"]), optional(call.args["worker"]), "fork"), (f) => call.done(f.failed === 0 ? undefined : { failed: failure(k, f) }));
      },
    });

    // A guest issues the fork hypercall as a scripted action (`at T: web hypercall fork {...}`).
    k.hypercall("fork", {
      description: "the VM fork hypercall: the VMM captures the calling VM's runtime image and launches workers from it (options as the fork verb's, with to and into)",
      options: { ...HYPERCALL_OPTIONS, ...api.launchOptions },
      run(call) {
        const vm = call.world.name;
        fork(vm, () => request(k, api, vm, call.options, optional(call.options["to"]), optional(call.options["into"]), "fork-hypercall"), () => {});
        // The capture paused the VM; its vCPUs go on when the VMM resumes it.
        return 0;
      },
    });

    k.on("state-changed", (w, _from, to, cause) => {
      // The plugin's own stop (a child that failed) is no news; anyone else's may fail a child.
      if (to !== "stopped" || cause.by === NAME) return;
      const c = children.get(w.name);
      // On an event of its own: a crash stops every world of the host before it records why
      // (`failure`) and fails the host's transfers; the failure here comes after all that.
      if (c && c.world === w && c.status !== "running" && c.status !== "failed") k.after(0, () => c.fork.childStopped(c), "stopped");
    });

    k.metric("fork", () => {
      // Keyed by VM names (no prototype: a VM may be called `__proto__`). A child that forked
      // in turn keeps its child entry and carries its parent's under `as-parent`.
      const out = Object.create(null) as Record<string, Record<string, unknown>>;
      for (const f of forks) for (const c of f.children) out[c.name] = childReport(k, c);
      const parents = new Map<string, Record<string, unknown>>();
      for (const [name, { last, count }] of byParent) parents.set(name, { role: "parent", requests: count, ...fanOutReport(k, api, last) });
      for (const [name, r] of refusals) parents.set(name, { ...(parents.get(name) ?? { role: "parent", status: "refused" }), refusals: r.count, "refusal-code": r.code, refusal: r.reason });
      for (const [name, p] of parents) out[name] = bothRoles(out[name], p);
      return out;
    });

    k.table(() => [
      {
        title: "child VMs (fork)",
        columns: [{ name: "child" }, { name: "parent" }, { name: "host" }, { name: "status" }, { name: "launch", unit: "ns" }, { name: "cold launch", unit: "ns" }, { name: "frames shared" }, { name: "COW breaks" }, { name: "new frames" }, { name: "memory saved", unit: "B" }],
        rows: forks.flatMap((f) =>
          f.children.map((c) => {
            const fr = childFrames(k, c);
            return [c.name, f.parent.name, c.world.host.name, c.status, c.runningAt === undefined ? null : c.runningAt - c.requestedAt, c.coldLaunchNs, c.framesShared, c.world.memory!.cowBreaks, fr.newFrames, fr.sharedNow * PAGE_SIZE];
          }),
        ),
      },
      {
        title: "forks (fan-out)",
        columns: [{ name: "parent" }, { name: "at", unit: "ns" }, { name: "workers" }, { name: "children" }, { name: "clones" }, { name: "all running after", unit: "ns" }, { name: "cold launch", unit: "ns" }, { name: "failed" }],
        rows: forks.map((f) => [f.parent.name, f.requestedAt, f.workers, f.children.length, f.clones.length, f.allRunningAt === undefined ? null : f.allRunningAt - f.requestedAt, api.coldLaunchNs(f.parent), f.failed]),
      },
    ]);

    k.chart(() => ({
      title: "Workers running after a fork",
      description: "For each fork: how many of its workers (child VMs and clones) run, against the time since the hypercall; a cold launch would take the parent's boot, initialisation and application launch.",
      mark: "step",
      x: { label: "time since the fork", unit: "ns" },
      y: { label: "workers running" },
      legend: "fork",
      data: {
        series: forks.map((f) => {
          const times = [...f.runningTimes].sort((a, b) => a - b);
          return { name: `${f.parent.name} @ ${f.requestedAt / 1e9} s`, x: [0, ...times], y: [0, ...times.map((_, i) => i + 1)] };
        }),
      },
    }));
  },
});

/** A VM's entry: its parent entry, or its child entry with the parent's under `as-parent`. */
function bothRoles(child: Record<string, unknown> | undefined, parent: Record<string, unknown>): Record<string, unknown> {
  if (child === undefined) return parent;
  const { role: _role, ...asParent } = parent;
  return { ...child, "as-parent": asParent };
}

function optional(v: OptionValue | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : String(v);
}

function request(k: PluginContext, api: CloneApi, vm: string, options: Record<string, OptionValue>, host: string | undefined, worker: string | undefined, origin: Origin): ForkRequest {
  const parent: World = k.cluster.world(vm);
  if (parent.kind !== "vm") throw k.error("VMSCN5005", `"${vm}" is a system world, not a VM`);
  const h: Host | undefined = host === undefined ? undefined : k.cluster.host(host);
  const w: World | undefined = worker === undefined ? undefined : k.cluster.world(worker);
  return {
    parent,
    children: Number(options["children"] ?? 1),
    placement: (options["placement"] as Placement | undefined) ?? "same-host",
    host: h,
    worker: w,
    o: api.parseLaunchOptions(options),
    origin,
  };
}

function failure(k: PluginContext, f: Fork): string {
  const lost = [...f.children.filter((c) => c.status === "failed").map((c) => `${c.name}: ${c.failure}`), ...f.clones.filter((c) => c.status === "failed").map((c) => `${c.name}: the clone failed: ${c.failure}`)];
  return k.error("VMSCN7106", `${f.failed} of ${f.workers} workers of "${f.parent.name}" failed: ${lost.join("; ")}`).describe();
}

function childReport(k: PluginContext, c: Child): Record<string, unknown> {
  const f = c.fork;
  const cap = f.capture;
  const latency = c.runningAt === undefined ? null : c.runningAt - c.requestedAt;
  const fr = childFrames(k, c);
  const g = c.world.memory!;
  return {
    role: "child",
    parent: f.parent.name,
    origin: f.req.origin,
    declared: c.declared,
    host: c.world.host.name,
    status: c.status,
    ...(c.failure ? { failure: c.failure } : {}),
    state: c.world.state,
    "host-model": f.req.o.hostModel,
    "requested-at": c.requestedAt,
    "launch-latency": latency,
    "cold-launch": c.coldLaunchNs,
    speedup: latency !== null && latency > 0 && c.coldLaunchNs > 0 ? Math.round((c.coldLaunchNs / latency) * 1000) / 1000 : null,
    "capture-time": cap.cost.total,
    capture: { exit: cap.cost.exit, sync: cap.cost.sync, seal: cap.cost.seal, copy: cap.cost.copy },
    "load-time": c.loadNs,
    "capsule-bytes": cap.layout.bytes,
    capsule: { "cpu-state": cap.layout.cpuState, "device-state": cap.layout.deviceState, "memory-bootstrap": cap.layout.memoryBootstrap },
    "bytes-sent": 0,
    "frames-shared": c.framesShared,
    "cow-breaks": g.cowBreaks,
    "new-frames": fr.newFrames,
    "shared-now": fr.sharedNow,
    "memory-saved": fr.sharedNow * PAGE_SIZE,
    modelled: MODELLED,
  };
}

function fanOutReport(k: PluginContext, api: CloneApi, f: Fork): Record<string, unknown> {
  return {
    workers: f.workers,
    children: f.children.length,
    clones: f.clones.length,
    origin: f.req.origin,
    "requested-at": f.requestedAt,
    running: f.running,
    failed: f.failed,
    "all-running-time": f.allRunningAt === undefined ? null : f.allRunningAt - f.requestedAt,
    "cold-launch": api.coldLaunchNs(f.parent),
    "capture-time": f.capture.cost.total,
    "capsule-bytes": f.capture.layout.bytes,
    "parent-cow-breaks": f.parent.memory!.cowBreaks,
    "memory-saved": forkMemorySaved(k, f),
  };
}
