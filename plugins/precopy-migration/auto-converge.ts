// QEMU's auto-converge decision (migration/ram.c, 7.2): at a sync that closes a period of more
// than 1 s (migration_bitmap_sync), migration_trigger_throttle() compares the bytes newly dirtied
// in the period (pages newly set in the migration bitmap × 4096) with throttle-trigger-threshold
// (50 %) of the RAM bytes sent in it; every second time that they exceed it — the count is not
// reset when they do not (dirty_rate_high_cnt) — mig_throttle_guest_down() raises the throttle:
// to cpu-throttle-initial first, then by cpu-throttle-increment (less with tailslow), at most
// max-cpu-throttle. Percents are integers, as QEMU's, clamped to 1..99 (cpu_throttle_set).

export interface AutoConvergeParams {
  /** cpu-throttle-initial, -increment, max-cpu-throttle, throttle-trigger-threshold: integer percents. */
  initial: number;
  increment: number;
  max: number;
  triggerThreshold: number;
  /** cpu-throttle-tailslow: the last steps only as large as needed. */
  tailslow: boolean;
}

export class AutoConverge {
  /** dirty_rate_high_cnt. */
  private high = 0;

  constructor(private readonly p: AutoConvergeParams) {}

  /** A period closed: the new throttle (percent) when it moves, else null. */
  evaluate(current: number, bytesSent: number, bytesDirtied: number): number | null {
    const threshold = (bytesSent * this.p.triggerThreshold) / 100;
    if (!(bytesDirtied > threshold)) return null;
    if (++this.high < 2) return null;
    this.high = 0;
    return this.down(current, bytesDirtied, threshold);
  }

  /** mig_throttle_guest_down(). */
  private down(current: number, dirtied: number, threshold: number): number {
    const p = this.p;
    if (current === 0) return clamp(p.initial);
    let inc = p.increment;
    if (p.tailslow) {
      const cpuNow = 100 - current;
      const cpuIdeal = Math.trunc(cpuNow * (threshold / dirtied));
      inc = Math.min(cpuNow - cpuIdeal, p.increment);
    }
    return clamp(Math.min(current + inc, p.max));
  }
}

/** cpu_throttle_set(): 1..99. */
function clamp(pct: number): number {
  return Math.max(1, Math.min(99, pct));
}
