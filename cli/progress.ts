// A progress bar on stderr for long runs: simulated time reached out of `until`, a bar and an
// estimate of the wall time left. It reads the wall clock, which is allowed here in cli/ and
// never in core/, plugins/ or dsl/: it decides only when to draw, never what the run does.
import { formatDuration } from "./summary.js";

/** What the bar writes to: process.stderr, or a fake in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** Simulated time the run goes to, in ns. */
  readonly until: number;
  /** Wall clock in ms; default performance.now(). */
  readonly now?: () => number;
  /** Nothing is drawn before the run has taken this long (short runs stay quiet); default 1000 ms. */
  readonly delayMs?: number;
  /** At most one redraw per this many ms; default 100 (10 a second). */
  readonly intervalMs?: number;
}

export interface Progress {
  /** The run reached `simulatedNs`. Cheap: call it every simulated millisecond if you like. */
  update(simulatedNs: number): void;
  /** The run ended: clears the bar if one was drawn. Later calls do nothing. */
  done(): void;
}

const NOOP: Progress = { update() {}, done() {} };

/** Wall time left, coarse: "45 s", "3 min 20 s", "2 h 5 min". */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const UNITS: [string, number][] = [["s", 1e9], ["ms", 1e6], ["us", 1e3], ["ns", 1]];
/** Room kept for " · eta 59 min 59 s", so the bar does not change width as the estimate does. */
const ETA_ROOM = 18;

/**
 * The line for `simulatedNs` of `until` after `elapsedMs` of wall time, at most `columns - 1`
 * wide (a full-width line wraps in some terminals). Every part keeps its width from one redraw
 * to the next, so the bar does not jitter: the time reached is in the unit of `until` with one
 * decimal, padded; the bar takes what is left, up to 40 characters.
 */
export function progressLine(simulatedNs: number, until: number, elapsedMs: number, columns: number): string {
  const [unit, factor] = UNITS.find(([, f]) => until >= f) ?? UNITS[UNITS.length - 1]!;
  const fraction = until > 0 ? Math.min(1, Math.max(0, simulatedNs / until)) : 0;
  // Rounded down: 119.99 of 120 s must not read as 120.0 s.
  const now = (Math.floor((Math.min(Math.max(simulatedNs, 0), until) / factor) * 10 + 1e-9) / 10).toFixed(1).padStart((until / factor).toFixed(1).length);
  const reached = `simulated ${now} ${unit} / ${formatDuration(until)}`;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const eta = fraction > 0 && fraction < 1 ? ` · eta ${formatEta((elapsedMs * (1 - fraction)) / fraction)}` : "";
  const width = Math.max(0, columns - 1);
  const barWidth = Math.min(40, width - reached.length - percent.length - 3 - ETA_ROOM);
  if (barWidth < 5) return `${reached} ${percent}${eta}`.slice(0, width);
  const filled = Math.floor(fraction * barWidth);
  return `${reached} [${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${percent}${eta}`;
}

/**
 * A progress bar on `stream`, or one that does nothing when the stream is not a terminal (a
 * log file or a pipe gets no control characters) or the run has no end.
 */
export function createProgress(stream: ProgressStream, options: ProgressOptions): Progress {
  if (stream.isTTY !== true || !(options.until > 0) || !Number.isFinite(options.until)) return NOOP;
  const now = options.now ?? (() => performance.now());
  const delay = options.delayMs ?? 1000;
  const interval = options.intervalMs ?? 100;
  const start = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  let finished = false;
  return {
    update(simulatedNs: number): void {
      if (finished) return;
      const t = now();
      if (t - start < delay || t - lastDraw < interval) return;
      lastDraw = t;
      drawn = true;
      // \r and erase-to-end-of-line: the bar redraws in place, whatever was there before.
      stream.write(`\r${progressLine(simulatedNs, options.until, t - start, stream.columns ?? 80)}\x1b[K`);
    },
    done(): void {
      if (finished) return;
      finished = true;
      if (drawn) stream.write("\r\x1b[K");
    },
  };
}
