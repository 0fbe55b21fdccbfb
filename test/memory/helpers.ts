import "reflect-metadata";
import { Scheduler } from "../../core/sim/scheduler.js";
import { Memory } from "../../core/memory/memory.js";
import { PAGE_SIZE } from "../../core/config.js";

/** A memory manager with hosts of the given sizes in frames (host ids 0, 1, ...). */
export function setup(...framesPerHost: number[]) {
  const scheduler = new Scheduler();
  const memory = new Memory(scheduler);
  framesPerHost.forEach((frames, id) => memory.addHost(id, `h${id}`, frames * PAGE_SIZE));
  return { scheduler, memory };
}
