// One lazy restore, after the document's figures 2B, 5 and 7: the main thread (steps 501-504).
// Its parts follow the document's steps: opening the file (the header, the device state and
// the maps read and checked, the pages made absent, the VM resumed: open.ts), the vCPUs'
// demand faults (demand.ts), the buffer pool IO blocks are read into (pool.ts), loading a
// memory block into guest memory (load.ts) and the background threads' prefetch
// (prefetch.ts). Completion and failure are here. The restore's one state says which step it
// is in; the parts read it.
import { VmscnError, formatTime, kernelError, type Cause, type DirtyLog, type GuestMemory, type IoRequest, type PluginContext, type World } from "../../../core/api.js";
import type { CompressionService, CompressionSession } from "../../compression/api.js";
import type { MapIndex, Maps } from "../blocks.js";
import type { Geometry, Header } from "../format.js";
import type { RestoreOptions } from "../options.js";
import { PLUGIN, Throttle, step, type CheckpointFile } from "../shared.js";
import { DemandFaults } from "./demand.js";
import { Loader } from "./load.js";
import { Opening } from "./open.js";
import { BufferPool } from "./pool.js";
import { Prefetch } from "./prefetch.js";

export type RestoreState = "reading" | "active" | "completed" | "failed";

/** Before resume a failure is a refusal (the VM is as it was); after it, the VM stops. */
const NEXT: Readonly<Record<RestoreState, readonly RestoreState[]>> = {
  reading: ["active", "failed"],
  active: ["completed", "failed"],
  completed: [],
  failed: [],
};

const NO_BYTES = new Uint8Array(0);

/** Memory block states. */
export const ABSENT = 0;
export const BUSY = 1;
export const LOADED = 2;

export class Restore {
  state: RestoreState = "reading";
  failure: string | undefined;
  failureCode: string | undefined;
  readonly startedAt: number;
  resumedAt: number | undefined;
  completedAt: number | undefined;
  header: Header | null = null;
  maps: (Maps & MapIndex) | null = null;
  g: Geometry | null = null;
  readonly guest: GuestMemory;
  readonly host: string;
  readonly verify: boolean;
  readonly throttle: Throttle;
  readonly c = { faults: 0, faultWaits: 0, waitNs: 0, ioReads: 0, ioReadsDemand: 0, ioReadsBackground: 0, vcpuBlocks: 0, backgroundBlocks: 0, zeroBlocks: 0, bufferWaits: 0, evictions: 0, bytesRead: 0, verifiedPages: 0, decompressNs: 0 };
  firstPartDoneAt: number | undefined;
  secondPartStartAt: number | undefined;
  /** When a background thread first fetched an IO block of the second part. */
  backgroundSecondAt: number | undefined;
  session: CompressionSession | null = null;
  /** What the restore knows of each block, set once the file is open: memory blocks (ABSENT, BUSY, LOADED). */
  mbState = new Uint8Array(0);
  /** IO blocks: 0 not fetched, 1 being read, 2 in a buffer, 3 loaded and its buffer free. */
  ioState = new Uint8Array(0);
  /** The part (1, 2) each IO block is in. */
  partOf: Uint8Array = new Uint8Array(0);
  /** Memory blocks still to load, and of them those in the first part. */
  toLoad = 0;
  firstPartLeft = 0;
  /** vCPUs waiting for each memory block (vCPU, since, ...). */
  readonly waiters = new Map<number, number[]>();
  /** Each page's contents as restored (the final check compares the guest with them). */
  expected: Float64Array | null = null;
  /** Pages the guest wrote since it resumed (with verify). */
  log: DirtyLog | null = null;
  private readonly inflight = new Set<IoRequest>();
  readonly opening: Opening;
  readonly demand: DemandFaults;
  readonly pool: BufferPool;
  readonly loader: Loader;
  readonly prefetch: Prefetch;

  constructor(
    readonly k: PluginContext,
    readonly world: World,
    readonly o: RestoreOptions,
    readonly file: CheckpointFile,
    readonly svc: CompressionService,
    readonly seq: number,
    private readonly onEnd: (r: Restore) => void,
  ) {
    this.startedAt = k.scheduler.now;
    this.guest = world.memory!;
    this.host = world.host.name;
    this.verify = o.verify || k.config.checkInvariants;
    this.throttle = new Throttle(k, file.datastore, o.throttle, Math.max(1, o.backgroundThreads));
    this.opening = new Opening(this);
    this.demand = new DemandFaults(this);
    this.pool = new BufferPool(this);
    this.loader = new Loader(this);
    this.prefetch = new Prefetch(this);
  }

  get ended(): boolean {
    return this.state === "completed" || this.state === "failed";
  }

  to(next: RestoreState): void {
    this.state = step(NEXT, this.state, next, `the restore of "${this.world.name}"`);
  }

  /** A step of the restore later on; nothing happens once the restore has ended. */
  after(ns: number, fn: () => void, hook: string): void {
    this.k.after(ns, () => {
      if (!this.ended) fn();
    }, hook);
  }

  /** The file as errors name it. */
  where(): string {
    return this.file.store.path ?? this.file.key;
  }

  start(): void {
    this.opening.start();
  }

