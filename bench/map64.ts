// Two 64 GiB hosts and a 64 GiB guest (16,777,216 pages); map every page. Prints JSON.
import "reflect-metadata";
import { Scheduler } from "../core/sim/scheduler.js";
import { Memory } from "../core/memory/memory.js";
import { PAGE_SIZE } from "../core/config.js";
import { peakRssMiB, seconds } from "./harness.js";

const GiB = 1024 ** 3;
let mapped = 0;
const secs = seconds(() => {
  const memory = new Memory(new Scheduler());
  memory.addHost(0, "a", 64 * GiB);
  memory.addHost(1, "b", 64 * GiB);
  const pages = (64 * GiB) / PAGE_SIZE;
  const g = memory.createGuest(0, "big", pages, 0);
  memory.populateAll(g, (p) => p + 1);
  mapped = memory.machine(0).used;
  if (mapped !== pages) throw new Error(`mapped ${mapped} of ${pages} pages`);
});
console.log(JSON.stringify({ "memory.map_64gib_s": secs, "memory.map_64gib_peak_mib": peakRssMiB(), "memory.map_64gib_pages": mapped }));
