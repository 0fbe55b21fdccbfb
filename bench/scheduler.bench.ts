import { Scheduler } from "../core/sim/scheduler.js";
import { RandomStreams } from "../core/sim/random.js";
import { seconds, type Benchmark } from "./harness.js";

/**
 * Each event schedules one more at a random later time (push + pop per event, mixed times,
 * some ties), over a steady population of `pending` events.
 */
function eventsPerSecond(pending: number, total: number): number {
  const s = new Scheduler();
  const r = new RandomStreams(7).stream("bench");
  let left = total;
  const tick = (): void => {
    if (--left > 0) s.after(r.int(1000), tick);
  };
  for (let i = 0; i < pending; i++) s.at(r.int(1000), tick);
  const secs = seconds(() => s.run());
  return s.executed / secs;
}

export const benchmarks: Benchmark[] = [
  {
    // 1,000 pending events is a large scenario's population (250 VMs × 4 vCPU ticks);
    // the 100,000 figure shows how the heap's depth costs beyond that.
    name: "scheduler.events_per_s",
    unit: "events/s",
    target: ">= 5000000",
    run: () => ({
      "scheduler.events_per_s": eventsPerSecond(1_000, 3_000_000),
      "scheduler.events_per_s_100k_pending": eventsPerSecond(100_000, 3_000_000),
    }),
  },
];
