// The vCPU throttle as QEMU 7.2 applies it (softmmu/cpu-throttle.c): a timer ticks every
// CPU_THROTTLE_TIMESLICE_NS / (1 − p), and at each tick every vCPU sleeps p/(1 − p) × 10 ms
// (cpu_throttle_thread), so each period is a sleep, then a 10 ms run. The first tick comes at
// once when the throttle is set from none (cpu_throttle_set → cpu_throttle_timer_tick); a
// change while it is active takes effect at the next tick, the period in progress keeping the
// old figures. Unlike QEMU, whose sleep in progress runs out, removing it ends the sleep now.

/** QEMU's CPU_THROTTLE_TIMESLICE_NS: the run slice of each throttle period. */
export const THROTTLE_SLICE_NS = 10_000_000;

interface Phase {
  /** When a period begins (with its sleep). */
  start: number;
  /** Period length in ns; Infinity for a throttle of 1 (the vCPUs never run). */
  period: number;
  sleep: number;
}

function phase(start: number, fraction: number): Phase {
  if (fraction >= 1) return { start, period: Infinity, sleep: Infinity };
  // QEMU adds 1 ns to its sleep against double rounding; rounding to the ns does the same job.
  const period = Math.round(THROTTLE_SLICE_NS / (1 - fraction));
  return { start, period, sleep: period - THROTTLE_SLICE_NS };
}

/** One world's sleeps; queried at or after the time of the last `set`. */
export class ThrottleSchedule {
  /** The periods from `cur.start` on; null while unthrottled. */
  private cur: Phase | null = null;
  /** The periods before `cur.start`: a change waits for the period in progress to end. */
  private prev: Phase | null = null;

  set(now: number, fraction: number): void {
    const cur = this.cur;
    if (fraction === 0) {
      this.cur = this.prev = null;
      return;
    }
    if (cur === null || cur.period === Infinity) {
      // Set from none (the timer ticks at once), or from 1 (whose tick would never come).
      this.cur = phase(now, fraction);
      this.prev = null;
      return;
    }
    if (now < cur.start) {
      // A change already waits for the period in progress: the latest one counts at the tick.
      this.cur = phase(cur.start, fraction);
      return;
    }
    const into = (now - cur.start) % cur.period;
    if (into === 0) {
      this.cur = phase(now, fraction);
      this.prev = null;
      return;
    }
    this.prev = cur;
    this.cur = phase(now - into + cur.period, fraction);
  }

  /** The time the world's vCPUs next run at or after `t`: `t` itself unless `t` falls in a sleep. */
  wake(t: number): number {
    const cur = this.cur;
    if (cur === null) return t;
    const p = this.prev !== null && t < cur.start ? this.prev : cur;
    if (p.period === Infinity) return Infinity;
    const into = (t - p.start) % p.period;
    return into < p.sleep ? t - into + p.sleep : t;
  }
}
