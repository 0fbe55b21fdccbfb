import { Scheduler } from "../core/sim/scheduler.js";
import { RandomStreams } from "../core/sim/random.js";
import { seconds, type Benchmark } from "./harness.js";

export const benchmarks: Benchmark[] = [
  {
    name: "scheduler.events_per_s",
    unit: "events/s",
    target: ">= 5000000",
    run() {
      // A steady population of 10,000 pending events; each event schedules one more at a
      // random later time (push + pop per event, mixed times, some ties).
      const s = new Scheduler();
      const r = new RandomStreams(7).stream("bench");
      const total = 3_000_000;
      let left = total;
      const tick = (): void => {
        if (--left > 0) s.after(r.int(1000), tick);
      };
      for (let i = 0; i < 10_000; i++) s.at(r.int(1000), tick);
      const secs = seconds(() => s.run());
      return s.executed / secs;
    },
  },
];
