// What a guest does: activities at a rate, scripted accesses at given times, a replayed trace.
import { DEFAULT_MIX, type ContentMix } from "../memory/content.js";

export type AccessPattern =
  | { kind: "uniform" }
  /** Zipf with exponent `skew` over the first `over` fraction of the guest's pages (hot spot). */
  | { kind: "zipf"; skew: number; over: number }
  /** A cursor sweeping the first `over` fraction of the guest's pages (default 1: all) in order, wrapping around. */
  | { kind: "sequential"; over?: number };

/**
 * What becomes of the accesses of time a vCPU could not run (stalled on a fault, suspended,
 * starved of CPU, throttled): `paced` drops them (N pages per second of the time it runs),
 * `catch-up` issues them once it runs again (N pages per wall second, working off a backlog).
 */
export type Pace = "paced" | "catch-up";

export interface Activity {
  op: "read" | "write";
  /** Pages per second for the whole VM (shared evenly by its vCPUs). */
  rate: number;
  pattern: AccessPattern;
  /** Default `paced`. */
  pace?: Pace;
}

export interface ScriptedAccess {
  /** Simulated time in ns. */
  at: number;
  op: "read" | "write";
  first: number;
  count: number;
  vcpu?: number;
}

/**
 * Guest disk IO on one of the VM's disks: `rate` bytes/s for the whole VM, in IOs of
 * `ioBytes` at offsets chosen by `pattern`, at most `queueDepth` IOs in flight.
 */
export interface DiskActivity {
  op: "read" | "write";
  /** Bytes per second. */
  rate: number;
  pattern: "uniform" | "sequential";
  /** Index of the VM's disk (its order of declaration); default 0. */
  disk?: number;
  /** Bytes per IO; default 64 KiB. */
  ioBytes?: number;
  /** IOs in flight at most; the guest waits (and its demand is lost) beyond. Default 32. */
  queueDepth?: number;
}

/** A hypercall the guest issues from a vCPU at a given time (`at 5 s: web hypercall fork`). */
export interface ScriptedHypercall {
  at: number;
  name: string;
  options: Record<string, number | string | boolean | string[]>;
  vcpu?: number;
}

export interface WorkloadSpec {
  activities: Activity[];
  /** Guest disk IO; none when absent. */
  disk?: DiskActivity[];
  /** Scripted hypercalls; none when absent. */
  hypercalls?: ScriptedHypercall[];
  /** What writes put in pages. */
  mix: ContentMix;
  /**
   * Bytes of its page one guest write changes (1..4096; absent: the whole page). Contents are
   * identities, so this is what a delta encoder (XBZRLE) is told a write changed.
   */
  writeBytes?: number;
  /** Where in its page each write's bytes start (0..4096 − writeBytes; absent: a place of its own for each write). */
  writeOffset?: number;
  scripted: ScriptedAccess[];
  /** Path of a trace file to replay (docs/trace-format.md). */
  trace?: string;
}

/** A workload with no activity of its own (only scripted accesses or hypercalls to run). */
export function emptyWorkload(mix: ContentMix = DEFAULT_MIX): WorkloadSpec {
  return { activities: [], mix, scripted: [] };
}
