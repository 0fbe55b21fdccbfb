// The one state machine of a migration, in the document's order: setup (steps 1-4), pre-copy
// (step 7, round after round), the switch-over while the VM is suspended (step 5; the pages
// left sent now, stop-and-copy; the non-memory state, steps 6, 8, 9), then the resume (steps
// 10, 11) ends it, or post-copy runs on the destination until the last page is paged in
// (steps 12, 13). A failure can end any state that is not an end already; a cancel (QEMU's
// migrate_cancel) any state before the VM runs on the destination.
import { kernelError } from "../../core/api.js";

export type State = "setup" | "precopy" | "switch-over" | "stop-and-copy" | "device-state" | "postcopy" | "completed" | "failed" | "cancelled";

/** Where each state may go. With `with demand-paging`, pre-copy ends at once (no round). */
const NEXT: Readonly<Record<State, readonly State[]>> = {
  setup: ["precopy", "failed", "cancelled"],
  precopy: ["switch-over", "failed", "cancelled"],
  "switch-over": ["stop-and-copy", "device-state", "failed", "cancelled"],
  "stop-and-copy": ["device-state", "failed", "cancelled"],
  "device-state": ["postcopy", "completed", "failed", "cancelled"],
  postcopy: ["completed", "failed"],
  completed: [],
  failed: [],
  cancelled: [],
};

/**
 * QEMU's `query-migrate` status of each state (the report's `status`). QEMU 7.2 stays `active`
 * through a pre-copy's downtime (`migration_completion()`: `migration_maybe_pause()` moves to
 * `device` only with `pause-before-switchover`), and is `postcopy-active` from the switch of a
 * post-copy on (`postcopy_start()`): `statusOf` tells the switch-over's states apart by that.
 */
export const STATUS = {
  setup: "setup",
  precopy: "active",
  "switch-over": "active",
  "stop-and-copy": "active",
  "device-state": "active",
  postcopy: "postcopy-active",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
} as const satisfies Record<State, string>;

export type Status = (typeof STATUS)[State];

/** The status in `state` of a migration that goes on to post-copy after its switch-over (or not). */
export function statusOf(state: State, postcopy: boolean): Status {
  const s = STATUS[state];
  return postcopy && s === "active" && state !== "precopy" ? "postcopy-active" : s;
}

/** Checks a transition: a migration that goes where its steps do not lead is a bug (VMSCN5014). */
export function transition(vm: string, from: State, to: State, now: number, where: string): State {
  if (!NEXT[from].includes(to)) {
    throw kernelError("VMSCN5014", `migration of "${vm}" cannot go from ${from} to ${to}`, { time: now, where });
  }
  return to;
}

/** Whether the migration can still be cancelled: not ended, and the VM not yet running on the destination. */
export function cancellable(s: State): boolean {
  return NEXT[s].includes("cancelled");
}

/** Whether the migration has ended. */
export function ended(s: State): boolean {
  return s === "completed" || s === "failed" || s === "cancelled";
}
