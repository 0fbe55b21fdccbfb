import "reflect-metadata";
import t from "tap";
import { FairShare, type Flow } from "../../core/net/fair-share.js";
import { Scheduler } from "../../core/sim/scheduler.js";
import { VmscnError } from "../../core/errors.js";
import { RandomStreams } from "../../core/sim/random.js";

const GB = 1e9; // 1 GB/s: 1 byte per ns, so times are easy to work out by hand

// Every test runs twice: with the linear-scan solver (few resources) and with the heap one.
let scanLimit = 64;

function setup(): { s: Scheduler; fs: FairShare } {
  const s = new Scheduler();
  const fs = new FairShare(s);
  fs.scanLimit = scanLimit;
  return { s, fs };
}

/** Starts a flow that records its drain time in `done[name]`. */
function flow(s: Scheduler, fs: FairShare, done: Record<string, number>, name: string, resources: number[], bytes: number, maxRate?: number): Flow {
  return fs.start({ resources, bytes, ...(maxRate === undefined ? {} : { maxRate }), label: name, onDrained: () => (done[name] = s.now) });
}

for (const [solver, limit] of [
  ["scan", 64],
  ["heap", 0],
] as const) {
  t.test(`${solver} solver`, (t) => {
    scanLimit = limit;
  t.test("one, two and three flows on one link", (t) => {
    t.test("one flow gets the whole link", (t) => {
      const { s, fs } = setup();
      const l = fs.addResource("l", GB);
      const done: Record<string, number> = {};
      const a = flow(s, fs, done, "a", [l], 1e6);
      s.run(0);
      t.equal(a.rate, GB);
      t.equal(fs.resourceRate(l), GB);
      s.run();
      // 1e6 B at 1e9 B/s = 1 ms
      t.same(done, { a: 1_000_000 });
      t.equal(a.state, "drained");
      t.equal(a.remaining(), 0);
      t.equal(a.rate, 0);
      t.equal(fs.resourceBytes(l), 1e6);
      t.equal(fs.resourceRate(l), 0);
      t.end();
    });

    t.test("two flows get half each", (t) => {
      const { s, fs } = setup();
      const l = fs.addResource("l", GB);
      const done: Record<string, number> = {};
      const a = flow(s, fs, done, "a", [l], 1e6);
      const b = flow(s, fs, done, "b", [l], 1e6);
      s.run(0);
      t.equal(a.rate, GB / 2);
      t.equal(b.rate, GB / 2);
      s.run();
      // 1e6 B at 5e8 B/s = 2 ms each
      t.same(done, { a: 2_000_000, b: 2_000_000 });
      t.end();
    });

    t.test("three flows get a third each, then half when one ends", (t) => {
      const { s, fs } = setup();
      const l = fs.addResource("l", GB);
      const done: Record<string, number> = {};
      const a = flow(s, fs, done, "a", [l], 1e6);
      const b = flow(s, fs, done, "b", [l], 2e6);
      const c = flow(s, fs, done, "c", [l], 2e6);
      s.run(0);
      t.equal(a.rate, GB / 3);
      t.equal(b.rate, GB / 3);
      t.equal(c.rate, GB / 3);
      // a: 1e6 B at 1e9/3 B/s = 3 ms. Then b and c have 2e6 - 1e6 = 1e6 B left each at
      // 5e8 B/s = 2 ms more: 5 ms.
      s.run(3_000_000);
      t.same(done, { a: 3_000_000 });
      t.equal(b.rate, GB / 2);
      t.equal(Math.round(b.remaining()), 1e6);
      s.run();
      t.same(done, { a: 3_000_000, b: 5_000_000, c: 5_000_000 });
      t.equal(fs.resourceBytes(l), 5e6);
      t.end();
    });
    t.end();
  });

  t.test("remaining() is exact between events", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    const done: Record<string, number> = {};
    const a = flow(s, fs, done, "a", [l], 1e6);
    t.equal(a.remaining(), 1e6);
    s.run(250_000);
    t.equal(a.remaining(), 750_000);
    t.equal(fs.resourceBytes(l), 250_000);
    t.equal(fs.resourceFlows(l), 1);
    t.equal(fs.activeFlows, 1);
    s.run();
    t.equal(fs.resourceFlows(l), 0);
    t.equal(fs.activeFlows, 0);
    t.end();
  });

  t.test("a capped flow leaves its unused share to the others (max-min)", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    const done: Record<string, number> = {};
    // a is capped at 2e8 B/s; b takes the remaining 8e8 B/s rather than an even 5e8.
    const a = flow(s, fs, done, "a", [l], 2e6, 2e8);
    const b = flow(s, fs, done, "b", [l], 4e6);
    s.run(0);
    t.equal(a.rate, 2e8);
    t.equal(b.rate, 8e8);
    // b: 4e6 B at 8e8 B/s = 5 ms. a stays at its cap: 2e6 B at 2e8 B/s = 10 ms.
    s.run();
    t.same(done, { b: 5_000_000, a: 10_000_000 });
    t.end();
  });

  t.test("a cap above the fair share does not bind", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    const done: Record<string, number> = {};
    const a = flow(s, fs, done, "a", [l], 1e6, 9e8);
    const b = flow(s, fs, done, "b", [l], 1e6);
    s.run(0);
    t.equal(a.rate, 5e8);
    t.equal(b.rate, 5e8);
    s.run();
    t.same(done, { a: 2_000_000, b: 2_000_000 });
    t.end();
  });

  t.test("two links with different bottlenecks", (t) => {
    const { s, fs } = setup();
    const l1 = fs.addResource("l1", GB);
    const l2 = fs.addResource("l2", 4e8);
    const done: Record<string, number> = {};
    const x = flow(s, fs, done, "x", [l1, l2], 2e6);
    const y = flow(s, fs, done, "y", [l1], 8e6);
    const z = flow(s, fs, done, "z", [l2], 1e6);
    s.run(0);
    // l2 is the tighter bottleneck: x and z get 4e8/2 = 2e8; y takes the rest of l1, 8e8.
    t.equal(x.rate, 2e8);
    t.equal(z.rate, 2e8);
    t.equal(y.rate, 8e8);
    t.equal(fs.resourceRate(l1), GB);
    t.equal(fs.resourceRate(l2), 4e8);
    // z: 1e6 / 2e8 = 5 ms. Then x is alone on l2 (4e8) and shares l1 with y (5e8 each):
    // x = 4e8 (l2 binds), y = 6e8. x has 2e6 - 1e6 = 1e6 left: 2.5 ms more, 7.5 ms.
    s.run(5_000_000);
    t.same(done, { z: 5_000_000 });
    t.equal(x.rate, 4e8);
    t.equal(y.rate, 6e8);
    // y at 7.5 ms: 8e6 - 8e8*5e-3 - 6e8*2.5e-3 = 8e6 - 4e6 - 1.5e6 = 2.5e6 left, alone at
    // 1e9: 2.5 ms more, 10 ms.
    s.run();
    t.same(done, { z: 5_000_000, x: 7_500_000, y: 10_000_000 });
    t.equal(fs.resourceBytes(l1), 10e6);
    t.equal(fs.resourceBytes(l2), 3e6);
    t.end();
  });

  t.test("flows starting at the same instant cost one recomputation", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    let drained = 0;
    const flows: Flow[] = [];
    for (let i = 0; i < 10_000; i++) flows.push(fs.start({ resources: [l], bytes: 1e6, onDrained: () => drained++ }));
    s.run(0);
    t.equal(fs.recomputations, 1);
    t.equal(flows[0]!.rate, GB / 10_000);
    // 10,000 × 1e6 B at 1e9 B/s = 10 s; all end at the same instant: one more recomputation.
    s.run();
    t.equal(s.now, 10_000_000_000);
    t.equal(drained, 10_000);
    t.equal(fs.recomputations, 2);
    t.end();
  });

  t.test("flows started from drain callbacks share the instant's recomputation", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    const done: Record<string, number> = {};
    fs.start({ resources: [l], bytes: 1e6, onDrained: () => flow(s, fs, done, "next", [l], 1e6) });
    s.run();
    // 1 ms for the first, 1 ms for the next; recomputations: start, then the end+start.
    t.same(done, { next: 2_000_000 });
    t.equal(fs.recomputations, 3);
    t.end();
  });

  t.test("a flow of 0 bytes and a flow with no path complete at once, on an event", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    const done: Record<string, number> = {};
    s.at(500, () => {
      const z = flow(s, fs, done, "zero", [l], 0);
      const local = flow(s, fs, done, "local", [], 1e9);
      t.equal(z.state, "active");
      t.equal(local.state, "active");
      t.same(done, {});
    });
    s.run();
    t.same(done, { zero: 500, local: 500 });
    t.end();
  });

  t.test("a capped flow with no path runs at its cap", (t) => {
    const { s, fs } = setup();
    const done: Record<string, number> = {};
    const a = flow(s, fs, done, "a", [], 1e6, 1e6);
    s.run(0);
    t.equal(a.rate, 1e6);
    s.run();
    t.same(done, { a: 1_000_000_000 });
    t.end();
  });

  t.test("an infinite capacity does not constrain", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("inf", Infinity);
    const done: Record<string, number> = {};
    const a = flow(s, fs, done, "a", [l], 1e6);
    s.run();
    t.same(done, { a: 0 });
    t.equal(a.state, "drained");
    t.end();
  });

  t.test("cancel frees the share; cancelling twice is a no-op", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    const done: Record<string, number> = {};
    const a = flow(s, fs, done, "a", [l], 2e6);
    const b = flow(s, fs, done, "b", [l], 2e6);
    s.at(1_000_000, () => {
      // each moved 5e8 * 1 ms = 5e5 B; a then has 1.5e6 B left alone at 1e9: 1.5 ms more.
      t.equal(b.cancel(), true);
      t.equal(b.cancel(), false);
      t.equal(b.fail(), false);
      t.equal(b.state, "cancelled");
      t.equal(b.remaining(), 1.5e6);
    });
    s.run();
    t.same(done, { a: 2_500_000 });
    t.end();
  });

  t.test("fail calls onFailed on an event at the same time", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    const seen: [number, unknown][] = [];
    let drained = false;
    const a = fs.start({ resources: [l], bytes: 1e6, onDrained: () => (drained = true), onFailed: (r) => seen.push([s.now, r]) });
    const b = fs.start({ resources: [l], bytes: 1e6, onDrained: () => (drained = true) });
    s.at(100, () => {
      t.equal(a.fail("boom"), true);
      t.equal(b.fail("quiet"), true);
      t.same(seen, []);
    });
    s.run();
    t.same(seen, [[100, "boom"]]);
    t.equal(a.state, "failed");
    t.equal(a.remaining(), 1e6 - 50);
    t.equal(drained, false);
    t.end();
  });

  t.test("setCapacity mid-flow; capacity 0 stalls", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    t.equal(fs.capacity(l), GB);
    t.equal(fs.resourceName(l), "l");
    const done: Record<string, number> = {};
    flow(s, fs, done, "a", [l], 2e6);
    // 1 ms at 1e9 (1e6 B), then stalled 1 ms, then 1e6 B at 5e8: 2 ms. Ends at 4 ms.
    s.at(1_000_000, () => fs.setCapacity(l, 0));
    s.at(1_000_000, () => fs.setCapacity(l, 0));
    s.at(2_000_000, () => {
      t.equal(s.pending, 0);
      fs.setCapacity(l, 5e8);
    });
    s.run();
    t.same(done, { a: 4_000_000 });
    t.end();
  });

  t.test("rates-changed listeners run after each recomputation", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    const rates: number[] = [];
    const off = fs.onRatesChanged(() => rates.push(fs.resourceRate(l)));
    fs.start({ resources: [l], bytes: 1e6, onDrained: () => {} });
    s.run();
    t.same(rates, [GB, 0]);
    off();
    off();
    fs.start({ resources: [l], bytes: 1e6, onDrained: () => {} });
    s.run();
    t.same(rates, [GB, 0]);
    t.end();
  });

  t.test("large transfers keep their precision (served counters are rebased)", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", 1e12);
    const done: Record<string, number> = {};
    flow(s, fs, done, "a", [l], 4e12);
    // At 1.5 s a has 2.5e12 B left; b (1e9 B) and a share 5e11 B/s each: b ends at 1.502 s.
    // a then has 2.5e12 - 1e9 = 2.499e12 B left at 1e12 B/s: 2.499 s more, 4.001 s.
    s.at(1_500_000_000, () => flow(s, fs, done, "b", [l], 1e9));
    s.run();
    t.same(done, { b: 1_502_000_000, a: 4_001_000_000 });
    t.end();
  });

  t.test("flows of several classes ending at one instant drain in id order", (t) => {
    const { s, fs } = setup();
    const l1 = fs.addResource("l1", GB);
    const l2 = fs.addResource("l2", GB);
    const order: string[] = [];
    fs.start({ resources: [l2], bytes: 1e6, onDrained: () => order.push("first") });
    fs.start({ resources: [l1], bytes: 1e6, onDrained: () => order.push("second") });
    fs.start({ resources: [l1], bytes: 3e6, onDrained: () => order.push("third") });
    s.run();
    t.same(order, ["first", "second", "third"]);
    t.end();
  });

  t.test("a removed flow from the middle of a class keeps the heap in order", (t) => {
    const { s, fs } = setup();
    const l = fs.addResource("l", GB);
    const order: number[] = [];
    const flows: Flow[] = [];
    for (const b of [5, 1, 4, 2, 3, 6, 7]) flows.push(fs.start({ resources: [l], bytes: b * 1e6, onDrained: () => order.push(b) }));
    s.at(1, () => {
      flows[2]!.cancel(); // 4
      flows[0]!.cancel(); // 5
    });
    s.run();
    t.same(order, [1, 2, 3, 6, 7]);
    t.end();
  });

  t.test("invalid arguments", (t) => {
    const { fs } = setup();
    const l = fs.addResource("l", GB);
    const code = (fn: () => unknown, c: string): void => {
      try {
        fn();
        t.fail("did not throw");
      } catch (e) {
        t.ok(e instanceof VmscnError);
        t.equal((e as VmscnError).code, c);
      }
    };
    code(() => fs.addResource("bad", -1), "VMSCN5011");
    code(() => fs.setCapacity(l, NaN), "VMSCN5011");
    code(() => fs.setCapacity(99, 1), "VMSCN5011");
    code(() => fs.start({ resources: [l], bytes: -1, onDrained: () => {} }), "VMSCN5011");
    code(() => fs.start({ resources: [l], bytes: Infinity, onDrained: () => {} }), "VMSCN5011");
    code(() => fs.start({ resources: [l], bytes: 1, maxRate: 0, onDrained: () => {} }), "VMSCN5011");
    code(() => fs.start({ resources: [7], bytes: 1, onDrained: () => {} }), "VMSCN5011");
    t.equal(fs.activeFlows, 0);
    t.end();
  });
    t.end();
  });
}

