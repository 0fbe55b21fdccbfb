// A pool of worker processes for suites and sweeps: one scenario per task, results in input
// order whatever order they finish in, and a worker that dies or overruns its time fails only
// the task it was running.
//
// Workers are child processes, not threads: a task stuck in a system call (a scenario that
// reads a FIFO) cannot be stopped inside a thread, and a thread that never returns keeps the
// whole process from exiting; a process is killed.
//
// The worker is any module that calls `serveWorker(handler)` when `poolWorkerTask()` says it
// was started by the pool. In the shipped bundle that is the bundle itself: the CLI passes
// `new URL(import.meta.url)` and a task name, and main.ts serves instead of parsing argv:
//
//   const task = poolWorkerTask();
//   if (task === "test") serveWorker(runOneFile); else main(process.argv.slice(2));
import { fork, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

/** Names the task of a worker the pool started (the variable is set for its process only). */
const TASK_VAR = "VMSCN_POOL_TASK";

/** Codes of the pool's own failures; docs/diagnostics.md lists them. */
export const POOL_CODES = {
  VMSCN8101: "a task of `vmscn test` (one file) ran longer than the time limit and was stopped",
} as const;

/** A task may run this long by default (5 min): far beyond any file of a suite, short of for ever. */
export const DEFAULT_TASK_TIMEOUT_MS = 300_000;
/** A worker that has not begun its task (still loading) has at least this long: a cold start on a busy machine is slow. */
const LOAD_ALLOWANCE_MS = 60_000;

type ToWorker = { type: "run"; index: number; item: unknown } | { type: "close" };
type FromWorker =
  | { type: "started"; index: number }
  | { type: "result"; index: number; ok: true; value: unknown }
  | { type: "result"; index: number; ok: false; error: PoolError }
  | { type: "crash"; error: PoolError };

export interface PoolError {
  readonly name: string;
  readonly message: string;
  /** The error's `code` property when it had one (a VmscnError's VMSCN code, VMSCN8101 for a timeout). */
  readonly code?: string;
  readonly stack?: string;
  /** True when the worker died (uncaught error, exit, out of memory, stopped at its time limit) rather than the task throwing. */
  readonly crashed: boolean;
  /** The task ran past `taskTimeoutMs` and its worker was killed. */
  readonly timedOut?: true;
}

export type PoolResult<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: PoolError };

export interface PoolOptions<R> {
  /** Tells the worker module what to do: passed to it as `poolWorkerTask()`. Default "default". */
  readonly task?: string;
  /** Workers at once; default the machine's available parallelism, never more than the items. */
  readonly concurrency?: number;
  /**
   * Called with each result in input order, as soon as it and all before it are in, so a
   * caller can stream output (TAP) that does not depend on which worker finished first.
   */
  readonly onResult?: (result: PoolResult<R>, index: number) => void;
  /** Node flags for the workers; default the parent's (so a `--import` loader carries over). */
  readonly execArgv?: readonly string[];
  /**
   * How long one task may run (wall clock) before its worker is killed and the task fails with
   * VMSCN8101; the other tasks go on, on a new worker. Default DEFAULT_TASK_TIMEOUT_MS; 0 or
   * Infinity: no limit.
   */
  readonly taskTimeoutMs?: number;
  /** How long a worker may take to exit once told to close before it is killed; default 2 s. */
  readonly closeTimeoutMs?: number;
}

/** The task name when this process is a worker started by `runPool`, else undefined. */
export function poolWorkerTask(): string | undefined {
  const task = process.env[TASK_VAR];
  return typeof process.send === "function" && task !== undefined && task !== "" ? task : undefined;
}

function toPoolError(thrown: unknown, crashed: boolean): PoolError {
  if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code;
    return { name: thrown.name, message: thrown.message, ...(typeof code === "string" ? { code } : {}), ...(thrown.stack ? { stack: thrown.stack } : {}), crashed };
  }
  return { name: "Error", message: String(thrown), crashed };
}

/** `1.5 s`, `300 s`: the limit as the message quotes it. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** The failure of a task stopped at its time limit. */
export function timeoutError(ms: number): PoolError {
  return {
    name: "Error",
    message: `VMSCN8101: still running after ${seconds(ms)}, the time limit of one task; its worker was stopped and the others go on`,
    code: "VMSCN8101",
    crashed: true,
    timedOut: true,
  };
}

/**
 * Worker side: runs `handler` on each item the pool sends, one at a time, and replies with its
 * value or the error it threw. A value must survive structured cloning (plain data, no functions).
 */
export function serveWorker<T, R>(handler: (item: T) => R | Promise<R>): void {
  if (poolWorkerTask() === undefined) throw new Error("serveWorker: not in a pool worker");
  const send = (msg: FromWorker, then?: () => void): void => {
    if (process.connected) process.send!(msg, undefined, {}, () => then?.());
    else then?.();
  };
  // An error outside the task's promise kills the worker; the pool is told why first.
  process.on("uncaughtException", (err) => send({ type: "crash", error: toPoolError(err, true) }, () => process.exit(1)));
  process.on("message", (msg: ToWorker) => {
    if (msg.type === "close") {
      // Without the channel, the process ends once its event loop is empty.
      process.disconnect();
      return;
    }
    // The task's clock starts now, not while this process was still loading.
    send({ type: "started", index: msg.index });
    void (async () => {
      let reply: FromWorker;
      try {
        reply = { type: "result", index: msg.index, ok: true, value: await handler(msg.item as T) };
      } catch (thrown) {
        reply = { type: "result", index: msg.index, ok: false, error: toPoolError(thrown, false) };
      }
      try {
        process.send!(reply);
      } catch (thrown) {
        // The value could not be cloned: report that instead of losing the task.
        send({ type: "result", index: msg.index, ok: false, error: toPoolError(thrown, false) });
      }
    })();
  });
}

