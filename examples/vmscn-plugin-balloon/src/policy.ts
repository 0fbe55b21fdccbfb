// The host side of ballooning: every interval the host looks at its free memory. Under the low
// watermark it asks its VMs' balloons to inflate until free memory is back at the high
// watermark; above the high watermark it lets them deflate. Each VM gives in proportion to
// what its balloon can still take; each gets back in proportion to what its balloon holds.
import { SECOND, type Host, type PluginContext, type World } from "vmscn";
import type { VmBalloon } from "./balloon.js";
import type { BalloonOptions } from "./options.js";

/**
 * Splits `total` in proportion to `weights` (whole pages, largest remainders first, ties to
 * the earlier VM). `total` must not exceed the sum of the weights; no share exceeds its weight.
 */
export function split(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0 || total <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, frac: e - Math.floor(e) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    shares[i]!++;
    left--;
  }
  return shares;
}

export class HostPolicy {
  /** Scans so far: the clock that page coldness is measured in. */
  scans = 0;
  /** When the current spell of memory pressure began (free memory under the low watermark). */
  private pressureSince: number | undefined;
  private pressureReclaimed = 0;
  /** Spells of pressure and inflations, for the report. */
  pressureSpells = 0;

  constructor(
    private readonly k: PluginContext,
    readonly host: Host,
    readonly o: BalloonOptions,
    private readonly balloonOf: (w: World) => VmBalloon,
    /** When the policy began, for messages. */
    readonly since: number,
  ) {}

  /** The running VMs of the host, each with its balloon bound to its current page map. */
  private balloons(): VmBalloon[] {
    const out: VmBalloon[] = [];
    for (const w of this.host.worlds) {
      if (w.kind !== "vm" || w.state !== "running" || w.memory === undefined) continue;
      const b = this.balloonOf(w);
      b.bind();
      out.push(b);
    }
    return out;
  }

  tick(): void {
    if (!this.host.up) return;
    const k = this.k;
    const now = k.scheduler.now;
    this.scans++;
    const balloons = this.balloons();
    for (const b of balloons) b.age(this.scans);
    const machine = k.memory.machine(this.host.id);
    const low = Math.floor(this.o.low * machine.capacity);
    const high = Math.floor(this.o.high * machine.capacity);
    // Pages all balloons of the host may move this interval.
    const budget = Math.floor((this.o.rate * this.o.intervalNs) / SECOND);
    const free = machine.free;
    if (free < low) {
      if (this.pressureSince === undefined) {
        this.pressureSince = now;
        this.pressureReclaimed = 0;
        this.pressureSpells++;
      }
      const rooms = balloons.map((b) => b.room(Math.floor(this.o.max * b.guest!.pages), this.scans));
      const want = Math.min(high - free, budget, rooms.reduce((a, b) => a + b, 0));
      split(want, rooms).forEach((n, i) => {
        const b = balloons[i]!;
        const before = b.reclaimed;
        const taken = b.inflate(n, this.scans);
        this.pressureReclaimed += b.reclaimed - before;
        if (taken > 0) k.trace.instant("balloon inflated", "balloon", { host: this.host.name, world: b.world.name }, now, { pages: taken, size: b.size });
      });
      return;
    }
    if (free >= high) this.endPressure(now);
    if (free > high) {
      const sizes = balloons.map((b) => b.size);
      const give = Math.min(free - high, budget, sizes.reduce((a, b) => a + b, 0));
      split(give, sizes).forEach((n, i) => {
        const b = balloons[i]!;
        const given = b.deflate(n);
        if (given > 0) k.trace.instant("balloon deflated", "balloon", { host: this.host.name, world: b.world.name }, now, { pages: given, size: b.size });
      });
    }
  }

  /** Closes the pressure span in the trace (free memory back at the high watermark, or the run's end). */
  endPressure(now: number): void {
    if (this.pressureSince === undefined) return;
    this.k.trace.span("memory pressure", "balloon", { host: this.host.name }, this.pressureSince, now, { reclaimed: this.pressureReclaimed });
    this.pressureSince = undefined;
  }
}
