// What a guest does: activities at a rate, scripted accesses at given times, a replayed trace.
import type { ContentMix } from "../memory/content.js";

export type AccessPattern =
  | { kind: "uniform" }
  /** Zipf with exponent `skew` over the first `over` fraction of the guest's pages (hot spot). */
  | { kind: "zipf"; skew: number; over: number }
  /** A cursor sweeping the guest's pages in order, wrapping around. */
  | { kind: "sequential" };

export interface Activity {
  op: "read" | "write";
  /** Pages per second for the whole VM (shared evenly by its vCPUs). */
  rate: number;
  pattern: AccessPattern;
}

export interface ScriptedAccess {
  /** Simulated time in ns. */
  at: number;
  op: "read" | "write";
  first: number;
  count: number;
  vcpu?: number;
}

export interface WorkloadSpec {
  activities: Activity[];
  /** What writes put in pages. */
  mix: ContentMix;
  scripted: ScriptedAccess[];
  /** Path of a trace file to replay (docs/trace-format.md). */
  trace?: string;
}

export function emptyWorkload(mix: ContentMix): WorkloadSpec {
  return { activities: [], mix, scripted: [] };
}
