// The one funnel for plugin code (Rollup's PluginDriver.runHookSync): every piece of plugin
// code the kernel calls — register, verbs and their checks, hypercalls, fault handlers, signal
// handlers, events, report providers, and the callbacks a plugin hands to network and storage
// — runs through `run` or `wrap`, and `classify` (core/errors.ts) alone decides what a throw
// means. The funnel also knows whose code runs now, so that a callback a plugin hands the
// kernel (`onDone` of a transfer) is later run as that plugin's hook.
import { injectable, inject } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { classify, PluginHookError } from "../errors.js";
import type { Scheduler } from "../sim/scheduler.js";

/** The kernel's own code: not a plugin, so its throws are the kernel's (exit 3), not VMSCN6006. */
export const KERNEL = "kernel";

/** How a hook's throws are treated. */
export interface HookKind {
  /** A refusal (a coded error) passes through to fail the action or hypercall that ran the hook. */
  readonly refusals?: boolean;
}

@injectable()
export class Hooks {
  /** The plugin whose code runs now; null while only the kernel's code runs. */
  private owner: string | null = null;

  constructor(@inject(TOKENS.Scheduler) private readonly scheduler: Scheduler) {}

  /** The plugin whose code is running now (null: the kernel's). */
  get current(): string | null {
    return this.owner;
  }

  /**
   * Runs `fn` as `plugin`'s hook `hook`. A throw becomes VMSCN6006 naming the plugin, the hook,
   * `world` and the simulated time, except a fatal error (passed on as it is) and, for a hook
   * that may refuse, a refusal (passed on to fail its action).
   */
  run<R>(plugin: string, hook: string, world: string | undefined, fn: () => R, kind: HookKind = {}): R {
    if (plugin === KERNEL) return fn();
    const prev = this.owner;
    this.owner = plugin;
    try {
      return fn();
    } catch (thrown) {
      throw this.failure(plugin, hook, world, thrown, kind);
    } finally {
      this.owner = prev;
    }
  }

  /**
   * `fn` as a function that runs through the funnel each time it is called; `world` names the
   * world from the call's arguments, and is only called when the hook fails.
   */
  wrap<A extends unknown[], R>(plugin: string, hook: string, fn: (...args: A) => R, world?: (...args: A) => string | undefined, kind: HookKind = {}): (...args: A) => R {
    if (plugin === KERNEL) return fn;
    const self = this;
    // `arguments` handed straight to apply is not materialised by V8: a fault handler runs on
    // the guest access path, so the wrapper allocates nothing on success.
    return function (this: unknown): R {
      const prev = self.owner;
      self.owner = plugin;
      try {
        // eslint-disable-next-line prefer-rest-params
        return fn.apply(this, arguments as unknown as A);
      } catch (thrown) {
        // eslint-disable-next-line prefer-rest-params
        throw self.failure(plugin, hook, world?.(...(Array.from(arguments) as A)), thrown, kind);
      } finally {
        self.owner = prev;
      }
    } as (...args: A) => R;
  }

  /**
   * A callback handed to the kernel by whatever code runs now: when a plugin's, it will run as
   * that plugin's hook `hook`; when the kernel's, as it is.
   */
  adopt<A extends unknown[], R>(fn: (...args: A) => R, hook: string): (...args: A) => R;
  adopt<A extends unknown[], R>(fn: ((...args: A) => R) | undefined, hook: string): ((...args: A) => R) | undefined;
  adopt<A extends unknown[], R>(fn: ((...args: A) => R) | undefined, hook: string): ((...args: A) => R) | undefined {
    const owner = this.owner;
    return fn === undefined || owner === null ? fn : this.wrap(owner, hook, fn);
  }

  /** Runs an async hook (a plugin's register); a rejection is classified as a throw is. */
  async runAsync(plugin: string, hook: string, fn: () => unknown): Promise<void> {
    try {
      await this.run(plugin, hook, undefined, fn);
    } catch (thrown) {
      throw this.failure(plugin, hook, undefined, thrown, {});
    }
  }

  private failure(plugin: string, hook: string, world: string | undefined, thrown: unknown, kind: HookKind): unknown {
    const verdict = classify(thrown);
    if (verdict === "fatal" || (verdict === "refusal" && kind.refusals === true)) return thrown;
    return new PluginHookError(plugin, hook, { time: this.scheduler.now, world }, thrown);
  }
}
