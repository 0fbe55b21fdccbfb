// Max-min fair bandwidth sharing, used by the network (NICs, link directions) and by storage
// (datastores). One instance per run, so a datastore and a link are solved by the same rules.
//
// Three ideas keep 10,000 concurrent flows, and 1,000 independent links, cheap:
//  * Flows with the same path and the same cap are interchangeable under max-min fairness, so
//    they are grouped into a *class* and the solver works on classes, not flows. A class keeps
//    a `served` counter (bytes delivered to each of its flows so far) and a min-heap of its
//    flows keyed by the value of `served` at which each drains (`finish`), as in fluid fair
//    queueing. A flow's remaining bytes are `finish - served`, exact at any instant.
//  * Counters are lazy: a class's `served` (and a resource's `carried`) is brought to the
//    present only when its rate changes or a flow joins or leaves it; in between it is
//    `served + rate × elapsed`. The next completion is the top of a heap of classes by the
//    time their first flow drains.
//  * Changes are local and batched: a change marks its class (or resource) dirty; one event at
//    the same instant with Priority.Late solves again only the connected components (classes
//    linked by shared resources) that hold a dirty one, whatever the number of starts and ends
//    at that instant: max-min fairness is decided within a component, so the others keep
//    their rates. (SimGrid's solver keeps the same locality with its "selective update".)
// The solver itself is progressive filling over a component's classes; see `fill`.
import { inject, injectable } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { kernelError } from "../errors.js";
import { Priority, Scheduler, type EventHandle } from "../sim/scheduler.js";
import { SECOND } from "../sim/time.js";

export interface FlowSpec {
  /** Resource ids the flow crosses (its path); empty: no bottleneck, drains at once unless capped. */
  resources: readonly number[];
  /** Total bytes to move (≥ 0). */
  bytes: number;
  /** Cap on the flow's own rate in bytes/s (a paced sender); unlimited when omitted. */
  maxRate?: number;
  /** Called (inside a fair-share event) once the last byte went through. */
  onDrained: () => void;
  /** Called on an event at the same instant when `fail(reason)` ends the flow. */
  onFailed?: (reason: unknown) => void;
  /** For messages. */
  label?: string;
}

export type FlowState = "active" | "drained" | "cancelled" | "failed";

/** Up to this many classes, a change solves them all: finding its component would cost more. */
const GLOBAL_SOLVE_CLASSES = 128;
/** A flow with this many bytes left or fewer is done (floating-point residue). */
const BYTE_EPSILON = 1e-6;
/** Relative residue of the `served` counters, which are sums of many products. */
const RELATIVE_EPSILON = 1e-12;
/** `served` counters are rebased past this value so that `finish - served` keeps its precision. */
const REBASE_AT = 2 ** 40;

/** One flow; also the handle returned by `FairShare.start`. */
export class Flow {
  state: FlowState = "active";
  /** @internal */ cls: FlowClass | null = null;
  /** @internal The class's `served` value at which this flow has drained. */
  finish = 0;
  /** @internal Position in the class heap. */
  heapIndex = -1;
  /** @internal Bytes left when the flow stopped being active. */
  left = 0;

  constructor(
    readonly id: number,
    readonly bytes: number,
    readonly maxRate: number,
    readonly label: string,
    /** @internal */ readonly onDrained: () => void,
    /** @internal */ readonly onFailed: ((reason: unknown) => void) | undefined,
    private readonly owner: FairShare,
  ) {}

  /**
   * Current rate in bytes/s, as of the last recomputation (rates are recomputed at the end of
   * the instant of a change, so a flow just started reads 0 until then). 0 once the flow ended;
   * Infinity for a flow with no bottleneck.
   */
  get rate(): number {
    return this.cls === null ? 0 : this.cls.rate;
  }

  /** Bytes still to move, exact at the current simulated time. */
  remaining(): number {
    return this.owner.remainingOf(this);
  }

