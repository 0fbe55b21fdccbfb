// When iterative pre-copy stops and the VM is switched over. Three rules users know:
// - threshold: the document's rule — pages left under a threshold, or no forward progress
//   (the pages dirtied during a round are not fewer than the round sent), or a round limit;
// - qemu: QEMU 7.2's own loop, with no rounds (qemu-precopy.ts);
// - xen: at most 29 iterations, fewer than 50 pages dirtied in a round, or more than 3×
//   the guest's memory sent in all.

export type ConvergeRule = "threshold" | "qemu" | "xen";

export interface RoundEnd {
  /** 1-based round that just ended. */
  round: number;
  /** Pages this round sent. */
  sent: number;
  /** Distinct pages dirtied while it ran (what the next round would send). */
  dirty: number;
  /** Pages sent in all rounds so far. */
  totalSent: number;
  /** Guest pages. */
  pages: number;
  /** Bytes/s this round achieved (0 if unknown). */
  bandwidth: number;
  /** Auto-converge can still raise the throttle: no lack of progress ends pre-copy then. */
  throttling?: boolean;
  /** An extension holds deferred pages that may join the next round. */
  deferred?: boolean;
}

export interface ConvergeParams {
  rule: ConvergeRule;
  threshold: number;
  maxRounds: number;
  downtimeLimitNs: number;
  /** Bytes one dirty page costs on the wire (for qemu's estimate). */
  pageBytes: number;
}

export const XEN_MAX_ITERATIONS = 29;
export const XEN_MIN_DIRTY = 50;
export const XEN_MAX_FACTOR = 3;

/** Time in ns to send `pages` at `bandwidth` bytes/s (Infinity when nothing was measured). */
export function expectedDowntimeNs(pages: number, pageBytes: number, bandwidth: number): number {
  if (pages === 0) return 0;
  return bandwidth > 0 ? Math.round(((pages * pageBytes) / bandwidth) * 1e9) : Infinity;
}

/** The reason to switch over after a round, or null to run another round. */
export function afterRound(p: ConvergeParams, r: RoundEnd): string | null {
  switch (p.rule) {
    case "threshold":
      // Nothing dirty is under any threshold, 0 included (not a lack of progress).
      if (r.dirty < p.threshold || (r.dirty === 0 && !r.deferred)) return "threshold";
      if (r.dirty >= r.sent && !r.throttling) return "no-progress";
      break;
    case "xen":
      if (r.dirty < XEN_MIN_DIRTY) return "few-dirty";
      if (r.totalSent > XEN_MAX_FACTOR * r.pages) return "sent-3x";
      if (r.round >= XEN_MAX_ITERATIONS) return "max-iterations";
      break;
  }
  return r.round >= p.maxRounds ? "max-rounds" : null;
}

/** Auto-converge's next throttle: the first raise goes to `initial`, each later one adds `increment`, capped at `max` (rounded to 1e-9, so 0.2 + 0.1 is 0.3). */
export function nextThrottle(current: number, initial: number, increment: number, max: number): number {
  const t = current === 0 ? initial : current + increment;
  return Math.min(max, Math.round(t * 1e9) / 1e9);
}
