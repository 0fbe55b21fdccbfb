import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Scheduler } from "../core/sim/scheduler.js";
import { RandomStreams } from "../core/sim/random.js";
import { Memory } from "../core/memory/memory.js";
import { PAGE_SIZE } from "../core/config.js";
import { seconds, type Benchmark } from "./harness.js";

const GiB = 1024 ** 3;

/** A 4 GiB guest with every page present, and a batch of random page numbers to write. */
function guestWithBatch() {
  const memory = new Memory(new Scheduler());
  memory.addHost(0, "a", 8 * GiB);
  const pages = (4 * GiB) / PAGE_SIZE;
  const g = memory.createGuest(0, "web", pages, 0);
  memory.populateAll(g, (p) => p + 1);
  const r = new RandomStreams(3).stream("bench");
  const batch = new Int32Array(1 << 20);
  for (let i = 0; i < batch.length; i++) batch[i] = r.int(pages);
  const contents = new Float64Array(batch.length).fill(12345);
  return { memory, g, batch, contents };
}

export const benchmarks: Benchmark[] = [
  {
    name: "memory.writes_per_s",
    unit: "writes/s",
    target: ">= 50000000",
    run() {
      const { memory, g, batch, contents } = guestWithBatch();
      const rounds = 40;
      memory.writeBatch(g, batch, contents, 0, batch.length); // warm-up
      const secs = seconds(() => {
        for (let r = 0; r < rounds; r++) memory.writeBatch(g, batch, contents, 0, batch.length);
      });
      return (rounds * batch.length) / secs;
    },
  },
  {
    name: "memory.tracked_writes_per_s",
    unit: "writes/s",
    target: ">= 10000000",
    run() {
      // Under a dirty log: every round re-arms the pages it reports, so each round's first
      // write to a page takes the write-protect fault path again.
      const { memory, g, batch, contents } = guestWithBatch();
      const log = g.openLog("bench");
      const rounds = 20;
      let faults = 0;
      const secs = seconds(() => {
        for (let r = 0; r < rounds; r++) {
          memory.writeBatch(g, batch, contents, 0, batch.length);
          faults += log.count;
          log.readAndClear();
        }
      });
      if (faults === 0) throw new Error("no write faulted: the benchmark measured nothing");
      return (rounds * batch.length) / secs;
    },
  },
  {
    name: "memory.map_64gib_s",
    unit: "s",
    target: "peak <= 1024 MiB",
    run() {
      // A child process, so the peak RSS is this measurement's alone.
      const script = fileURLToPath(new URL("./map64.ts", import.meta.url));
      const loader = fileURLToPath(new URL("../test/loader/register.mjs", import.meta.url));
      const r = spawnSync(process.execPath, ["--import", loader, script], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`map64 failed: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
    },
  },
];
