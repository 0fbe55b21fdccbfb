// One checkpoint save, after the document's figures 2A, 4 and 6: the main thread (steps
// 401-406). Its parts follow the document's steps: the capture (accessed bits, quiesce, the
// pages' contents, traces, resume: capture.ts), the buffers and the threads that fill them (vCPU
// save threads, background threads: buffers.ts), and the file writer (IO blocks, maps,
// header: writer.ts). The save's one state says which step it is in; the parts read it.
import { formatTime, type Cause, type GuestMemory, type PluginContext, type World } from "../../../core/api.js";
import type { CompressionSession } from "../../compression/api.js";
import { NO_BLOCK, geometry, type Geometry } from "../format.js";
import type { CheckpointOptions } from "../options.js";
import { PLUGIN, Throttle, step, type CheckpointFile } from "../shared.js";
import { StoreRefusal } from "../store.js";
import { Capture } from "./capture.js";
import { SaveThreads } from "./buffers.js";
import { FileWriter } from "./writer.js";

export type SaveState = "sampling" | "quiescing" | "active" | "finishing" | "completed" | "failed";

/** The steps a save goes through; any step may fail. */
const NEXT: Readonly<Record<SaveState, readonly SaveState[]>> = {
  sampling: ["quiescing", "failed"],
  quiescing: ["active", "failed"],
  active: ["finishing", "failed"],
  finishing: ["completed", "failed"],
  completed: [],
  failed: [],
};

export class Save {
  state: SaveState = "sampling";
  failure: string | undefined;
  failureCode: string | undefined;
  readonly startedAt: number;
  quiescedAt: number | undefined;
  resumedAt: number | undefined;
  completedAt: number | undefined;
  backgroundAt: number | undefined;
  readonly g: Geometry;
  readonly pages: number;
  readonly blocks: number;
  readonly guest: GuestMemory;
  readonly host: string;
  /** Contents of every page at the checkpoint. */
  snapshot: Float64Array | null = null;
  /** The maps, as the file will hold them. */
  readonly memIo: Float64Array;
  readonly ioMem: Uint32Array;
  readonly firstPart: number[] = [];
  readonly secondPart: number[] = [];
  /** 0 waiting, 1 captured (in a buffer or being written), 2 in the file, 3 encoded up front. */
  readonly blockState: Uint8Array;
  /** Figures for the report. */
  readonly c = { traceFaults: 0, vcpuBlocks: 0, backgroundBlocks: 0, zeroBlocks: 0, zeroPages: 0, untouchedPages: 0, contentPages: 0, vcpuStallNs: 0, vcpuWaits: 0, ioWrites: 0, bytesWritten: 0, sampledPages: 0, quiesceNs: 0 };
  fileLength = 0;
  readonly throttle: Throttle;
  readonly capture: Capture;
  readonly threads: SaveThreads;
  readonly writer: FileWriter;

  constructor(
    readonly k: PluginContext,
    readonly world: World,
    readonly o: CheckpointOptions,
    readonly file: CheckpointFile,
    readonly session: CompressionSession | null,
    readonly seq: number,
    private readonly onEnd: (s: Save) => void,
  ) {
    this.startedAt = k.scheduler.now;
    this.guest = world.memory!;
    this.host = world.host.name;
    this.pages = this.guest.pages;
    this.g = geometry(o.pagesPerBlock, o.blocksPerIo);
    this.blocks = Math.ceil(this.pages / o.pagesPerBlock);
    this.memIo = new Float64Array(this.blocks);
    this.ioMem = new Uint32Array(FileWriter.maxIoBlocks(this.blocks, o, world.vcpus) * o.blocksPerIo).fill(NO_BLOCK);
    this.blockState = new Uint8Array(this.blocks);
    this.capture = new Capture(this);
    this.threads = new SaveThreads(this);
    this.writer = new FileWriter(this);
    this.throttle = new Throttle(k, file.datastore, o.throttle, Math.max(1, o.backgroundThreads));
  }

  /** The most bytes the file's maps can take (the memory-IO map, the IO-memory map, the part table). */
  static mapsBytes(pages: number, o: CheckpointOptions, vcpus: number): number {
    const blocks = Math.ceil(pages / o.pagesPerBlock);
    return blocks * 8 + FileWriter.maxIoBlocks(blocks, o, vcpus) * (o.blocksPerIo * 4 + 4);
  }