/** The last lines a dead worker wrote on stderr that name an error (a module that would not load). */
function stderrCause(tail: string): string | undefined {
  const lines = tail.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.find((l) => /^\w*Error\b/.test(l)) ?? lines[lines.length - 1];
}

/**
 * Runs `items` through workers started from `workerUrl` (a file: URL) and resolves with one
 * result per item, in input order. A task's failure, a worker's death or a task over its time
 * limit is a failed result for that item (the worker is replaced while items remain), never a
 * rejection. Rejects for bad arguments, or with the first error `onResult` threw, once every
 * worker has stopped.
 */
export function runPool<T, R>(items: readonly T[], workerUrl: URL, options: PoolOptions<R> = {}): Promise<PoolResult<R>[]> {
  const concurrency = options.concurrency ?? availableParallelism();
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    return Promise.reject(new RangeError(`runPool: concurrency must be a whole number ≥ 1 (got ${concurrency})`));
  }
  const limit = options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
  if (!(limit >= 0)) return Promise.reject(new RangeError(`runPool: taskTimeoutMs must be ≥ 0 (got ${limit})`));
  if (items.length === 0) return Promise.resolve([]);
  const modulePath = fileURLToPath(workerUrl);
  const task = options.task ?? "default";
  const results: (PoolResult<R> | undefined)[] = new Array(items.length).fill(undefined);
  const live = new Set<ChildProcess>();
  let next = 0; // the next item to hand out
  let flushed = 0; // results passed to onResult so far: always a prefix of the input
  let finished = 0;
  let callbackError: { error: unknown } | undefined;

  return new Promise((resolve, reject) => {
    const maybeDone = (): void => {
      if (finished < items.length || live.size > 0) return;
      if (callbackError) reject(callbackError.error);
      else resolve(results as PoolResult<R>[]);
    };

    const settle = (index: number, result: PoolResult<R>): void => {
      results[index] = result;
      finished++;
      while (flushed < items.length && results[flushed] !== undefined) {
        const i = flushed++;
        if (options.onResult && !callbackError) {
          try {
            options.onResult(results[i]!, i);
          } catch (error) {
            // Kept for the end: throwing here would be an uncaught error in an event handler.
            callbackError = { error };
          }
        }
      }
    };

    const start = (): void => {
      const worker = fork(modulePath, [], {
        env: { ...process.env, [TASK_VAR]: task },
        execArgv: [...(options.execArgv ?? process.execArgv)],
        serialization: "advanced",
        stdio: ["ignore", "inherit", "pipe", "ipc"],
      });
      live.add(worker);
      let current = -1; // the item this worker is running
      let crash: PoolError | undefined;
      let timer: NodeJS.Timeout | undefined;
      let tail = "";
      worker.stderr!.on("data", (chunk: Buffer) => {
        process.stderr.write(chunk);
        tail = (tail + chunk.toString("utf8")).slice(-4096);
      });
      const startTimer = (ms: number): void => {
        stopTimer();
        if (limit > 0 && Number.isFinite(limit)) timer = setTimeout(overran, ms);
      };
      const stopTimer = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
      };
      const give = (): void => {
        if (next < items.length) {
          current = next++;
          // A worker that never even begins the task overruns too, given time to load.
          startTimer(Math.max(limit, LOAD_ALLOWANCE_MS));
          worker.send({ type: "run", index: current, item: items[current] } satisfies ToWorker);
          return;
        }
        current = -1;
        if (worker.connected) worker.send({ type: "close" } satisfies ToWorker);
        // A handler that left a timer or a socket open would keep its process alive for ever.
        setTimeout(() => void worker.kill("SIGKILL"), options.closeTimeoutMs ?? 2000).unref();
      };
      const overran = (): void => {
        timer = undefined;
        if (current < 0) return;
        const index = current;
        current = -1;
        worker.kill("SIGKILL");
        settle(index, { ok: false, error: timeoutError(limit) });
        if (next < items.length) start();
      };
      worker.on("message", (msg: FromWorker) => {
        if (msg.type === "crash") {
          crash ??= msg.error;
          return;
        }
        if (msg.type === "started") {
          if (msg.index === current) startTimer(limit);
          return;
        }
        if (msg.type !== "result" || msg.index !== current) return;
        stopTimer();
        settle(msg.index, msg.ok ? { ok: true, value: msg.value as R } : { ok: false, error: msg.error });
        give();
      });
      worker.on("error", (err) => {
        crash ??= toPoolError(err, true);
      });
      // "close": after the exit and once its stderr has all arrived.
      worker.on("close", (code, signal) => {
        stopTimer();
        live.delete(worker);
        if (current >= 0) {
          const cause = stderrCause(tail);
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          settle(current, { ok: false, error: crash ?? { name: "Error", message: `the worker ${how} while running this task${cause ? `: ${cause}` : ""}`, crashed: true } });
          current = -1;
          // The replacement takes over the remaining items.
          if (next < items.length) start();
        }
        maybeDone();
      });
      give();
    };

    for (let i = 0; i < Math.min(concurrency, items.length); i++) start();
  });
}
