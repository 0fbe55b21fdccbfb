// A plugin's hook that throws is rethrown as VMSCN6006 naming the plugin, the hook, the world
// and the simulated time (Rollup's logPluginError), so a report points at the plugin, not at
// the kernel line that called it.
import { VmscnError } from "../errors.js";
import { formatTime } from "../sim/time.js";

export interface HookWhere {
  /** Simulated time in ns. */
  readonly time: number;
  /** The world the hook ran for, if any. */
  readonly world?: string;
}

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

/** The thrown value as text; a kernel error keeps its code so the user can look it up. */
function messageOf(thrown: unknown): string {
  if (thrown instanceof VmscnError) return `${thrown.code}: ${thrown.message}`;
  if (thrown instanceof Error) return thrown.message;
  return String(thrown);
}

/**
 * The error to throw for `thrown` escaping a plugin's hook: `thrown` itself when it already is
 * a hook error (a hook that called into another plugin's hook), else a PluginHookError.
 */
export function hookError(plugin: string, hook: string, thrown: unknown, at: HookWhere): VmscnError {
  if (thrown instanceof VmscnError && thrown.code === "VMSCN6006") return thrown;
  return new PluginHookError(plugin, hook, at, thrown);
}

/**
 * Wraps a plugin's hook so that whatever it throws (or, for a promise, rejects with) becomes a
 * VMSCN6006 error. `where` is only called on failure, so the wrapper allocates nothing on the
 * hot path; arguments, `this` and the return value pass through unchanged.
 */
export function wrapHook<F extends (...args: never[]) => unknown>(
  plugin: string,
  hook: string,
  fn: F,
  where: () => HookWhere,
): F {
  const wrapped = function (this: unknown): unknown {
    let result: unknown;
    try {
      // `arguments` passed straight to apply is not materialised by V8.
      // eslint-disable-next-line prefer-rest-params
      result = fn.apply(this, arguments as unknown as never[]);
    } catch (thrown) {
      throw hookError(plugin, hook, thrown, where());
    }
    if (result instanceof Promise) {
      return result.catch((thrown: unknown) => {
        throw hookError(plugin, hook, thrown, where());
      });
    }
    return result;
  };
  return wrapped as unknown as F;
}
