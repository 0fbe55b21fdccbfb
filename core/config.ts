// Settings of one run. Defaults are chosen to match common real systems; a scenario overrides them.
import { MINUTE, MS, US } from "./sim/time.js";

export const PAGE_SIZE = 4096;

export interface RunConfig {
  /** Scenario seed: every random stream derives from it. */
  seed: number;
  /** Workload batching tick in ns (default 1 ms). */
  tickNs: number;
  /** Host CPU time to move one 4 KiB page over TCP, on each end (RDMA costs none). */
  tcpCpuNsPerPage: number;
  /** Folder for real files (checkpoints, backed datastore files); undefined: keep them in memory. */
  outDir: string | undefined;
  /** Interval of the time series (memory per host, bandwidth per link) in ns; 0 disables. */
  sampleIntervalNs: number;
  /** Check invariants after every action and at the end of the run. */
  checkInvariants: boolean;
  /** `run until done` stops this long after the last action's start if actions are still running. */
  doneHorizonNs: number;
}

export function defaultRunConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return {
    seed: 1,
    tickNs: 1 * MS,
    tcpCpuNsPerPage: 1 * US,
    outDir: undefined,
    sampleIntervalNs: 100 * MS,
    checkInvariants: false,
    doneHorizonNs: 10 * MINUTE,
    ...overrides,
  };
}
