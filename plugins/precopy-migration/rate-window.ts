// QEMU's bandwidth estimate (migration_update_counters, migration/migration.c): every loop turn
// at least BUFFER_DELAY (100 ms) after the window began, the bytes the migration put on its
// channel in the window (pages, headers, device state, disk blocks) over its length give the
// bandwidth — the last window's alone, no smoothing — and from it the threshold under which
// the dirty bytes left fit in the downtime limit, and expected-downtime. The first window
// begins when the migration thread starts, before setup (update_iteration_initial_status).

/** QEMU's BUFFER_DELAY: the window of the rate limit and of the bandwidth estimate. */
export const BUFFER_DELAY_NS = 100_000_000;

export class RateWindow {
  private start: number;
  private bytes0: number;
  private pages0: number;
  /** Bytes per ms of the last window (QEMU's unit); 0 before the first. */
  bandwidth = 0;
  /** s->threshold_size: bytes that fit in the downtime limit at that bandwidth; 0 before the first window. */
  threshold = 0;
  /** The last window's rate in 10^6 bit/s, and pages per second. */
  mbps = 0;
  pagesPerSecond = 0;
  /** QEMU's expected-downtime in ms: the downtime limit until a sync period measured a dirty rate. */
  expectedDowntimeMs: number;

  constructor(
    now: number,
    bytes: number,
    pages: number,
    private readonly downtimeLimitMs: number,
  ) {
    this.start = now;
    this.bytes0 = bytes;
    this.pages0 = pages;
    this.expectedDowntimeMs = downtimeLimitMs;
  }

  /** When the window reaches BUFFER_DELAY (the rate limit's sleep ends then). */
  get end(): number {
    return this.start + BUFFER_DELAY_NS;
  }

  /** Bytes put on the channel in this window (rate_limit_used), given those put so far. */
  used(bytes: number): number {
    return bytes - this.bytes0;
  }

  /**
   * A loop turn at `now` with `bytes` on the channel and `pages` sent so far: a new estimate
   * once the window is 100 ms old (true), else nothing. `remaining` is ram_counters.remaining
   * (the dirty bytes at the last sync), `dirtyRate` the dirty-pages-rate of the last period.
   */
  update(now: number, bytes: number, pages: number, remaining: number, dirtyRate: number): boolean {
    if (now < this.start + BUFFER_DELAY_NS) return false;
    const transferred = bytes - this.bytes0;
    const ms = (now - this.start) / 1e6;
    this.bandwidth = transferred / ms;
    this.threshold = this.bandwidth * this.downtimeLimitMs;
    this.mbps = (transferred * 8) / (ms / 1000) / 1e6;
    this.pagesPerSecond = (pages - this.pages0) / (ms / 1000);
    if (dirtyRate !== 0 && transferred > 10000) this.expectedDowntimeMs = remaining / this.bandwidth;
    this.start = now;
    this.bytes0 = bytes;
    this.pages0 = pages;
    return true;
  }
}