t.test("random networks: both solvers give the max-min fair allocation", (t) => {
  // Max-min fairness, checked from its definition: every resource within capacity, and every
  // flow either at its cap or crossing a saturated resource on which no flow gets more.
  const rnd = new RandomStreams(3).stream("fair-share-property");
  for (let trial = 0; trial < 20; trial++) {
    const nRes = 5 + rnd.int(80);
    const caps = Array.from({ length: nRes }, () => 1e6 * (1 + rnd.int(1000)));
    const specs = Array.from({ length: 20 + rnd.int(300) }, () => {
      const path = [...new Set(Array.from({ length: 1 + rnd.int(4) }, () => rnd.int(nRes)))];
      return { path, maxRate: rnd.int(4) === 0 ? 1e5 * (1 + rnd.int(10000)) : undefined };
    });
    const results: number[][] = [];
    for (const limit of [1000, 0]) {
      const s = new Scheduler();
      const fs = new FairShare(s);
      fs.scanLimit = limit;
      const ids = caps.map((c, i) => fs.addResource(`r${i}`, c));
      const flows = specs.map((sp) => fs.start({ resources: sp.path.map((i) => ids[i]!), bytes: 1e15, ...(sp.maxRate ? { maxRate: sp.maxRate } : {}), onDrained: () => {} }));
      s.run(0);
      const rates = flows.map((f) => f.rate);
      results.push(rates);
      const load = caps.map(() => 0);
      const maxOn = caps.map(() => 0);
      specs.forEach((sp, i) => {
        for (const r of sp.path) {
          load[r] += rates[i]!;
          maxOn[r] = Math.max(maxOn[r]!, rates[i]!);
        }
      });
      let bad = 0;
      caps.forEach((c, r) => {
        if (load[r]! > c * (1 + 1e-9)) bad++;
        if (Math.abs(fs.resourceRate(ids[r]!) - load[r]!) > c * 1e-9) bad++;
      });
      specs.forEach((sp, i) => {
        const rate = rates[i]!;
        if (sp.maxRate !== undefined && Math.abs(rate - sp.maxRate) <= sp.maxRate * 1e-9) return;
        const bottleneck = sp.path.some((r) => load[r]! >= caps[r]! * (1 - 1e-9) && rate >= maxOn[r]! * (1 - 1e-9));
        if (!bottleneck) bad++;
      });
      t.equal(bad, 0, `trial ${trial}, scan limit ${limit}: max-min fair`);
    }
    const diff = results[0]!.filter((r, i) => Math.abs(r - results[1]![i]!) > r * 1e-9).length;
    t.equal(diff, 0, `trial ${trial}: both solvers agree`);
  }
  t.end();
});

