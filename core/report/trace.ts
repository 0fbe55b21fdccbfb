// Trace events in the Chrome trace-event format, which Perfetto and chrome://tracing open:
// hosts are processes, worlds are threads, times are microseconds of simulated time.
import { injectable } from "tsyringe";
import { kernelError } from "../errors.js";
import { KERNEL_VERSION } from "../version.js";
import { stableStringify } from "./json.js";

/**
 * Where an event happens: a host, and the world on it (no world: the host itself). Events of
 * no host (a scenario action, the whole cluster) go to a process named "cluster".
 */
export interface TraceAt {
  readonly host?: string;
  readonly world?: string;
}

const NO_HOST = "";
const NO_HOST_NAME = "cluster";

export type TraceArgs = Readonly<Record<string, unknown>>;

/** One event as written to the file (Chrome's field names). */
export interface TraceEvent {
  readonly name: string;
  readonly ph: "X" | "B" | "i" | "C" | "M";
  readonly pid: number;
  readonly tid?: number;
  readonly cat?: string;
  /** Microseconds. */
  readonly ts?: number;
  readonly dur?: number;
  /** Scope of an instant event: "t" (thread). */
  readonly s?: "t";
  readonly args?: TraceArgs;
}

interface OpenSpan {
  readonly name: string;
  readonly cat: string;
  readonly pid: number;
  readonly tid: number;
  readonly startNs: number;
  readonly args: TraceArgs | undefined;
}

/** The thread of events that belong to a host but to none of its worlds. */
const HOST_TID = 0;

/**
 * Records trace events. Disabled by default (the command enables it for `--trace FILE`); while
 * disabled every call returns at once, and call sites that build `args` can test `enabled`.
 * Host pids and world tids are small integers in first-seen order, so the file is the same
 * every run; a world keeps its tid when it moves to another host.
 */
@injectable()
export class TraceRecorder {
  enabled = false;
  /** Free-form run information written under "otherData" (scenario, seed, ...). */
  readonly otherData: Record<string, unknown> = { generator: "vmscn", kernel: KERNEL_VERSION };

  private readonly events: TraceEvent[] = [];
  private readonly metadata: TraceEvent[] = [];
  private readonly pids = new Map<string, number>();
  private readonly tids = new Map<string, number>();
  /** (pid, tid) pairs that have a thread_name event, as pid * 2^26 + tid. */
  private readonly namedThreads = new Set<number>();
  private readonly open = new Map<number, OpenSpan>();
  private nextToken = 1;

  /** A complete event (ph "X") from `startNs` to `endNs`. */
  span(name: string, cat: string, at: TraceAt, startNs: number, endNs: number, args?: TraceArgs): void {
    if (!this.enabled) return;
    const pid = this.pid(at.host ?? NO_HOST);
    const tid = this.tid(pid, at);
    this.events.push(complete(name, cat, pid, tid, startNs, endNs, args));
  }

  /** Opens a span; `end(token, ...)` closes it. Returns 0 while disabled. */
  begin(name: string, cat: string, at: TraceAt, startNs: number, args?: TraceArgs): number {
    if (!this.enabled) return 0;
    const pid = this.pid(at.host ?? NO_HOST);
    const tid = this.tid(pid, at);
    const token = this.nextToken++;
    this.open.set(token, { name, cat, pid, tid, startNs, args });
    return token;
  }

  /** Closes the span `token`, recording it as a complete event; `args` add to the begin's args. */
  end(token: number, endNs: number, args?: TraceArgs): void {
    if (token === 0) return;
    const s = this.open.get(token);
    if (s === undefined) throw kernelError("VMSCN5011", `trace: end() of span ${token}, which is not open`, { time: endNs });
    this.open.delete(token);
    const merged = args === undefined ? s.args : { ...s.args, ...args };
    this.events.push(complete(s.name, s.cat, s.pid, s.tid, s.startNs, endNs, merged));
  }

  /** A point in time on a world's (or the host's) thread (ph "i"). */
  instant(name: string, cat: string, at: TraceAt, timeNs: number, args?: TraceArgs): void {
    if (!this.enabled) return;
    const pid = this.pid(at.host ?? NO_HOST);
    const tid = this.tid(pid, at);
    const e: TraceEvent = { name, cat, ph: "i", s: "t", pid, tid, ts: timeNs / 1000 };
    this.events.push(args === undefined ? e : { ...e, args });
  }

  /** Counter values of a host at a time (ph "C"), one track per key of `values`. */
  counter(name: string, host: string | undefined, timeNs: number, values: Readonly<Record<string, number>>): void {
    if (!this.enabled) return;
    this.events.push({ name, ph: "C", pid: this.pid(host ?? NO_HOST), ts: timeNs / 1000, args: values });
  }

  /** Number of recorded events (metadata not counted). */
  get size(): number {
    return this.events.length;
  }

  /**
   * The trace as Chrome's JSON object format: metadata first, then events in recording order,
   * then spans still open, as begin events (ph "B") without an end.
   */
  toJSON(): { traceEvents: TraceEvent[]; displayTimeUnit: "ns"; otherData: Record<string, unknown> } {
    const unfinished: TraceEvent[] = [];
    for (const s of this.open.values()) {
      const e: TraceEvent = { name: s.name, cat: s.cat, ph: "B", pid: s.pid, tid: s.tid, ts: s.startNs / 1000 };
      unfinished.push(s.args === undefined ? e : { ...e, args: s.args });
    }
    return {
      traceEvents: [...this.metadata, ...this.events, ...unfinished],
      displayTimeUnit: "ns",
      otherData: { ...this.otherData },
    };
  }

  /** The trace file's text: one event per line, so two traces diff line by line. */
  toText(): string {
    const t = this.toJSON();
    const lines = t.traceEvents.map((e) => stableStringify(e, 0));
    const events = lines.length === 0 ? "[]" : `[\n${lines.join(",\n")}\n]`;
    return `{"displayTimeUnit":"ns","otherData":${stableStringify(t.otherData, 0)},"traceEvents":${events}}\n`;
  }

  private pid(host: string): number {
    let pid = this.pids.get(host);
    if (pid === undefined) {
      pid = this.pids.size + 1;
      this.pids.set(host, pid);
      this.metadata.push({ name: "process_name", ph: "M", pid, tid: HOST_TID, args: { name: host === NO_HOST ? NO_HOST_NAME : host } });
    }
    return pid;
  }

  private tid(pid: number, at: TraceAt): number {
    let tid = HOST_TID;
    if (at.world !== undefined) {
      const known = this.tids.get(at.world);
      tid = known ?? this.tids.size + 1;
      if (known === undefined) this.tids.set(at.world, tid);
    }
    const key = pid * 0x4000000 + tid;
    if (!this.namedThreads.has(key)) {
      this.namedThreads.add(key);
      this.metadata.push({ name: "thread_name", ph: "M", pid, tid, args: { name: at.world ?? at.host ?? NO_HOST_NAME } });
    }
    return tid;
  }
}

function complete(
  name: string,
  cat: string,
  pid: number,
  tid: number,
  startNs: number,
  endNs: number,
  args: TraceArgs | undefined,
): TraceEvent {
  if (!(endNs >= startNs)) {
    throw kernelError("VMSCN5011", `trace: span "${name}" ends at ${endNs} ns, before it starts at ${startNs} ns`, { time: endNs });
  }
  const e: TraceEvent = { name, cat, ph: "X", pid, tid, ts: startNs / 1000, dur: (endNs - startNs) / 1000 };
  return args === undefined ? e : { ...e, args };
}
