// The pieces of `converge qemu` on their own: the migration bitmap and its cyclic scan, QEMU's
// bandwidth window, its auto-converge decision, and when a page is write-protected again.
import t from "tap";
import { RamState } from "./ram-state.js";
import { RateWindow } from "./rate-window.js";
import { AutoConverge } from "./auto-converge.js";
import { WriteProtect } from "./write-protect.js";
import type { DirtyLog } from "../../core/api.js";

const MS = 1_000_000;

t.test("the bitmap starts full; the scan takes pages in order from its cursor, wraps, and is not reset by a merge", (t) => {
  const r = new RamState(70);
  t.equal(r.dirty, 70);
  t.equal(r.count(), 70);
  const first: number[] = [];
  for (let i = 0; i < 65; i++) first.push(r.next());
  t.same(first.slice(0, 3), [0, 1, 2]);
  t.equal(first[64], 64);
  t.equal(r.cursor, 65);
  // page 3 (behind the cursor, sent) and 67, 68 (ahead, still set) are dirtied again
  t.equal(r.merge(Int32Array.from([3, 67, 68])), 1, "only pages not set count as new (new_dirty)");
  t.equal(r.dirty, 5 + 1);
  t.same([r.next(), r.next(), r.next(), r.next(), r.next()], [65, 66, 67, 68, 69], "ahead of the cursor: this sweep");
  t.equal(r.wraps, 1, "the cursor went past the last page");
  t.equal(r.next(), 3, "behind it: after the wrap");
  t.equal(r.next(), -1);
  t.equal(r.dirty, 0);
  r.merge(Int32Array.from([9, 2, 40]));
  t.same([...r.drain()], [2, 9, 40], "the switch-over's list, ascending");
  t.equal(r.count(), 0);
  t.end();
});

t.test("QEMU's window: no estimate before 100 ms; bandwidth of the last window alone; expected-downtime once a dirty rate exists", (t) => {
  const w = new RateWindow(0, 0, 0, 300);
  t.equal(w.expectedDowntimeMs, 300, "the downtime limit until estimated");
  t.equal(w.update(99 * MS, 1_000_000, 10, 0, 0), false);
  t.equal(w.threshold, 0);
  t.equal(w.used(1_000_000), 1_000_000);
  t.equal(w.update(100 * MS, 2_000_000, 500, 4096 * 100, 0), true);
  t.equal(w.bandwidth, 20_000, "2 MB / 100 ms, in bytes per ms");
  t.equal(w.threshold, 6_000_000);
  t.equal(w.pagesPerSecond, 5000);
  t.equal(w.expectedDowntimeMs, 300, "no dirty rate yet: unchanged");
  t.equal(w.end, 200 * MS, "the next window");
  t.equal(w.update(300 * MS, 3_000_000, 600, 4096 * 100, 50), true);
  t.equal(w.bandwidth, 5000, "1 MB over the 200 ms since the last estimate");
  t.equal(w.expectedDowntimeMs, (4096 * 100) / 5000);
  t.end();
});

t.test("auto-converge moves every second time the period's dirtied bytes exceed the trigger, 20 % then +10 %, at most the max", (t) => {
  const ac = new AutoConverge({ initial: 20, increment: 10, max: 35, triggerThreshold: 50, tailslow: false });
  t.equal(ac.evaluate(0, 1000, 600), null, "first time over 50 %");
  t.equal(ac.evaluate(0, 1000, 400), null, "under: the count is not reset");
  t.equal(ac.evaluate(0, 1000, 501), 20, "second time over");
  t.equal(ac.evaluate(20, 1000, 900), null);
  t.equal(ac.evaluate(20, 1000, 900), 30);
  ac.evaluate(30, 1000, 900);
  t.equal(ac.evaluate(30, 1000, 900), 35, "capped at max-cpu-throttle");
  const slow = new AutoConverge({ initial: 20, increment: 10, max: 99, triggerThreshold: 50, tailslow: true });
  slow.evaluate(40, 1000, 520);
  // cpu_now 60, cpu_ideal = trunc(60 × 500 / 520) = 57: a step of 3
  t.equal(slow.evaluate(40, 1000, 520), 43, "tailslow steps only as far as needed");
  t.end();
});

/** A log that records what the write protection forgets. */
function fakeLog(marked: number[]): DirtyLog & { cleared: number[] } {
  const set = new Set(marked);
  const cleared: number[] = [];
  return {
    cleared,
    clearPage(p: number): boolean {
      if (!set.delete(p)) return false;
      cleared.push(p);
      return true;
    },
  } as unknown as DirtyLog & { cleared: number[] };
}

t.test("write protection: at-sync keeps every write, per-page forgets the sent page's, per-chunk its chunk's reported ones", (t) => {
  const atSync = new WriteProtect("at-sync", 256, 6);
  const a = fakeLog([5]);
  atSync.synced(Int32Array.from([5]));
  atSync.beforeSend(a, 5);
  t.same(a.cleared, []);
  const perPage = new WriteProtect("per-page", 256, 6);
  const p = fakeLog([5, 6]);
  perPage.beforeSend(p, 5);
  t.same(p.cleared, [5], "a write before the send is in what is sent");
  // chunks of 64 pages: pages 3 and 70 were reported at the sync; 3, 4 and 70 were written since
  const perChunk = new WriteProtect("per-chunk", 256, 6);
  const c = fakeLog([3, 4, 70]);
  perChunk.synced(Int32Array.from([3, 70]));
  perChunk.beforeSend(c, 10);
  t.same(c.cleared, [3], "the first send in chunk 0 clears its reported pages: page 4, clean at the sync, stays recorded");
  perChunk.beforeSend(c, 11);
  t.same(c.cleared, [3], "once per chunk and sync");
  perChunk.beforeSend(c, 64);
  t.same(c.cleared, [3, 70]);
  t.end();
});
