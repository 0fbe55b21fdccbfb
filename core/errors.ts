// Coded errors of the kernel. A user's mistake or an impossible request is a VmscnError with
// a stable code and a sentence that says what went wrong and where; anything else is a bug.
import { formatTime } from "./sim/time.js";

export interface ErrorWhere {
  /** Simulated time in ns when the error happened, if inside a run. */
  time?: number;
  /** A world, host or plugin the error is about (for example "web@a"). */
  where?: string;
  cause?: unknown;
}

export class VmscnError extends Error {
  readonly code: string;
  readonly time: number | undefined;
  readonly where: string | undefined;

  constructor(code: string, message: string, info: ErrorWhere = {}) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = "VmscnError";
    this.code = code;
    this.time = info.time;
    this.where = info.where;
  }

  /** One line for a terminal: `VMSCN5002 at 12.000000 s: host "a" is out of memory ...` */
  describe(): string {
    const at = this.time === undefined ? "" : ` at ${formatTime(this.time)}`;
    return `${this.code}${at}: ${this.message}`;
  }
}

/**
 * Every run-time code, with a one-line meaning. docs/diagnostics.md lists the same table;
 * a test keeps the two in step. 5xxx: kernel; 6xxx: plugin host.
 */
export const KERNEL_CODES = {
  VMSCN5001: "deadlock: worlds are waiting and nothing is scheduled that could wake them",
  VMSCN5002: "a host ran out of machine memory",
  VMSCN5003: "an event was scheduled in the past or at a time that is not a finite number",
  VMSCN5004: "invalid world lifecycle transition",
  VMSCN5005: "unknown name (host, world, link, datastore, file)",
  VMSCN5006: "duplicate name",
  VMSCN5007: "a guest access faulted and no plugin handles that fault kind",
  VMSCN5008: "a fault handler returned without resolving the fault",
  VMSCN5009: "no route between two hosts, or the route is down",
  VMSCN5010: "a transfer failed because a link went down or a host crashed",
  VMSCN5011: "invalid argument to a kernel call (out-of-range page, negative size, ...)",
  VMSCN5012: "a storage request is out of the file's bounds or the datastore is not reachable",
  VMSCN5013: "a workload trace file is malformed",
  VMSCN5014: "an invariant of the simulated world does not hold (a bug: please report it)",
  VMSCN5015: "a guest issued a hypercall that no plugin handles",
  VMSCN5016: "no space left on a datastore (the fill fault)",
  VMSCN6001: "a plugin requires another plugin that is not loaded",
  VMSCN6002: "a plugin was written for another kernel version",
  VMSCN6003: "two plugins have the same name",
  VMSCN6004: "plugins require each other in a cycle",
  VMSCN6005: "a plugin object is malformed",
  VMSCN6006: "a plugin hook threw",
  VMSCN6007: "a plugin could not be loaded",
  VMSCN6008: "a plugin registered something twice (a verb, a metric group)",
} as const;

export type KernelCode = keyof typeof KERNEL_CODES;

export function kernelError(code: KernelCode, message: string, info?: ErrorWhere): VmscnError {
  return new VmscnError(code, message, info);
}

/** Where a plugin's hook ran: the simulated time and, if any, the world it ran for. */
export interface HookWhere {
  /** Simulated time in ns. */
  readonly time: number;
  /** The world the hook ran for, if any. */
  readonly world?: string | undefined;
}

/**
 * Plugin code that threw: VMSCN6006 naming the plugin, the hook, the world and the simulated
 * time (Rollup's logPluginError), so a report points at the plugin, not at the kernel line
 * that called it.
 */
export class PluginHookError extends VmscnError {
  readonly plugin: string;
  /** The hook as shown to users: "register", "onFault(write-protect)", "metric(migration)". */
  readonly hook: string;
  readonly world: string | undefined;
  declare readonly time: number;

  constructor(plugin: string, hook: string, at: HookWhere, cause: unknown) {
    const world = at.world === undefined ? "" : `world ${at.world}, `;
    super("VMSCN6006", `plugin "${plugin}" failed in hook "${hook}" (${world}at ${formatTime(at.time)}): ${messageOf(cause)}`, {
      time: at.time,
      where: at.world ?? plugin,
      cause,
    });
    this.name = "PluginHookError";
    this.plugin = plugin;
    this.hook = hook;
    this.world = at.world;
  }
}

/** The thrown value as text; a coded error keeps its code so the user can look it up. */
function messageOf(thrown: unknown): string {
  if (thrown instanceof VmscnError) return `${thrown.code}: ${thrown.message}`;
  if (thrown instanceof Error) return thrown.message;
  return String(thrown);
}

/**
 * What a throw out of plugin code means — the one rule, decided here only:
 * - "refusal": a coded error, an impossible request; it fails the action (or hypercall) it
 *   came from, with its sentence, and the run goes on;
 * - "fatal": an error that already says what broke and must end the run as it is: a hook
 *   error of a nested hook (VMSCN6006) or a broken invariant (VMSCN5014);
 * - "bug": anything else (a TypeError, a thrown string): a plugin bug, VMSCN6006.
 */
export type Verdict = "refusal" | "fatal" | "bug";

export function classify(thrown: unknown): Verdict {
  if (!(thrown instanceof VmscnError)) return "bug";
  return thrown.code === "VMSCN6006" || thrown.code === "VMSCN5014" ? "fatal" : "refusal";
}
