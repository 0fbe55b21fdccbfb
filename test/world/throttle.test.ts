// The vCPU throttle's sleeps, as QEMU 7.2's cpu-throttle times them: each period a sleep of
// p/(1 − p) × 10 ms, then a 10 ms run; the first period starts at once when the throttle is
// set from none; a change while it is active waits for the period in progress to end.
import "reflect-metadata";
import t from "tap";
import { THROTTLE_SLICE_NS, ThrottleSchedule } from "../../core/world/throttle.js";
import { Scheduler } from "../../core/sim/scheduler.js";
import { Cluster } from "../../core/world/cluster.js";
import { Hooks } from "../../core/plugin-host/hooks.js";
import { MS, SECOND } from "../../core/sim/time.js";

t.test("a throttle of 0.5 set at 1 s: sleep [1.000, 1.010), run [1.010, 1.020), sleep again at 1.020", (t) => {
  const s = new ThrottleSchedule();
  t.equal(s.wake(SECOND), SECOND, "unthrottled: the vCPUs run");
  s.set(SECOND, 0.5);
  const at = (ms: number) => s.wake(SECOND + ms * MS);
  t.equal(at(0), SECOND + 10 * MS, "the first period begins with its sleep");
  t.equal(at(4), SECOND + 10 * MS, "an access at 1.004 s happens at 1.010 s");
  t.equal(at(10), SECOND + 10 * MS, "the run slice begins");
  t.equal(s.wake(SECOND + 20 * MS - 1), SECOND + 20 * MS - 1, "the last ns of the run slice");
  t.equal(at(20), SECOND + 30 * MS, "the second sleep");
  t.equal(at(25), SECOND + 30 * MS);
  t.equal(THROTTLE_SLICE_NS, 10 * MS);
  t.end();
});

t.test("periods are 10 ms / (1 − p) rounded to the ns, sleeps the period less 10 ms", (t) => {
  const sleepOf = (p: number) => {
    const s = new ThrottleSchedule();
    s.set(0, p);
    return s.wake(0);
  };
  t.equal(sleepOf(0.2), 2_500_000, "0.2: 12.5 ms periods, 2.5 ms sleeps");
  t.equal(sleepOf(0.3), 4_285_714, "0.3: 14,285,714 ns periods (10 ms / 0.7 = 14,285,714.29)");
  t.equal(sleepOf(0.99), 990 * MS, "0.99 (QEMU's maximum): 1 s periods, 990 ms sleeps");
  const s = new ThrottleSchedule();
  s.set(0, 0.2);
  t.equal(s.wake(12_500_000), 15_000_000, "0.2: the second period begins at 12.5 ms with its sleep");
  t.equal(s.wake(15_000_000), 15_000_000);
  t.end();
});

t.test("a change while active keeps the period in progress; the new figures start at the next tick", (t) => {
  const s = new ThrottleSchedule();
  s.set(0, 0.5); // sleep [0, 10), run [10, 20) ms
  s.set(15 * MS, 0.75); // from 20 ms: periods of 40 ms, sleeps of 30 ms
  t.equal(s.wake(15 * MS), 15 * MS, "still running the old period's slice");
  t.equal(s.wake(20 * MS), 50 * MS, "the new sleep [20, 50) ms");
  t.equal(s.wake(49 * MS), 50 * MS);
  t.equal(s.wake(55 * MS), 55 * MS);
  t.equal(s.wake(60 * MS), 90 * MS, "the next: sleep [60, 90) ms");

  const twice = new ThrottleSchedule();
  twice.set(0, 0.5);
  twice.set(15 * MS, 0.75);
  twice.set(16 * MS, 0.2); // the latest before the tick counts: 2.5 ms sleeps from 20 ms
  t.equal(twice.wake(20 * MS), 22.5 * MS);
  t.equal(twice.wake(32.5 * MS), 35 * MS);

  const asleep = new ThrottleSchedule();
  asleep.set(0, 0.5);
  asleep.set(5 * MS, 0.75); // during the sleep: it runs out as it was
  t.equal(asleep.wake(5 * MS), 10 * MS);
  t.equal(asleep.wake(20 * MS), 50 * MS);

  const onTick = new ThrottleSchedule();
  onTick.set(0, 0.5);
  onTick.set(20 * MS, 0.75); // at a period's start: the period is the new one's
  t.equal(onTick.wake(20 * MS), 50 * MS);
  t.end();
});

t.test("0 ends a sleep at once; setting it again starts a new first period; a throttle of 1 never wakes until changed", (t) => {
  const s = new ThrottleSchedule();
  s.set(0, 0.5);
  s.set(5 * MS, 0);
  t.equal(s.wake(5 * MS), 5 * MS, "removed in a sleep: the vCPUs run now");
  s.set(7 * MS, 0.5);
  t.equal(s.wake(7 * MS), 17 * MS, "set again: a new first period [7, 27) ms");

  const full = new ThrottleSchedule();
  full.set(0, 1);
  t.equal(full.wake(0), Infinity);
  t.equal(full.wake(SECOND), Infinity);
  full.set(30 * MS, 0.5); // from 1 the tick would never come: the new figures apply at once
  t.equal(full.wake(30 * MS), 40 * MS);
  t.end();
});

t.test("cluster.setThrottle keeps the schedule, signals each change with its cause, and validates", (t) => {
  const sched = new Scheduler();
  const c = new Cluster(sched, new Hooks(sched));
  const h = c.addHost({ name: "a", cpus: 4, memoryBytes: 1 << 30, nicBandwidth: 1.25e9, rdma: false });
  const w = c.createWorld({ name: "web", kind: "vm", vcpus: 2 }, h);
  const log: string[] = [];
  c.signals.throttled.connect((x, from, to, cause) => log.push(`${x.name} ${from}->${to} by ${cause.by}`));
  sched.at(SECOND, () => c.setThrottle(w, 0.5));
  sched.at(SECOND + 15 * MS, () => c.setThrottle(w, 0.5)); // the same figure: no change, no signal
  sched.run(SECOND + 15 * MS);
  t.equal(c.throttleWake(w, SECOND + 4 * MS), SECOND + 10 * MS);
  t.equal(c.throttleWake(w, SECOND + 15 * MS), SECOND + 15 * MS);
  t.equal(c.throttleWake(w, SECOND + 20 * MS), SECOND + 30 * MS, "the phase is still the one of 1 s");
  c.setThrottle(w, 0);
  t.equal(c.throttleWake(w, SECOND + 20 * MS), SECOND + 20 * MS);
  t.same(log, ["web 0->0.5 by kernel", "web 0.5->0 by kernel"]);
  t.throws(() => c.setThrottle(w, 2), { code: "VMSCN5011" });
  t.equal(w.throttle, 0);
  t.end();
});
