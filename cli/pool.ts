// A pool of worker threads for suites and sweeps: one scenario per task, results in input order
// whatever order they finish in, and a worker that dies fails only the task it was running.
//
// The worker is any module that calls `serveWorker(handler)` when `poolWorkerTask()` says it
// was started by the pool. In the shipped bundle that is the bundle itself: the CLI passes
// `new URL(import.meta.url)` and a task name, and main.ts serves instead of parsing argv:
//
//   const task = poolWorkerTask();
//   if (task === "test") serveWorker(runOneFile); else main(process.argv.slice(2));
import { availableParallelism } from "node:os";
import { isMainThread, parentPort, Worker, workerData, type ResourceLimits } from "node:worker_threads";

/** Marks a worker's `workerData` as the pool's, carrying the task name. */
const MARK = "vmscn.pool/1";

interface PoolWorkerData {
  readonly [MARK]: true;
  readonly task: string;
}

type ToWorker = { type: "run"; index: number; item: unknown } | { type: "close" };
type FromWorker = { type: "result"; index: number; ok: true; value: unknown } | { type: "result"; index: number; ok: false; error: PoolError };

export interface PoolError {
  readonly name: string;
  readonly message: string;
  /** The error's `code` property when it had one (a VmscnError's VMSCN code, ERR_WORKER_...). */
  readonly code?: string;
  readonly stack?: string;
  /** True when the worker thread died (uncaught error, exit, out of memory) rather than the task throwing. */
  readonly crashed: boolean;
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
  readonly resourceLimits?: ResourceLimits;
  /** How long a worker may take to exit once told to close before it is terminated; default 2 s. */
  readonly closeTimeoutMs?: number;
}

/** The task name when this thread is a worker started by `runPool`, else undefined. */
export function poolWorkerTask(): string | undefined {
  if (isMainThread || typeof workerData !== "object" || workerData === null) return undefined;
  const data = workerData as Partial<PoolWorkerData>;
  return data[MARK] === true && typeof data.task === "string" ? data.task : undefined;
}

function toPoolError(thrown: unknown, crashed: boolean): PoolError {
  if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code;
    return { name: thrown.name, message: thrown.message, ...(typeof code === "string" ? { code } : {}), ...(thrown.stack ? { stack: thrown.stack } : {}), crashed };
  }
  return { name: "Error", message: String(thrown), crashed };
}

/**
 * Worker side: runs `handler` on each item the pool sends, one at a time, and replies with its
 * value or the error it threw. A value must survive structured cloning (plain data, no functions).
 */
export function serveWorker<T, R>(handler: (item: T) => R | Promise<R>): void {
  const port = parentPort;
  if (port === null) throw new Error("serveWorker: not in a worker thread");
  port.on("message", (msg: ToWorker) => {
    if (msg.type === "close") {
      port.close();
      return;
    }
    void (async () => {
      let reply: FromWorker;
      try {
        reply = { type: "result", index: msg.index, ok: true, value: await handler(msg.item as T) };
      } catch (thrown) {
        reply = { type: "result", index: msg.index, ok: false, error: toPoolError(thrown, false) };
      }
      try {
        port.postMessage(reply);
      } catch (thrown) {
        // The value could not be cloned: report that instead of losing the task.
        port.postMessage({ type: "result", index: msg.index, ok: false, error: toPoolError(thrown, false) } satisfies FromWorker);
      }
    })();
  });
}

/**
 * Runs `items` through workers started from `workerUrl` and resolves with one result per item,
 * in input order. A task's failure or a worker's death is a failed result for that item (a dead
 * worker is replaced while items remain), never a rejection. Rejects for bad arguments, or with
 * the first error `onResult` threw, once every worker has stopped.
 */
export function runPool<T, R>(items: readonly T[], workerUrl: URL, options: PoolOptions<R> = {}): Promise<PoolResult<R>[]> {
  const concurrency = options.concurrency ?? availableParallelism();
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    return Promise.reject(new RangeError(`runPool: concurrency must be a whole number ≥ 1 (got ${concurrency})`));
  }
  if (items.length === 0) return Promise.resolve([]);
  const data: PoolWorkerData = { [MARK]: true, task: options.task ?? "default" };
  const results: (PoolResult<R> | undefined)[] = new Array(items.length).fill(undefined);
  const live = new Set<Worker>();
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
      const worker = new Worker(workerUrl, {
        workerData: data,
        ...(options.execArgv ? { execArgv: [...options.execArgv] } : {}),
        ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      });
      live.add(worker);
      let current = -1; // the item this worker is running
      let crash: PoolError | undefined;
      const give = (): void => {
        if (next < items.length) {
          current = next++;
          worker.postMessage({ type: "run", index: current, item: items[current] } satisfies ToWorker);
          return;
        }
        current = -1;
        worker.postMessage({ type: "close" } satisfies ToWorker);
        // A handler that left a timer or a socket open would keep its thread alive for ever.
        setTimeout(() => void worker.terminate(), options.closeTimeoutMs ?? 2000).unref();
      };
      worker.on("message", (msg: FromWorker) => {
        if (msg.type !== "result" || msg.index !== current) return;
        settle(msg.index, msg.ok ? { ok: true, value: msg.value as R } : { ok: false, error: msg.error });
        give();
      });
      worker.on("error", (err) => {
        crash ??= toPoolError(err, true);
      });
      worker.on("exit", (code) => {
        live.delete(worker);
        if (current >= 0) {
          settle(current, { ok: false, error: crash ?? { name: "Error", message: `the worker exited with code ${code} while running this task`, crashed: true } });
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
