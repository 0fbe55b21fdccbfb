// Guest disk IO on a VM's disks (`disk writes 20 MB/s sequential`), issued per tick while the
// VM runs, with a bounded queue of IOs in flight.
import type { EventHandle, Scheduler } from "../sim/scheduler.js";
import type { Random, RandomStreams } from "../sim/random.js";
import type { RunConfig } from "../config.js";
import type { SimFile } from "../storage/storage.js";
import type { World } from "../world/world.js";
import { VmscnError } from "../errors.js";
import type { DiskActivity } from "./spec.js";

/** What the disk IO of a VM needs of its workload: the world, the engine's services, the figures. */
export interface DiskIoOwner {
  readonly world: World;
  readonly engine: { readonly scheduler: Scheduler; readonly streams: RandomStreams; readonly config: RunConfig };
  readonly stats: { diskReads: number; diskWrites: number; diskBytesRead: number; diskBytesWritten: number; diskErrors: number };
}

interface DiskStream {
  spec: DiskActivity;
  ioBytes: number;
  queueDepth: number;
  carry: number;
  inflight: number;
  cursor: number;
  rng: Random;
}

/**
 * A VM's guest disk IO: every tick while the VM runs, each activity issues the IOs its rate
 * has accrued, up to its queue depth, on the disk as the VM sees it now (a migration that
 * copies a disk swaps the file). IO the storage refuses (host down, datastore unreachable)
 * is counted as an error, not thrown: the guest sees an IO error, the run goes on.
 */
export class DiskIo {
  private readonly streams: DiskStream[];
  private timer: EventHandle | null = null;
  private last = 0;

  constructor(
    private readonly vm: DiskIoOwner,
    specs: readonly DiskActivity[],
    private readonly disks: () => readonly SimFile[],
  ) {
    const world = vm.world;
    this.streams = specs.map((spec, i) => ({
      spec,
      ioBytes: spec.ioBytes ?? DEFAULT_IO_BYTES,
      queueDepth: spec.queueDepth ?? DEFAULT_QUEUE_DEPTH,
      carry: 0,
      inflight: 0,
      cursor: 0,
      rng: vm.engine.streams.stream(`vm:${world.name}:disk${i}`),
    }));
  }

  start(now: number): void {
    if (this.timer || this.vm.world.state !== "running") return;
    this.last = now;
    this.timer = this.vm.engine.scheduler.at(now + this.vm.engine.config.tickNs, () => this.onTick());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private onTick(): void {
    this.timer = null;
    const e = this.vm.engine;
    const world = this.vm.world;
    if (world.state !== "running") return;
    const now = e.scheduler.now;
    const elapsed = now - this.last;
    this.last = now;
    for (const s of this.streams) {
      s.carry = Math.min(s.carry + (s.spec.rate * elapsed) / 1e9, s.queueDepth * s.ioBytes);
      while (s.carry >= s.ioBytes && s.inflight < s.queueDepth) {
        s.carry -= s.ioBytes;
        this.issue(s);
      }
    }
    this.timer = e.scheduler.at(now + e.config.tickNs, () => this.onTick());
  }

  private issue(s: DiskStream): void {
    const stats = this.vm.stats;
    const file = this.disks()[s.spec.disk ?? 0];
    if (file === undefined) {
      stats.diskErrors++;
      return;
    }
    const blocks = Math.max(1, Math.floor(file.size / s.ioBytes));
    const len = Math.min(s.ioBytes, file.size);
    let block: number;
    if (s.spec.pattern === "sequential") {
      block = s.cursor % blocks;
      s.cursor = block + 1;
    } else block = s.rng.int(blocks);
    const host = this.vm.world.host.name;
    const fail = () => {
      s.inflight--;
      stats.diskErrors++;
    };
    try {
      if (s.spec.op === "read") {
        file.read(host, block * s.ioBytes, len, () => {
          s.inflight--;
          stats.diskReads++;
          stats.diskBytesRead += len;
        }, fail, { data: false });
      } else {
        file.write(host, block * s.ioBytes, len, () => {
          s.inflight--;
          stats.diskWrites++;
          stats.diskBytesWritten += len;
        }, fail);
      }
      s.inflight++;
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      stats.diskErrors++;
    }
  }
}

const DEFAULT_IO_BYTES = 64 * 1024;
const DEFAULT_QUEUE_DEPTH = 32;
