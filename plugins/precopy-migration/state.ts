// The one state machine of a migration, in the document's order: setup (steps 1-4), pre-copy
// (step 7, round after round), the switch-over while the VM is suspended (step 5; the pages
// left sent now, stop-and-copy; the non-memory state, steps 6, 8, 9), then the resume (steps
// 10, 11) ends it, or post-copy runs on the destination until the last page is paged in
// (steps 12, 13). A failure can end any state that is not an end already.
import { kernelError } from "../../core/api.js";

export type State = "setup" | "precopy" | "switch-over" | "stop-and-copy" | "device-state" | "postcopy" | "completed" | "failed";

/** Where each state may go. With `with demand-paging`, pre-copy ends at once (no round). */
const NEXT: Readonly<Record<State, readonly State[]>> = {
  setup: ["precopy", "failed"],
  precopy: ["switch-over", "failed"],
  "switch-over": ["stop-and-copy", "device-state", "failed"],
  "stop-and-copy": ["device-state", "failed"],
  "device-state": ["postcopy", "completed", "failed"],
  postcopy: ["completed", "failed"],
  completed: [],
  failed: [],
};

/** QEMU's `query-migrate` status of each state (the report's `status`). */
export const STATUS = {
  setup: "setup",
  precopy: "active",
  "switch-over": "device",
  "stop-and-copy": "device",
  "device-state": "device",
  postcopy: "postcopy-active",
  completed: "completed",
  failed: "failed",
} as const satisfies Record<State, string>;

export type Status = (typeof STATUS)[State];

/** Checks a transition: a migration that goes where its steps do not lead is a bug (VMSCN5014). */
export function transition(vm: string, from: State, to: State, now: number, where: string): State {
  if (!NEXT[from].includes(to)) {
    throw kernelError("VMSCN5014", `migration of "${vm}" cannot go from ${from} to ${to}`, { time: now, where });
  }
  return to;
}

/** Whether the migration has ended. */
export function ended(s: State): boolean {
  return s === "completed" || s === "failed";
}
