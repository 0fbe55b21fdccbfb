// A benchmark measures one figure and returns it; the harness prints `<name> <value> <unit>`.
export interface Benchmark {
  /** Dotted name, for example `scheduler.events_per_s`. Filtered by prefix on the command line. */
  name: string;
  unit: string;
  /** The target from the issue or ARCHITECTURE.md, for the reader; never asserted. */
  target?: string;
  /** Runs the measurement; may return several figures (name → value) sharing a setup. */
  run(): number | Record<string, number> | Promise<number | Record<string, number>>;
}

/** Wall time of fn in seconds (benchmarks only: the simulator itself never reads the clock). */
export function seconds(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
