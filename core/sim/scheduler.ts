// The event queue: a 4-ary heap ordered by (time, priority, sequence), so simultaneous
// events always run in the same order. Cancelled events are dropped lazily when they surface.
import { kernelError } from "../errors.js";
import { formatTime } from "./time.js";

export type EventFn = () => void;

/** Priorities run low to high at the same instant; most events use 0. */
export const Priority = {
  First: -100,
  Normal: 0,
  /** Recomputations that should see every change made at this instant (fair-share rates). */
  Late: 100,
  Last: 1000,
} as const;

const PRIORITY_OFFSET = 1024;
const SEQ_SPAN = 2 ** 40;

/** A scheduled event; `cancel()` removes it (a no-op once it ran). */
export class EventHandle {
  /** @internal */ fn: EventFn | null;
  /** @internal */ readonly ord: number;
  constructor(
    readonly time: number,
    ord: number,
    fn: EventFn,
    private readonly owner: Scheduler,
  ) {
    this.ord = ord;
    this.fn = fn;
  }
  get pending(): boolean {
    return this.fn !== null;
  }
  cancel(): boolean {
    if (this.fn === null) return false;
    this.fn = null;
    this.owner.noteCancelled();
    return true;
  }
}

export interface RunResult {
  /** Why the loop ended: reached `until`, ran out of events, or `stop()` was called. */
  reason: "until" | "empty" | "stopped";
  now: number;
  events: number;
}

export class Scheduler {
  // The heap as parallel arrays: comparisons read typed arrays, not objects.
  private readonly heap: EventHandle[] = [];
  private ht = new Float64Array(1024);
  private ho = new Float64Array(1024);
  private seq = 0;
  private live = 0;
  private stopped = false;
  private readonly waiting = new Map<string, string>();
  /** Current simulated time in ns. */
  now = 0;
  /** Events executed so far. */
  executed = 0;
  /** Called every 65,536 events (a progress bar); never changes what the run does. */
  progress: (() => void) | null = null;

  /** Number of events scheduled and not cancelled. */
  get pending(): number {
    return this.live;
  }

  at(time: number, fn: EventFn, priority: number = Priority.Normal): EventHandle {
    if (!(time >= this.now) || !Number.isFinite(time)) {
      throw kernelError("VMSCN5003", `an event was scheduled at ${formatTime(time)}, before the current time ${formatTime(this.now)}`, { time: this.now });
    }
    const t = Math.round(time);
    const ord = (priority + PRIORITY_OFFSET) * SEQ_SPAN + this.seq++;
    const ev = new EventHandle(t < this.now ? this.now : t, ord, fn, this);
    this.push(ev);
    this.live++;
    return ev;
  }

  after(delay: number, fn: EventFn, priority: number = Priority.Normal): EventHandle {
    if (!(delay >= 0)) {
      throw kernelError("VMSCN5003", `an event was scheduled ${delay} ns in the past`, { time: this.now });
    }
    return this.at(this.now + delay, fn, priority);
  }

  /** A world that waits for something only another event can give. Used for deadlock detection. */
  wait(who: string, reason: string): void {
    this.waiting.set(who, reason);
  }

  wake(who: string): void {
    this.waiting.delete(who);
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Runs events up to and including time `until`. When the queue empties while worlds still
   * wait, nothing can ever wake them: that is a deadlock, reported as VMSCN5001.
   */
  run(until: number = Infinity): RunResult {
    this.stopped = false;
    let events = 0;
    const heap = this.heap;
    while (heap.length > 0) {
      const top = heap[0]!;
      if (top.fn === null) {
        this.pop();
        continue;
      }
      if (top.time > until) break;
      this.pop();
      const fn = top.fn;
      top.fn = null;
      this.live--;
      this.now = top.time;
      events++;
      fn();
      if ((events & 0xffff) === 0 && this.progress !== null) this.progress();
      if (this.stopped) {
        this.executed += events;
        return { reason: "stopped", now: this.now, events };
      }
    }
    this.executed += events;
    if (this.live === 0 && this.waiting.size > 0) {
      const list = [...this.waiting].map(([w, r]) => `${w} (${r})`).join(", ");
      throw kernelError("VMSCN5001", `deadlock: nothing is scheduled while ${list} ${this.waiting.size === 1 ? "waits" : "wait"}`, { time: this.now });
    }
    if (this.live === 0 && until === Infinity) return { reason: "empty", now: this.now, events };
    if (until !== Infinity && until > this.now) this.now = until;
    return { reason: this.live === 0 ? "empty" : "until", now: this.now, events };
  }

  /** Time of the next live event, or Infinity. */
  peekTime(): number {
    while (this.heap.length > 0 && this.heap[0]!.fn === null) this.pop();
    return this.heap.length > 0 ? this.heap[0]!.time : Infinity;
  }

  /** @internal */
  noteCancelled(): void {
    this.live--;
    // Many cancelled entries slow every push and pop: rebuild when they dominate.
    if (this.heap.length > 1024 && this.live < this.heap.length >> 2) this.compact();
  }

  /** Rebuilds the heap in place (the run loop holds a reference to the array). */
  private compact(): void {
    const kept = this.heap.filter((e) => e.fn !== null);
    this.heap.length = 0;
    for (const e of kept) this.push(e);
  }

  private push(ev: EventHandle): void {
    const heap = this.heap;
    let i = heap.length;
    if (i === this.ht.length) {
      const t = new Float64Array(i * 2);
      t.set(this.ht);
      this.ht = t;
      const o = new Float64Array(i * 2);
      o.set(this.ho);
      this.ho = o;
    }
    const ht = this.ht;
    const ho = this.ho;
    const time = ev.time;
    const ord = ev.ord;
    heap.push(ev);
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pt = ht[p]!;
      if (pt < time || (pt === time && ho[p]! < ord)) break;
      heap[i] = heap[p]!;
      ht[i] = pt;
      ho[i] = ho[p]!;
      i = p;
    }
    heap[i] = ev;
    ht[i] = time;
    ho[i] = ord;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    const n = heap.length;
    if (n === 0) return;
    const ht = this.ht;
    const ho = this.ho;
    const lt = ht[n]!;
    const lo = ho[n]!;
    // A 4-ary heap: half the depth of a binary one, and the four children sit together.
    let i = 0;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      let c = first;
      let ct = ht[first]!;
      let co = ho[first]!;
      const end = first + 4 < n ? first + 4 : n;
      for (let k = first + 1; k < end; k++) {
        const kt = ht[k]!;
        if (kt < ct || (kt === ct && ho[k]! < co)) {
          c = k;
          ct = kt;
          co = ho[k]!;
        }
      }
      if (lt < ct || (lt === ct && lo < co)) break;
      heap[i] = heap[c]!;
      ht[i] = ct;
      ho[i] = co;
      i = c;
    }
    heap[i] = last;
    ht[i] = lt;
    ho[i] = lo;
  }
}