  /** Stops the flow without calling anything. False if it had already ended. */
  cancel(): boolean {
    return this.owner.stop(this, "cancelled", undefined);
  }

  /** Stops the flow and calls its `onFailed(reason)` on an event at the current time. */
  fail(reason?: unknown): boolean {
    return this.owner.stop(this, "failed", reason);
  }
}

/** @internal A resource: a NIC direction, a link direction, a datastore. */
class Resource {
  /** Total rate through the resource in bytes/s, as of the last recomputation. */
  rate = 0;
  /** Bytes carried up to `carriedAt`. */
  carried = 0;
  carriedAt = 0;
  /** Its capacity changed, or a class that crossed it ended: its component is solved again. */
  dirty = false;
  /** Active classes whose path crosses this resource (insertion order: deterministic). */
  readonly classes = new Set<FlowClass>();
  // Solver scratch: capacity not yet given out, number of unfrozen flows, last solve it took part in.
  rem = 0;
  n = 0;
  epoch = -1;
  constructor(
    readonly id: number,
    readonly name: string,
    public capacity: number,
  ) {}
}

/** @internal Flows with the same path and cap: max-min fairness gives them the same rate. */
class FlowClass {
  /** Bytes delivered to each flow of the class since the class's origin, up to `servedAt`. */
  served = 0;
  servedAt = 0;
  /** Rate of each flow of the class, bytes/s. */
  rate = 0;
  /** Min-heap of flows by (finish, id). */
  readonly heap: Flow[] = [];
  /** Position in `FairShare.classes`. */
  index = -1;
  frozen = false;
  /** Its flows changed since the last solve. */
  dirty = false;
  /** The last component solve that reached it. */
  epoch = -1;
  /** The last drain check that took it (one check per class per update). */
  checked = -1;
  /** When its first flow drains at the current rate, and its position in the completion heap (-1: not on it). */
  due = Infinity;
  dueIndex = -1;
  constructor(
    readonly id: number,
    readonly key: string,
    readonly resources: Resource[],
    readonly maxRate: number,
  ) {}
}

@injectable()
export class FairShare {
  private readonly resources: Resource[] = [];
  private readonly byKey = new Map<string, FlowClass>();
  /** Active classes (at least one flow). */
  private readonly classes: FlowClass[] = [];
  private nextFlowId = 1;
  private nextClassId = 1;
  private flowCount = 0;
  private inUpdate = false;
  private pending: EventHandle | null = null;
  private pendingTime = -1;
  private epoch = 0;
  private checkMark = 0;
  private readonly listeners: (() => void)[] = [];
  /** Classes whose flows changed since the last solve: their components are solved again. */
  private readonly dirtyClasses: FlowClass[] = [];
  /** Resources whose capacity changed, or that a dropped class crossed: the same for theirs. */
  private readonly dirtyResources: Resource[] = [];
  /** Min-heap of classes by the time their first flow drains (`due`, then class id), kept above GLOBAL_SOLVE_CLASSES classes. */
  private readonly due: FlowClass[] = [];
  private dueHeapOn = false;
  // Solver heap of resources keyed by fair share (parallel arrays, reused between solves).
  private hKeys: number[] = [];
  private hRes: Resource[] = [];
  private useHeap = false;
  // Solver scratch, reused: one component's classes, resources and capped classes.
  private readonly compClasses: FlowClass[] = [];
  private readonly stack: FlowClass[] = [];
  private readonly involved: Resource[] = [];
  private readonly capped: FlowClass[] = [];
  /** Class keys by path array: callers such as the network reuse one array per route. */
  private readonly pathKeys = new WeakMap<readonly number[], string>();
  /** @internal Above this many resources in a component, the solver finds bottlenecks with a heap. */
  scanLimit = 64;
  /** Number of rate recomputations so far (tests check that one instant costs one). */
  recomputations = 0;
  /** Classes solved again so far, over all recomputations (tests check that a change stays local). */
  classesSolved = 0;

  constructor(@inject(TOKENS.Scheduler) private readonly scheduler: Scheduler) {}

