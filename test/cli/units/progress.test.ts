// The progress bar, with a fake terminal and a fake clock: what it draws, and when.
import t from "tap";
import { createProgress, formatEta, progressLine, type ProgressStream } from "../../../cli/progress.js";

const S = 1e9;

function fakeTerminal(tty = true, columns: number | undefined = 80) {
  const writes: string[] = [];
  const stream: ProgressStream = { isTTY: tty, ...(columns === undefined ? {} : { columns }), write: (s: string) => writes.push(s) };
  let ms = 5000;
  return { stream, writes, clock: { now: () => ms, advance: (d: number) => void (ms += d) } };
}

t.test("nothing during the first second, then at most one redraw per 100 ms", (t) => {
  const { stream, writes, clock } = fakeTerminal();
  const p = createProgress(stream, { until: 120 * S, now: clock.now });
  p.update(1 * S);
  clock.advance(999);
  p.update(2 * S);
  t.same(writes, [], "a run shorter than a second shows nothing");
  clock.advance(1);
  p.update(12 * S);
  t.same(writes, ["\rsimulated  12.0 s / 120 s [##---------------------------]  10% · eta 9 s\x1b[K"]);
  clock.advance(99);
  p.update(13 * S);
  t.equal(writes.length, 1, "throttled");
  clock.advance(1);
  p.update(60 * S);
  t.equal(writes[1], "\rsimulated  60.0 s / 120 s [##############---------------]  50% · eta 2 s\x1b[K");
  p.done();
  t.equal(writes[2], "\r\x1b[K", "done clears the line");
  p.done();
  clock.advance(1000);
  p.update(100 * S);
  t.equal(writes.length, 3, "nothing after done");
  t.end();
});

t.test("done before anything was drawn writes nothing", (t) => {
  const { stream, writes, clock } = fakeTerminal();
  const p = createProgress(stream, { until: S, now: clock.now });
  p.update(S / 2);
  p.done();
  t.same(writes, []);
  t.end();
});

t.test("not a terminal, or no end: nothing at all", (t) => {
  for (const [tty, until] of [[false, S], [true, 0], [true, Infinity], [true, Number.NaN]] as const) {
    const { stream, writes, clock } = fakeTerminal(tty);
    const p = createProgress(stream, { until, now: clock.now, delayMs: 0 });
    clock.advance(5000);
    p.update(S / 2);
    p.done();
    t.same(writes, [], `isTTY ${tty}, until ${until}`);
  }
  t.end();
});

t.test("custom delay and interval; the wall clock by default", (t) => {
  const { stream, writes, clock } = fakeTerminal(true, 60);
  const p = createProgress(stream, { until: 10 * S, now: clock.now, delayMs: 0, intervalMs: 10 });
  p.update(0);
  clock.advance(10);
  p.update(10 * S);
  t.same(writes, ["\rsimulated  0.0 s / 10 s [-----------]   0%\x1b[K", "\rsimulated 10.0 s / 10 s [###########] 100%\x1b[K"]);
  const real = fakeTerminal();
  const q = createProgress(real.stream, { until: S });
  q.update(S / 2);
  q.done();
  t.same(real.writes, [], "performance.now(): well under a second has passed");
  t.end();
});

t.test("the line fits the terminal and keeps its layout", (t) => {
  const line = progressLine(1.5 * S, 120 * S, 2000, 80);
  t.equal(line, "simulated   1.5 s / 120 s [-----------------------------]   1% · eta 2 min 38 s");
  t.equal(line.length, 79, "one less than the terminal is wide");
  t.equal(progressLine(119.99 * S, 120 * S, 5000, 80), "simulated 119.9 s / 120 s [############################-]  99% · eta 1 s", "rounded down, same width");
  t.equal(progressLine(5e5, 9e5, 10, 80), "simulated 500.0 us / 900 us [###############------------]  55% · eta 1 s", "in the unit of the end");
  t.equal(progressLine(250e6, 2 * S, 100, 40), "simulated 0.2 s / 2 s  12% · eta 1 s", "too narrow for a bar");
  t.equal(progressLine(250e6, 2 * S, 100, 20), "simulated 0.2 s / 2");
  t.equal(progressLine(3 * S, 2 * S, 100, 200), "simulated 2.0 s / 2 s [########################################] 100%", "past the end: full, no eta, at most 40 wide");
  t.equal(progressLine(S, 2 * S, 1000, 0), "");
  const { stream, writes, clock } = fakeTerminal(true, undefined);
  createProgress(stream, { until: 2 * S, now: clock.now, delayMs: 0 }).update(S);
  t.equal(writes[0], "\rsimulated 1.0 s / 2 s [################-----------------]  50% · eta 0 s\x1b[K", "80 columns when the terminal does not say");
  t.end();
});

t.test("eta text", (t) => {
  t.same([formatEta(0), formatEta(-5), formatEta(1), formatEta(59_000), formatEta(60_000), formatEta(3_599_000), formatEta(3_600_000), formatEta(7_530_000)], ["0 s", "0 s", "1 s", "59 s", "1 min 0 s", "59 min 59 s", "1 h 0 min", "2 h 5 min"]);
  t.end();
});