  /** A vCPU touched a page not yet restored. */
  fault(page: number, vcpu: number): number {
    return this.demand.fault(page, vcpu);
  }

  /** The IO block memory block `mb` is in (the memory-IO map). */
  ioOf(mb: number): number {
    return (this.maps!.memIo[mb]! - this.header!.ioAreaOffset) / this.header!.ioBlockSize;
  }

  /** A timed read; the bytes come from the file when it completes (with `withBytes` false, the caller reads them itself). */
  readTimed(offset: number, length: number, then: (bytes: Uint8Array) => void, withBytes = true, into?: Uint8Array): void {
    if (this.ended) return;
    let io: IoRequest;
    try {
      io = this.file.sim.read(this.host, offset, Math.min(length, Math.max(0, this.file.sim.size - offset)), () => {
        this.inflight.delete(io);
        if (this.ended) return;
        let bytes: Uint8Array;
        try {
          bytes = withBytes ? this.file.store.read(offset, length, into) : NO_BYTES;
        } catch (err) {
          // The real file went away or was replaced under the run (store.ts): the read fails.
          this.fail("VMSCN7309", `reading checkpoint file "${this.where()}" at offset ${offset} failed: ${(err as Error).message}`);
          return;
        }
        this.c.bytesRead += length;
        then(bytes);
      }, (err) => {
        this.inflight.delete(io);
        this.fail("VMSCN7309", `reading checkpoint file "${this.where()}" at offset ${offset} failed: ${err.message}`);
      }, { data: false });
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      this.fail("VMSCN7309", `cannot read checkpoint file "${this.where()}" at offset ${offset}: ${err.message}`);
      return;
    }
    this.inflight.add(io);
  }

  // ---- completion and failure ---------------------------------------------------------------

  /** Step 504: every block is loaded: the threads stop and the action is done. */
  checkDone(): void {
    if (this.state !== "active" || this.toLoad > 0 || this.resumedAt === undefined) return;
    this.to("completed");
    this.completedAt = this.k.scheduler.now;
    this.prefetch.stopAll();
    if (this.log) this.finalCheck();
    this.k.trace.span("checkpoint restore", "checkpoint", { host: this.host, world: this.world.name }, this.startedAt, this.completedAt, { file: this.file.key });
    this.onEnd(this);
  }

  /** Every page the guest has not written since it resumed holds what the checkpoint holds. */
  private finalCheck(): void {
    const dirty = new Uint8Array(this.guest.pages);
    const pages = this.log!.readAndClear();
    for (let i = 0; i < pages.length; i++) dirty[pages[i]!] = 1;
    this.log!.close();
    this.log = null;
    const snap = this.file.snapshot;
    for (let p = 0; p < this.guest.pages; p++) {
      if (dirty[p]) continue;
      const c = this.k.memory.peek(this.guest, p);
      if (c !== this.expected![p] || (snap && c !== snap[p])) {
        throw kernelError("VMSCN5014", `restore of "${this.world.name}": page ${p} holds ${c}, not the checkpoint's ${snap ? snap[p] : this.expected![p]}`, { time: this.k.scheduler.now, where: this.world.label });
      }
    }
  }

  /** Before the VM changed: the action fails and the VM is as it was. */
  refuse(code: string, message: string): void {
    if (this.ended) return;
    this.to("failed");
    this.failureCode = code;
    this.failure = message;
    this.completedAt = this.k.scheduler.now;
    this.cancelReads();
    this.onEnd(this);
  }

  /** After resume the VM cannot run without its memory: it stops, its frames are freed. Before, a refusal. */
  fail(code: string, message: string): void {
    if (this.ended) return;
    if (this.state === "reading") return this.refuse(code, message);
    this.to("failed");
    this.failureCode = code;
    this.failure = message;
    this.completedAt = this.k.scheduler.now;
    this.cancelReads();
    this.prefetch.stopAll();
    this.log?.close();
    this.log = null;
    const w = this.world;
    if (w.memory === this.guest) {
      w.failure = this.k.error(code, `checkpoint restore: ${message}`, w.label).describe();
      if (w.state !== "stopped") this.k.cluster.setState(w, "stopped");
      this.k.memory.releaseAll(this.guest);
      this.k.memory.wake(this.guest);
    }
    this.waiters.clear();
    this.k.trace.instant("checkpoint restore failed", "checkpoint", { world: w.name }, this.completedAt, { reason: message });
    this.onEnd(this);
  }

  private cancelReads(): void {
    for (const io of [...this.inflight]) io.cancel();
    this.inflight.clear();
  }

  /** The VM stopped or moved, or a background thread died, other than by this plugin. */
  worldChanged(w: World, why: "stopped" | "moved", cause: Cause): void {
    if (this.ended || cause.by === PLUGIN) return;
    if (w === this.world) {
      const at = formatTime(this.k.scheduler.now);
      this.fail("VMSCN7309", `the restore of "${w.name}" from "${this.where()}" stopped: the VM ${why === "moved" ? "moved" : "stopped"} at ${at}${w.failure ? ` (${w.failure})` : ""}`);
      return;
    }
    this.prefetch.died(w);
  }
}