  /** Adds a resource of the given capacity (bytes/s) and returns its id. */
  addResource(name: string, capacityBytesPerSec: number): number {
    checkCapacity(capacityBytesPerSec, name, this.scheduler.now);
    const r = new Resource(this.resources.length, name, capacityBytesPerSec);
    this.resources.push(r);
    return r.id;
  }

  setCapacity(id: number, capacityBytesPerSec: number): void {
    const r = this.resource(id);
    checkCapacity(capacityBytesPerSec, r.name, this.scheduler.now);
    if (r.capacity === capacityBytesPerSec) return;
    r.capacity = capacityBytesPerSec;
    this.markResource(r);
    this.ensureUpdate();
  }

  capacity(id: number): number {
    return this.resource(id).capacity;
  }

  resourceName(id: number): string {
    return this.resource(id).name;
  }

  /** Current total rate through a resource in bytes/s (as of the last recomputation). */
  resourceRate(id: number): number {
    return this.resource(id).rate;
  }

  /** Bytes carried by a resource so far, exact at the current simulated time. */
  resourceBytes(id: number): number {
    const r = this.resource(id);
    const dt = this.scheduler.now - r.carriedAt;
    return dt > 0 && r.rate > 0 && r.rate !== Infinity ? r.carried + (r.rate * dt) / SECOND : r.carried;
  }

  /** Number of active flows crossing a resource. */
  resourceFlows(id: number): number {
    let n = 0;
    for (const c of this.resource(id).classes) n += c.heap.length;
    return n;
  }

  /** Number of active flows. */
  get activeFlows(): number {
    return this.flowCount;
  }

