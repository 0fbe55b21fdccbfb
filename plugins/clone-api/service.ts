// The clone-api service (its type is in api.ts: `k.use("clone-api")`): capturing a runtime
// image, placing and launching clones on next hosts, the cluster presumptions, node and VMM
// bookkeeping. The fork hypercall's plugin (hypercall-fork) launches its next-host workers
// through it, so a clone is the same whether a `clone` command or a fork placed it.
import { PAGE_SIZE, type Host, type PluginContext, type World } from "../../core/api.js";
import { capsuleLayout, loadCost, type CapsuleLayout } from "./capsule.js";
import { declaredFreeNodes, declaredViolation, presumptionProblem } from "./check.js";
import { Capture, type CaptureListener } from "./capture.js";
import { Clone, type CloneListener, type Origin } from "./clone.js";
import { LAUNCH_OPTIONS, parseLaunchOptions, type LaunchOptions } from "./options.js";
import { PRESUMPTION_CODES, freeNodes, ringAfter, violation, type Violation } from "./placement.js";
import type { CloneApi } from "./api.js";

/** Bookkeeping behind the service, shared with the plugin's report. */
export class CloneState {
  readonly clones = new Map<string, Clone>();
  readonly capturing = new Map<World, Capture>();
  readonly byGuest = new Map<unknown, Clone>();
  readonly captures: Capture[] = [];
  private readonly vmmBusy = new Map<Host, number>();
  private readonly reserved = new Map<Host, number>();
  private readonly nextIndex = new Map<string, number>();
  private seq = 0;

  constructor(private readonly k: PluginContext) {}

  api(): CloneApi {
    const k = this.k;
    return {
      launchOptions: LAUNCH_OPTIONS,
      parseLaunchOptions,
      checkCapturable: (parent) => this.checkCapturable(parent),
      capture: (parent, o, wantImage) => this.newCapture(parent, o, wantImage),
      placeClones: (parent, n, host, worker) => this.placeClones(parent, n, host, worker),
      startClones: (capture, hosts, worker, o, origin, listener) => this.startClones(capture, hosts, worker, o, origin, listener),
      violation: (parent, host, worker) => violation(k, parent, host, worker),
      freeNodes,
      vmmSlot: (host, ns) => this.vmmSlot(host, ns),
      newWorker: (parent, kind, host, o) => this.newWorker(parent, kind, host, o),
      coldLaunchNs: (w) => coldLaunchNs(k, w),
      layout: (parent, o) => this.layout(parent, o),
      memoryElsewhere: (parent) => memoryElsewhere(parent),
      loadCost,
      declaredViolation,
      declaredFreeNodes,
      presumptionProblem,
    };
  }

  layout(parent: World, o: LaunchOptions): CapsuleLayout {
    return capsuleLayout(parent.vcpus, this.k.vmInfo(parent)?.deviceStateBytes ?? 0, parent.memory!.pages, o.cpuStateBytes);
  }

  checkCapturable(parent: World): void {
    const k = this.k;
    if (parent.kind !== "vm" || !parent.memory) throw k.error("VMSCN5005", `"${parent.name}" is a system world, not a VM`);
    if (parent.state !== "running" && parent.state !== "suspended") throw k.error("VMSCN5004", `cannot capture the runtime image of VM "${parent.name}": it is ${parent.state}`, parent.label);
    const cur = this.capturing.get(parent);
    if (cur) throw k.error("VMSCN7207", `the runtime image of VM "${parent.name}" is already being captured (since ${cur.startedAt} ns)`, parent.label);
    const away = memoryElsewhere(parent);
    if (away > 0) throw k.error("VMSCN7207", `cannot capture the runtime image of VM "${parent.name}": ${away} of its pages are not on host "${parent.host.name}" (a migration or restore is still bringing them)`, parent.label);
  }

  newCapture(parent: World, o: LaunchOptions, wantImage: boolean): Capture {
    const c = new Capture(this.k, ++this.seq, parent, this.layout(parent, o), o, wantImage);
    this.capturing.set(parent, c);
    this.captures.push(c);
    const done: CaptureListener = { sealed: () => this.capturing.delete(parent), failed: () => this.capturing.delete(parent) };
    c.listeners.push(done);
    return c;
  }

