import t from "tap";
import { Scheduler, Priority } from "../../core/sim/scheduler.js";
import { VmscnError } from "../../core/errors.js";

t.test("events run in (time, priority, sequence) order", (t) => {
  const s = new Scheduler();
  const order: string[] = [];
  s.at(20, () => order.push("t20"));
  s.at(10, () => order.push("t10-late"), Priority.Late);
  s.at(10, () => order.push("t10-a"));
  s.at(10, () => order.push("t10-b"));
  s.at(10, () => order.push("t10-first"), Priority.First);
  s.at(5, () => order.push("t5"));
  const r = s.run();
  t.same(order, ["t5", "t10-first", "t10-a", "t10-b", "t10-late", "t20"]);
  t.equal(r.reason, "empty");
  t.equal(r.events, 6);
  t.equal(s.now, 20);
  t.end();
});

t.test("after() is relative to now and events can schedule events", (t) => {
  const s = new Scheduler();
  const seen: number[] = [];
  s.at(100, () => {
    seen.push(s.now);
    s.after(50, () => seen.push(s.now));
    s.after(0, () => seen.push(s.now));
  });
  s.run();
  t.same(seen, [100, 100, 150]);
  t.end();
});

t.test("cancel removes an event; cancelling twice is a no-op", (t) => {
  const s = new Scheduler();
  const seen: number[] = [];
  const h = s.at(10, () => seen.push(10));
  s.at(20, () => seen.push(20));
  t.equal(s.pending, 2);
  t.equal(h.cancel(), true);
  t.equal(h.cancel(), false);
  t.equal(h.pending, false);
  t.equal(s.pending, 1);
  s.run();
  t.same(seen, [20]);
  t.end();
});

t.test("mass cancellation compacts the heap and keeps order", (t) => {
  const s = new Scheduler();
  const seen: number[] = [];
  const hs = [];
  for (let i = 0; i < 5000; i++) hs.push(s.at(5000 - i, () => seen.push(5000 - i)));
  for (let i = 0; i < 5000; i++) if (i % 10 !== 0) hs[i]!.cancel();
  t.equal(s.pending, 500);
  t.equal(s.peekTime(), 10);
  s.run();
  t.equal(seen.length, 500);
  t.same(seen.slice(0, 3), [10, 20, 30]);
  t.end();
});

t.test("run(until) stops at until, leaves later events, and advances the clock", (t) => {
  const s = new Scheduler();
  const seen: number[] = [];
  s.at(10, () => seen.push(10));
  s.at(30, () => seen.push(30));
  const r = s.run(20);
  t.same(seen, [10]);
  t.equal(r.reason, "until");
  t.equal(s.now, 20);
  t.equal(s.run(30).reason, "empty");
  t.same(seen, [10, 30]);
  t.end();
});

t.test("stop() ends the loop after the current event", (t) => {
  const s = new Scheduler();
  s.at(1, () => s.stop());
  s.at(2, () => t.fail("must not run"));
  t.equal(s.run().reason, "stopped");
  t.equal(s.now, 1);
  t.end();
});

t.test("scheduling in the past is refused with VMSCN5003", (t) => {
  const s = new Scheduler();
  s.at(100, () => {
    t.throws(() => s.at(50, () => {}), { code: "VMSCN5003" });
    t.throws(() => s.after(-1, () => {}), { code: "VMSCN5003" });
  });
  s.run();
  t.throws(() => s.at(Number.NaN, () => {}), { code: "VMSCN5003" });
  t.end();
});

t.test("a waiting world with nothing scheduled is a deadlock", (t) => {
  const s = new Scheduler();
  s.at(5, () => s.wait("web", "network page fault on page 7"));
  const err = t.throws(() => s.run()) as unknown as VmscnError;
  t.equal(err.code, "VMSCN5001");
  t.match(err.message, /web \(network page fault on page 7\) waits/);
  t.equal(err.time, 5);
  t.end();
});

t.test("a woken world is no deadlock", (t) => {
  const s = new Scheduler();
  s.at(5, () => s.wait("web", "page"));
  s.at(9, () => s.wake("web"));
  t.equal(s.run().reason, "empty");
  t.equal(s.waitingCount, 0);
  t.end();
});

t.test("compaction during a run keeps the run going", (t) => {
  const s = new Scheduler();
  let ran = 0;
  s.at(0, () => {
    const hs = [];
    for (let i = 0; i < 2000; i++) hs.push(s.at(10 + i, () => {}));
    for (const h of hs) h.cancel();
    s.at(5, () => ran++);
  });
  s.run();
  t.equal(ran, 1);
  t.equal(s.pending, 0);
  t.end();
});