  /** Calls `fn` after every recomputation of the rates (for example to update CPU loads). */
  onRatesChanged(fn: () => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  start(spec: FlowSpec): Flow {
    const now = this.scheduler.now;
    const label = spec.label ?? `flow #${this.nextFlowId}`;
    if (!(spec.bytes >= 0) || !Number.isFinite(spec.bytes)) {
      throw kernelError("VMSCN5011", `${label} was given ${spec.bytes} bytes to move; it needs a finite number ≥ 0`, { time: now });
    }
    const maxRate = spec.maxRate ?? Infinity;
    if (!(maxRate > 0)) {
      throw kernelError("VMSCN5011", `${label} was given a maximum rate of ${spec.maxRate} bytes/s; it must be > 0`, { time: now });
    }
    const path = spec.resources.map((id) => this.resource(id));
    let pathKey = this.pathKeys.get(spec.resources);
    if (pathKey === undefined) {
      pathKey = spec.resources.join(",");
      this.pathKeys.set(spec.resources, pathKey);
    }
    const key = `${pathKey}|${maxRate}`;
    let cls = this.byKey.get(key);
    if (cls === undefined) {
      cls = new FlowClass(this.nextClassId++, key, path, maxRate);
      cls.servedAt = now;
      this.byKey.set(key, cls);
      cls.index = this.classes.length;
      this.classes.push(cls);
      for (const r of path) r.classes.add(cls);
    } else this.settle(cls);
    const f = new Flow(this.nextFlowId++, spec.bytes, maxRate, label, spec.onDrained, spec.onFailed, this);
    f.cls = cls;
    f.finish = cls.served + spec.bytes;
    heapPush(cls.heap, f);
    this.flowCount++;
    this.markClass(cls);
    this.ensureUpdate();
    return f;
  }

  /** @internal */
  remainingOf(f: Flow): number {
    const cls = f.cls;
    if (cls === null) return f.left;
    const dt = this.scheduler.now - cls.servedAt;
    const served = dt > 0 && cls.rate > 0 && cls.rate !== Infinity ? cls.served + (cls.rate * dt) / SECOND : cls.served;
    const rem = f.finish - served;
    return rem <= BYTE_EPSILON + f.finish * RELATIVE_EPSILON ? 0 : rem;
  }

  /** @internal */
  stop(f: Flow, state: "cancelled" | "failed", reason: unknown): boolean {
    if (f.cls === null) return false;
    this.settle(f.cls);
    f.left = this.remainingOf(f);
    this.remove(f);
    f.state = state;
    this.ensureUpdate();
    if (state === "failed" && f.onFailed !== undefined) {
      const cb = f.onFailed;
      this.scheduler.at(this.scheduler.now, () => cb(reason));
    }
    return true;
  }

  private resource(id: number): Resource {
    const r = this.resources[id];
    if (r === undefined) throw kernelError("VMSCN5011", `there is no fair-share resource with id ${id}`, { time: this.scheduler.now });
    return r;
  }

  /** Brings a class's `served` counter to now at its current rate. */
  private settle(c: FlowClass): void {
    const now = this.scheduler.now;
    const dt = now - c.servedAt;
    if (dt <= 0) return;
    c.servedAt = now;
    if (c.rate > 0 && c.rate !== Infinity) {
      c.served += (c.rate * dt) / SECOND;
      if (c.served > REBASE_AT) rebase(c);
    }
  }

  /** Brings a resource's `carried` counter to now at its current rate. */
  private settleResource(r: Resource): void {
    const now = this.scheduler.now;
    const dt = now - r.carriedAt;
    if (dt <= 0) return;
    r.carriedAt = now;
    if (r.rate > 0 && r.rate !== Infinity) r.carried += (r.rate * dt) / SECOND;
  }

  private markClass(c: FlowClass): void {
    if (c.dirty) return;
    c.dirty = true;
    this.dirtyClasses.push(c);
  }

  private markResource(r: Resource): void {
    if (r.dirty) return;
    r.dirty = true;
    this.dirtyResources.push(r);
  }

  private remove(f: Flow): void {
    const cls = f.cls!;
    heapRemove(cls.heap, f.heapIndex);
    f.heapIndex = -1;
    f.cls = null;
    this.flowCount--;
    if (cls.heap.length === 0) this.dropClass(cls);
    else this.markClass(cls);
  }

  private dropClass(cls: FlowClass): void {
    this.byKey.delete(cls.key);
    const last = this.classes.pop()!;
    if (last !== cls) {
      this.classes[cls.index] = last;
      last.index = cls.index;
    }
    cls.index = -1;
    if (cls.dueIndex >= 0) dueRemove(this.due, cls.dueIndex);
    // Its bytes stop: the resources it crossed carry what it carried up to now, then less.
    for (const r of cls.resources) {
      r.classes.delete(cls);
      this.markResource(r);
    }
    cls.rate = 0;
  }

  /** Ensures one fair-share event at the current instant (Priority.Late: after every change of the instant). */
  private ensureUpdate(): void {
    if (this.inUpdate) return;
    const now = this.scheduler.now;
    if (this.pending !== null) {
      if (this.pendingTime === now) return;
      this.pending.cancel();
    }
    this.pending = this.scheduler.at(now, this.update, Priority.Late);
    this.pendingTime = now;
  }

  /** The single fair-share event: drain finished flows, notify, recompute, schedule the next. */
  private readonly update = (): void => {
    this.pending = null;
    this.pendingTime = -1;
    const drained = this.collectDrained();
    // Callbacks that start or stop flows only mark classes dirty: one recomputation below.
    this.inUpdate = true;
    let changed = false;
    try {
      for (const f of drained) f.onDrained();
    } finally {
      this.inUpdate = false;
      if (this.dirtyClasses.length > 0 || this.dirtyResources.length > 0) {
        this.recompute();
        changed = true;
      }
      this.scheduleNext();
    }
    if (changed && this.listeners.length > 0) for (const fn of [...this.listeners]) fn();
  };

  /**
   * Flows that drained by now: those of the classes due by now, and of classes changed at this
   * instant (a class with no path and no cap drains at once, before any solve).
   */
  private collectDrained(): Flow[] {
    const now = this.scheduler.now;
    const check: FlowClass[] = [];
    const mark = ++this.checkMark;
    if (this.dueHeapOn) {
      while (this.due.length > 0 && this.due[0]!.due <= now) {
        const c = this.due[0]!;
        dueRemove(this.due, 0);
        c.checked = mark;
        check.push(c);
      }
    } else {
      for (const c of this.classes) {
        if (c.due > now) continue;
        c.checked = mark;
        check.push(c);
      }
    }
    for (const c of this.dirtyClasses) {
      if (c.index < 0 || c.checked === mark) continue;
      c.checked = mark;
      check.push(c);
    }
    const out: Flow[] = [];
    for (const c of check) {
      if (c.index < 0) continue;
      this.settle(c);
      const heap = c.heap;
      const rate = effectiveRate(c);
      let any = false;
      while (heap.length > 0) {
        const f = heap[0]!;
        const residue = f.finish - c.served;
        if (!isDrained(residue, rate, f.finish)) break;
        // Completion times are whole ns, so the counters ran a fraction of a byte past (or
        // short of) the flow's end: settle the resources' byte counts exactly.
        for (const r of c.resources) {
          this.settleResource(r);
          r.carried += residue;
        }
        f.left = 0;
        any = true;
        this.remove(f);
        f.state = "drained";
        out.push(f);
      }
      // Due but not drained (floating-point residue): its next due time is computed again.
      if (!any && c.index >= 0) this.pushDue(c);
    }
    if (out.length > 1) out.sort((a, b) => a.id - b.id);
    return out;
  }

  /** Puts a class on the completion heap at the time its first flow drains (none: off the heap). */
  private pushDue(c: FlowClass): void {
    if (c.dueIndex >= 0) dueRemove(this.due, c.dueIndex);
    c.due = this.dueOf(c);
    if (c.due !== Infinity && this.dueHeapOn) duePush(this.due, c);
  }

  /** When the class's first flow drains at its current rate (Infinity: never, or past simulated time). */
  private dueOf(c: FlowClass): number {
    const f = c.heap[0];
    if (f === undefined) return Infinity;
    const now = this.scheduler.now;
    const rate = effectiveRate(c);
    const rem = f.finish - c.served;
    let d: number;
    if (isDrained(rem, rate, f.finish)) d = 0;
    else if (rate <= 0) return Infinity;
    else d = Math.ceil((rem * SECOND) / rate - 1e-6);
    return Number.isSafeInteger(now + d) ? now + d : Infinity;
  }

  /** The completion heap made again from every class's due time (after a large component's solve). */
  private rebuildDue(): void {
    const h = this.due;
    for (const c of h) c.dueIndex = -1;
    h.length = 0;
    for (const c of this.classes) {
      if (c.due === Infinity) continue;
      c.dueIndex = h.length;
      h.push(c);
    }
    for (let i = (h.length >> 1) - 1; i >= 0; i--) dueDown(h, i);
  }

  /** One scheduler event for the earliest completion. */
  private scheduleNext(): void {
    if (this.pending !== null) this.pending.cancel();
    this.pending = null;
    this.pendingTime = -1;
    let next = Infinity;
    if (this.dueHeapOn) next = this.due.length > 0 ? this.due[0]!.due : Infinity;
    else for (const c of this.classes) if (c.due < next) next = c.due;
    if (next === Infinity) return;
    this.pendingTime = next;
    this.pending = this.scheduler.at(this.pendingTime, this.update, Priority.Late);
  }

  /**
   * Solves again the connected components (classes linked by the resources they share) that
   * hold a changed class or resource; max-min fairness is decided within each component, so
   * the others keep their rates. Each component is solved by progressive filling: raise every
   * unfrozen flow's rate together; a resource whose capacity runs out freezes the flows
   * crossing it, a flow reaching its cap freezes alone. Each step freezes at the lowest level
   * among resources (remaining / unfrozen flows) and caps, so levels only rise and every class
   * is frozen once. The lowest resource is found by a linear scan when few resources are in
   * the component, by a lazy heap otherwise.
   */
  private recompute(): void {
    this.recomputations++;
    // The seeds are taken off the dirty lists (solving marks nothing dirty).
    const seeds = this.dirtyClasses;
    const seedResources = this.dirtyResources;
    for (const c of seeds) c.dirty = false;
    for (const r of seedResources) r.dirty = false;
    // Few classes: one solve over all of them costs less than finding the components.
    // Few classes: the next completion is a scan over them, as cheap as a heap's upkeep.
    const heap = this.classes.length > GLOBAL_SOLVE_CLASSES;
    if (heap !== this.dueHeapOn) {
      this.dueHeapOn = heap;
      if (heap) this.rebuildDue();
      else {
        for (const c of this.due) c.dueIndex = -1;
        this.due.length = 0;
      }
    }
    if (!heap) this.solveAll(seedResources);
    else {
      // A seed already reached by an earlier component of this recomputation is solved.
      const first = this.epoch + 1;
      for (const c of seeds) if (c.index >= 0 && c.epoch < first) this.solveComponent([c], []);
      for (const r of seedResources) if (r.epoch < first) this.solveComponent([], [r]);
    }
    seeds.length = 0;
    seedResources.length = 0;
  }

  /** Every class at once (and the changed resources, so one left without classes carries 0). */
  private solveAll(seedResources: readonly Resource[]): void {
    const epoch = ++this.epoch;
    const comp = this.compClasses;
    const involved = this.involved;
    comp.length = 0;
    involved.length = 0;
    for (const c of this.classes) {
      c.epoch = epoch;
      comp.push(c);
      for (const r of c.resources) {
        if (r.epoch === epoch) continue;
        r.epoch = epoch;
        involved.push(r);
      }
    }
    for (const r of seedResources) {
      if (r.epoch === epoch) continue;
      r.epoch = epoch;
      involved.push(r);
    }
    this.solve(comp, involved, true);
  }

  /** Gathers the component reachable from the seeds and solves it. */
  private solveComponent(seedClasses: FlowClass[], seedResources: Resource[]): void {
    const epoch = ++this.epoch;
    const comp = this.compClasses;
    const involved = this.involved;
    const stack = this.stack;
    comp.length = 0;
    involved.length = 0;
    stack.length = 0;
    for (const c of seedClasses) {
      if (c.epoch === epoch) continue;
      c.epoch = epoch;
      stack.push(c);
    }
    for (const r of seedResources) {
      if (r.epoch === epoch) continue;
      r.epoch = epoch;
      involved.push(r);
      for (const c of r.classes) {
        if (c.epoch === epoch) continue;
        c.epoch = epoch;
        stack.push(c);
      }
    }
    while (stack.length > 0) {
      const c = stack.pop()!;
      comp.push(c);
      const rs = c.resources;
      for (let i = 0; i < rs.length; i++) {
        const r = rs[i]!;
        if (r.epoch === epoch) continue;
        r.epoch = epoch;
        involved.push(r);
        for (const c2 of r.classes) {
          if (c2.epoch === epoch) continue;
          c2.epoch = epoch;
          stack.push(c2);
        }
      }
    }
    // The global class order, as one solve over all classes would visit them: picked from the
    // class list when the component is a large part of it, else sorted.
    const large = comp.length * 8 > this.classes.length;
    if (comp.length > 1) {
      if (large) {
        comp.length = 0;
        for (const c of this.classes) if (c.epoch === epoch) comp.push(c);
      } else comp.sort((a, b) => a.index - b.index);
    }
    this.solve(comp, involved, large);
  }

  /** Solves a set of classes closed under shared resources, in class order; `large`: most of the classes. */
  private solve(comp: readonly FlowClass[], involved: readonly Resource[], large: boolean): void {
    this.classesSolved += comp.length;
    // Counters run at the old rates up to now.
    for (const c of comp) this.settle(c);
    for (const r of involved) this.settleResource(r);
    this.fill(comp, involved);
    // Resource totals, in class order (deterministic summation).
    for (const r of involved) r.rate = 0;
    for (const c of comp) {
      const total = c.rate * c.heap.length;
      if (total === 0) continue;
      for (const r of c.resources) r.rate += total;
    }
    if (!this.dueHeapOn) for (const c of comp) c.due = this.dueOf(c);
    else if (large) {
      for (const c of comp) c.due = this.dueOf(c);
      this.rebuildDue();
    } else for (const c of comp) this.pushDue(c);
  }

  /** Progressive filling over one component's classes (the resources in any order: ties go to the lower id). */
  private fill(comp: readonly FlowClass[], involved: readonly Resource[]): void {
    const capped = this.capped;
    capped.length = 0;
    for (const r of involved) {
      r.rem = r.capacity;
      r.n = 0;
    }
    for (const c of comp) {
      c.frozen = false;
      const n = c.heap.length;
      for (const r of c.resources) r.n += n;
      if (c.maxRate !== Infinity) capped.push(c);
    }
    if (capped.length > 1) capped.sort((a, b) => a.maxRate - b.maxRate);
    // Few resources (the common case): a linear scan per step beats a heap's bookkeeping.
    const useHeap = involved.length > this.scanLimit;
    this.useHeap = useHeap;
    if (useHeap) {
      this.hKeys.length = 0;
      this.hRes.length = 0;
      for (const r of involved) if (r.n > 0) this.hPush(r.rem / r.n, r);
    }

    let unfrozen = comp.length;
    let ci = 0;
    while (unfrozen > 0) {
      let top: Resource | null = null;
      let share = Infinity;
      if (useHeap) {
        while (this.hRes.length > 0) {
          const r = this.hRes[0]!;
          // Entries go stale when a resource's share changed; the current one is pushed again.
          if (r.n > 0 && this.hKeys[0] === r.rem / r.n) {
            top = r;
            share = this.hKeys[0]!;
            break;
          }
          this.hPop();
        }
      } else {
        for (const r of involved) {
          if (r.n === 0) continue;
          const k = r.rem / r.n;
          if (k < share || (k === share && top !== null && r.id < top.id)) {
            share = k;
            top = r;
          }
        }
      }
      while (ci < capped.length && capped[ci]!.frozen) ci++;
      const cap = ci < capped.length ? capped[ci]!.maxRate : Infinity;
      if (top === null || cap <= share) {
        if (cap === Infinity) {
          // Nothing constrains what is left (no path, or infinite capacities): unbounded rate.
          for (const c of comp) if (!c.frozen) unfrozen -= this.freeze(c, Infinity);
          break;
        }
        unfrozen -= this.freeze(capped[ci]!, cap);
      } else {
        if (useHeap) this.hPop();
        for (const c of top.classes) if (!c.frozen) unfrozen -= this.freeze(c, share);
      }
    }
  }

  private freeze(c: FlowClass, level: number): number {
    c.frozen = true;
    c.rate = level;
    const n = c.heap.length;
    for (const r of c.resources) {
      r.n -= n;
      if (level !== Infinity) {
        r.rem -= level * n;
        if (r.rem < 0) r.rem = 0;
      }
      if (this.useHeap && r.n > 0) this.hPush(r.rem / r.n, r);
    }
    return 1;
  }

  private hPush(key: number, r: Resource): void {
    const keys = this.hKeys;
    const res = this.hRes;
    let i = keys.length;
    keys.push(key);
    res.push(r);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pk = keys[p]!;
      if (pk < key || (pk === key && res[p]!.id < r.id)) break;
      keys[i] = pk;
      res[i] = res[p]!;
      i = p;
    }
    keys[i] = key;
    res[i] = r;
  }