  /** The datastore space the save reserves: the uncompressed worst case. */
  static capacity(pages: number, deviceBytes: number, o: CheckpointOptions, vcpus: number): number {
    return FileWriter.capacity(pages, deviceBytes, o, vcpus);
  }

  get ended(): boolean {
    return this.state === "completed" || this.state === "failed";
  }

  to(next: SaveState): void {
    this.state = step(NEXT, this.state, next, `the save of "${this.world.name}"`);
  }

  /** A step of the save later on; nothing happens once the save has ended. */
  after(ns: number, fn: () => void, hook: string): void {
    this.k.after(ns, () => {
      if (!this.ended) fn();
    }, hook);
  }

  start(): void {
    this.capture.start();
  }

  /** A traced page was touched (while accessed bits are gathered: that sets its bit). */
  fault(page: number, vcpu: number, kind: string): number {
    if (this.state === "sampling") return kind === "access-trace" ? this.capture.sample(page) : 0;
    return this.threads.fault(page, vcpu);
  }

  /** Step 440: every block captured and written: the vCPUs' partial buffers, then the maps, then the header. */
  checkFinish(): void {
    if (this.state !== "active" || this.capture.remaining > 0 || this.writer.inflight.size > 0 || !this.threads.settled()) return;
    this.to("finishing");
    const partial = this.threads.partialBuffers();
    let left = partial.length + 1;
    const next = (): void => {
      if (--left === 0) this.writer.finish();
    };
    for (const [b, v] of partial) this.writer.flush(b, 1, v, next);
    next();
  }

  /** Step 406: the file is complete; the threads stop and the action is done. */
  complete(fileLength: number): void {
    try {
      // The real file takes its final name only now: it never looks complete before it is.
      this.file.store.commit();
    } catch (err) {
      if (err instanceof StoreRefusal) this.fail(err.code, `checkpoint file "${this.file.key}" could not take its final name: ${err.message}`);
      else this.fail("VMSCN7309", `checkpoint file "${this.file.key}" could not take its final name: ${(err as Error).message}`);
      return;
    }
    this.to("completed");
    this.completedAt = this.k.scheduler.now;
    this.fileLength = fileLength;
    this.file.busy = false;
    this.file.snapshot = this.snapshot;
    this.threads.stopWorlds();
    if (this.o.mode === "suspend") {
      this.capture.resume(this.o.after === "running");
      this.resumedAt = this.k.scheduler.now;
      this.k.trace.span("checkpoint downtime", "checkpoint", { host: this.host, world: this.world.name }, this.quiescedAt!, this.resumedAt, { file: this.file.key });
    }
    this.k.trace.span("checkpoint save", "checkpoint", { host: this.host, world: this.world.name }, this.startedAt, this.completedAt, { file: this.file.key, bytes: fileLength });
    this.onEnd(this);
  }

  /** The VM stopped or moved, or a helper world died, other than by this plugin: the save cannot finish. */
  worldChanged(w: World, why: "stopped" | "moved", cause: Cause): void {
    if (this.ended || cause.by === PLUGIN) return;
    const at = formatTime(this.k.scheduler.now);
    if (w === this.world) this.fail("VMSCN7309", `the save of "${this.world.name}" to "${this.file.key}" stopped: the VM ${why === "moved" ? "moved to another host" : "stopped"} at ${at}${w.failure ? ` (${w.failure})` : ""}`);
    else if (this.threads.hasWorld(w)) this.fail("VMSCN7309", `the save of "${this.world.name}" to "${this.file.key}" stopped: its background thread "${w.name}" died at ${at}${w.failure ? ` (${w.failure})` : ""}, losing the blocks in its buffer`);
  }

  /** Everything stops; the VM goes on as it was (its traces lifted); the file stays incomplete. */
  fail(code: string, message: string): void {
    if (this.ended) return;
    const was = this.state;
    this.to("failed");
    this.failureCode = code;
    this.failure = message;
    this.completedAt = this.k.scheduler.now;
    this.file.busy = false;
    this.file.failed = true;
    this.writer.abandon();
    if (this.world.memory === this.guest) this.capture.liftTraces(was === "sampling");
    // Wherever the VM is now (it may have moved): vCPUs parked on a trace fault wait no more,
    // and the save's hold on its suspension ends.
    this.threads.wakeAll();
    if (this.world.state !== "stopped") this.capture.resume();
    this.threads.stopWorlds();
    this.k.trace.instant("checkpoint save failed", "checkpoint", { world: this.world.name }, this.completedAt, { reason: message });
    this.onEnd(this);
  }
}