t.test("a change is solved in its component only, and gives what a solve from scratch gives", (t) => {
  // 200 links, each with its own flow: one more flow on link 0 solves link 0's classes only.
  const s = new Scheduler();
  const fs = new FairShare(s);
  const links = Array.from({ length: 200 }, (_, i) => fs.addResource(`l${i}`, GB));
  for (const l of links) fs.start({ resources: [l], bytes: 1e12, onDrained: () => {} });
  s.run(0);
  const before = fs.classesSolved;
  fs.start({ resources: [links[0]!, links[1]!], bytes: 1e12, onDrained: () => {} });
  s.run(1);
  t.equal(fs.classesSolved - before, 3, "the new class and the two it shares a link with");
  t.equal(fs.resourceRate(links[2]!), GB, "the others keep their rates");

  // Random flows starting and ending over time on a sparse network (many components): after
  // every instant, each active flow's rate equals the rate of the same flows solved afresh.
  const rnd = new RandomStreams(11).stream("fair-share-incremental");
  const modes = new Set<boolean>();
  for (let trial = 0; trial < 10; trial++) {
    const s = new Scheduler();
    const fs = new FairShare(s);
    fs.scanLimit = trial % 2 === 0 ? 64 : 0;
    const nRes = 20 + rnd.int(60);
    const caps = Array.from({ length: nRes }, () => 1e6 * (1 + rnd.int(1000)));
    const ids = caps.map((c, i) => fs.addResource(`r${i}`, c));
    const active = new Map<Flow, { path: number[]; maxRate?: number }>();
    const spec = () => {
      const first = rnd.int(nRes);
      const path = [...new Set([first, ...Array.from({ length: rnd.int(2) }, () => Math.min(nRes - 1, first + rnd.int(3)))])].map((i) => ids[i]!);
      return { path, ...(rnd.int(4) === 0 ? { maxRate: 1e5 * (1 + rnd.int(10000)) } : {}) };
    };
    const begin = () => {
      const sp = spec();
      const f: Flow = fs.start({ resources: sp.path, bytes: 1e5 * (1 + rnd.int(1000)), ...(sp.maxRate ? { maxRate: sp.maxRate } : {}), onDrained: () => active.delete(f) });
      active.set(f, sp);
    };
    // Half the trials start with more classes than the solver's global limit (128) and cross
    // it downwards as flows drain: both ways of finding the next completion, and the switch.
    for (let i = 0; i < (trial >= 5 ? 200 : 30); i++) begin();
    let wrong = 0;
    let checks = 0;
    for (let step = 0; step < 60; step++) {
      s.run(s.now + 1 + rnd.int(2_000_000));
      if (rnd.int(3) === 0 && active.size > 0) {
        const victim = [...active.keys()][rnd.int(active.size)]!;
        victim.cancel();
        active.delete(victim);
      }
      for (let i = rnd.int(4); i > 0; i--) begin();
      s.run(s.now);
      modes.add((fs as unknown as { dueHeapOn: boolean }).dueHeapOn);
      const fresh = new FairShare(new Scheduler());
      caps.forEach((c, i) => fresh.addResource(`r${i}`, c));
      const pairs = [...active].map(([f, sp]) => [f, fresh.start({ resources: sp.path, bytes: 1e15, ...(sp.maxRate ? { maxRate: sp.maxRate } : {}), onDrained: () => {} })] as const);
      (fresh as unknown as { scheduler: Scheduler }).scheduler.run(0);
      for (const [f, g] of pairs) {
        checks++;
        if (Math.abs(f.rate - g.rate) > g.rate * 1e-12) wrong++;
      }
    }
    t.equal(wrong, 0, `trial ${trial}: ${checks} rates equal a fresh solve's`);
  }
  t.same([...modes].sort(), [false, true], "instants with few classes (a scan finds the next completion) and with many (a heap)");
  t.end();
});