  private hPop(): void {
    const keys = this.hKeys;
    const res = this.hRes;
    const lk = keys.pop()!;
    const lr = res.pop()!;
    const n = keys.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      if (l + 1 < n && (keys[l + 1]! < keys[l]! || (keys[l + 1] === keys[l] && res[l + 1]!.id < res[l]!.id))) c = l + 1;
      if (lk < keys[c]! || (lk === keys[c] && lr.id < res[c]!.id)) break;
      keys[i] = keys[c]!;
      res[i] = res[c]!;
      i = c;
    }
    keys[i] = lk;
    res[i] = lr;
  }
}

function checkCapacity(cap: number, name: string, time: number): void {
  if (!(cap >= 0)) {
    throw kernelError("VMSCN5011", `resource "${name}" was given a capacity of ${cap} bytes/s; it must be ≥ 0`, { time });
  }
}

/** Done: no bytes left beyond floating-point residue, or less than a whole ns of them. */
function isDrained(rem: number, rate: number, finish: number): boolean {
  if (rem <= BYTE_EPSILON + finish * RELATIVE_EPSILON) return true;
  return rate > 0 && (rem * SECOND) / rate - 1e-6 <= 0;
}

/**
 * The rates are recomputed after draining, so a class created at this instant has no rate yet;
 * one with no path and no cap is unbounded whatever the solver says, and drains at once.
 */