  placeClones(parent: World, n: number, host: Host | undefined, worker: World | undefined): Host[] {
    const k = this.k;
    const need = parent.memory!.census().present;
    const src = parent.host;
    if (host) {
      if (host === src) throw k.error("VMSCN5011", `a clone of VM "${parent.name}" goes to a next host, not to its own host "${src.name}" (fork it for a child on the same host)`, parent.label);
      if (!host.up) throw k.error("VMSCN5009", `cannot clone VM "${parent.name}" to host "${host.name}": the host is down`, parent.label);
      if (!k.network.hasRoute(src.name, host.name)) throw k.error("VMSCN5009", `cannot clone VM "${parent.name}": no route from host "${src.name}" to host "${host.name}"`, parent.label);
    }
    const out: Host[] = [];
    const reasons: string[] = [];
    let broken: Violation | null = null;
    for (const h of host ? [host] : ringAfter(src, k.cluster.hosts)) {
      if (!h.up || !k.network.hasRoute(src.name, h.name)) {
        reasons.push(`host "${h.name}" is ${h.up ? "unreachable" : "down"}`);
        continue;
      }
      if (h.memoryBytes < parent.memory!.pages * PAGE_SIZE) {
        reasons.push(`host "${h.name}" has less memory than VM "${parent.name}"`);
        continue;
      }
      const v = violation(k, parent, h, worker);
      if (v) {
        if (host) throw k.error(PRESUMPTION_CODES[v.presumption], v.message, parent.label);
        broken ??= v;
        reasons.push(`host "${h.name}" breaks a presumption`);
        continue;
      }
      // A declared worker already holds its node.
      let nodes = worker ? n : freeNodes(h);
      let pages = k.memory.machine(h.id).free - (this.reserved.get(h) ?? 0);
      const before = out.length;
      while (out.length < n && nodes > 0 && pages >= need) {
        out.push(h);
        nodes--;
        pages -= need;
      }
      if (out.length === n) return out;
      if (out.length === before) reasons.push(`host "${h.name}" has ${nodes} free node${nodes === 1 ? "" : "s"} and room for ${need > 0 ? Math.floor(Math.max(0, pages) / need) : "any number of"} images of ${need} pages`);
    }
    const placed = out.length > 0 ? ` (${out.length} placed)` : "";
    if (broken && !host) throw k.error(PRESUMPTION_CODES[broken.presumption], `no next host can take ${n} clone${n === 1 ? "" : "s"} of VM "${parent.name}"${placed}; ${broken.message}`, parent.label);
    throw k.error("VMSCN7201", `no room for ${n} clone${n === 1 ? "" : "s"} of VM "${parent.name}" on the next hosts${placed}: ${reasons.join("; ") || "there is no other host"}`, parent.label);
  }

  startClones(capture: Capture, hosts: readonly Host[], worker: World | undefined, o: LaunchOptions, origin: Origin, listener: CloneListener): Clone[] {
    const k = this.k;
    const env = {
      vmmSlot: (h: Host, ns: number) => this.vmmSlot(h, ns),
      reserve: (h: Host, pages: number) => this.reserve(h, pages),
      track: (g: unknown, c: Clone | null) => {
        if (c) this.byGuest.set(g, c);
        else this.byGuest.delete(g);
      },
    };
    const out: Clone[] = [];
    const present = capture.parent.memory!.census().present;
    for (const h of hosts) {
      const w = worker ?? this.newWorker(capture.parent, "clone", h, o);
      if (worker && w.memory!.census().unbacked !== w.memory!.pages) k.memory.releaseAll(w.memory!);
      const clone = new Clone(k, env, ++this.seq, w, capture, h, o, origin, worker !== undefined, coldLaunchNs(k, worker ?? capture.parent), listener, present);
      this.clones.set(w.name, clone);
      capture.listeners.push({ sealed: () => clone.sealed(), failed: (_c, reason) => clone.captureFailed(reason) });
      out.push(clone);
    }
    return out;
  }

  vmmSlot(host: Host, ns: number): number {
    const start = Math.max(this.k.scheduler.now, this.vmmBusy.get(host) ?? 0);
    this.vmmBusy.set(host, start + ns);
    return start + ns;
  }

  reserve(host: Host, pages: number): void {
    this.reserved.set(host, (this.reserved.get(host) ?? 0) + pages);
  }

  newWorker(parent: World, kind: "child" | "clone", host: Host, o: LaunchOptions): World {
    const k = this.k;
    const key = `${parent.name}-${kind}`;
    let i = this.nextIndex.get(key) ?? 1;
    while (k.cluster.hasWorld(`${key}${i}`)) i++;
    this.nextIndex.set(key, i + 1);
    const info = k.vmInfo(parent);
    const ps = info?.spec;
    const wl = ps?.workload;
    const inherit = o.workload === "inherit" && wl !== undefined && wl.activities.length > 0;
    return k.createVm({
      name: `${key}${i}`,
      host: host.name,
      vcpus: parent.vcpus,
      memoryBytes: parent.memory!.pages * PAGE_SIZE,
      ...(info ? { deviceStateBytes: info.deviceStateBytes, bootNs: info.bootNs } : {}),
      ...(ps?.initNs !== undefined ? { initNs: ps.initNs } : {}),
      ...(ps?.appLaunchNs !== undefined ? { appLaunchNs: ps.appLaunchNs } : {}),
      ...(ps?.guest !== undefined ? { guest: ps.guest } : {}),
      ...(ps?.usage !== undefined ? { usage: ps.usage } : {}),
      ...(inherit ? { workload: { activities: wl.activities, mix: wl.mix, scripted: [] } } : {}),
    });
  }
}

export function coldLaunchNs(k: PluginContext, w: World): number {
  const info = k.vmInfo(w);
  if (!info) return 0;
  return info.bootNs + (info.spec.initNs ?? 0) + (info.spec.appLaunchNs ?? 0);
}

export function memoryElsewhere(parent: World): number {
  const c = parent.memory!.census();
  return c.absentRestore + c.absentFetch + c.remote;
}
