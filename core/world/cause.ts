// Why a world, host or link changed state: signals carry it (SimGrid's on_state_change fires
// after the change, and a handler can tell a crash from its own doing without a flag).

export interface Cause {
  /** Who made the change: "kernel" (a crash, a fault, the OOM killer, the scenario's verbs) or a plugin's name. */
  readonly by: string;
  /** Why, in a word or two: "crash", "stop", "oom", "kill", "switch-over", ... */
  readonly reason: string;
}

/** A change the kernel makes of its own accord (a crash, a fault, a scenario verb). */
export function kernelCause(reason: string): Cause {
  return { by: "kernel", reason };
}