function effectiveRate(c: FlowClass): number {
  return c.resources.length === 0 && c.maxRate === Infinity ? Infinity : c.rate;
}

function rebase(c: FlowClass): void {
  // A uniform shift keeps the heap order and every flow's remaining bytes.
  const s = c.served;
  for (const f of c.heap) f.finish -= s;
  c.served = 0;
}

function less(a: Flow, b: Flow): boolean {
  return a.finish < b.finish || (a.finish === b.finish && a.id < b.id);
}

function heapPush(h: Flow[], f: Flow): void {
  h.push(f);
  siftUp(h, h.length - 1);
}

function heapRemove(h: Flow[], i: number): void {
  const last = h.pop()!;
  last.heapIndex = -1;
  if (i < h.length) {
    h[i] = last;
    last.heapIndex = i;
    siftUp(h, i);
    siftDown(h, last.heapIndex);
  }
}

function siftUp(h: Flow[], i: number): void {
  const f = h[i]!;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pf = h[p]!;
    if (!less(f, pf)) break;
    h[i] = pf;
    pf.heapIndex = i;
    i = p;
  }
  h[i] = f;
  f.heapIndex = i;
}

function siftDown(h: Flow[], i: number): void {
  const f = h[i]!;
  const n = h.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    let c = l;
    if (l + 1 < n && less(h[l + 1]!, h[l]!)) c = l + 1;
    const cf = h[c]!;
    if (!less(cf, f)) break;
    h[i] = cf;
    cf.heapIndex = i;
    i = c;
  }
  h[i] = f;
  f.heapIndex = i;
}

function dueLess(a: FlowClass, b: FlowClass): boolean {
  return a.due < b.due || (a.due === b.due && a.id < b.id);
}

function duePush(h: FlowClass[], c: FlowClass): void {
  h.push(c);
  dueUp(h, h.length - 1);
}

function dueRemove(h: FlowClass[], i: number): void {
  const gone = h[i]!;
  gone.dueIndex = -1;
  const last = h.pop()!;
  if (i < h.length) {
    h[i] = last;
    last.dueIndex = i;
    dueUp(h, i);
    dueDown(h, last.dueIndex);
  }
}

function dueUp(h: FlowClass[], i: number): void {
  const c = h[i]!;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pc = h[p]!;
    if (!dueLess(c, pc)) break;
    h[i] = pc;
    pc.dueIndex = i;
    i = p;
  }
  h[i] = c;
  c.dueIndex = i;
}

function dueDown(h: FlowClass[], i: number): void {
  const c = h[i]!;
  const n = h.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    let m = l;
    if (l + 1 < n && dueLess(h[l + 1]!, h[l]!)) m = l + 1;
    const mc = h[m]!;
    if (!dueLess(mc, c)) break;
    h[i] = mc;
    mc.dueIndex = i;
    i = m;
  }
  h[i] = c;
  c.dueIndex = i;
}
