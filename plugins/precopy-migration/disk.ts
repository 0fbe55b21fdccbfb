// The disks of a migration that the destination cannot reach, moved with the techniques the
// document gives for memory ("pre-copy of blocks, then on demand"), in QEMU block migration's
// way: a bulk phase sends every block once, with a dirty-block log open before it starts;
// then each pre-copy round ends with a dirty pass re-sending the blocks the guest wrote since
// they were sent; at switch-over the blocks still dirty are sent while the VM is suspended
// (stop-and-copy), or left absent in the destination's file and fetched after resume: on
// demand when a guest IO touches one (the kernel parks the IO until the block is filled) and
// by the background thread (disk-postcopy.ts). The migration drives this class through DiskPort.
import { type AbsentBlocks, type DiskDirtyLog, type Host, type IoRequest, type PluginContext, type SimFile, VmscnError, type World } from "../../core/api.js";
import { DiskPostCopy } from "./disk-postcopy.js";
import { DISK_BLOCK_BYTES, DISK_BLOCK_HEADER_BYTES } from "./wire.js";

export { DISK_BLOCK_BYTES, DISK_BLOCK_HEADER_BYTES };

/** A disk the destination cannot reach, to be copied onto `datastore` as file `name`. */
export interface DiskCopyPlan {
  source: SimFile;
  datastore: string;
  name: string;
}

/** What the migration gives the disk copy. */
export interface DiskPort {
  /** Sends bytes from the source to the destination on the migration's connection (its cap, transport and failure handling). */
  send(bytes: number, initiator: "source" | "destination", label: string, onDone: () => void): void;
  /** An IO of the copy failed or was refused: the migration fails as for a failed transfer. */
  failed(err: VmscnError): void;
  /** After resume: the last absent block has arrived. */
  settled(): void;
  /** The migration ended: callbacks still under way do nothing. */
  readonly done: boolean;
}

export interface DiskOptions {
  /** Pre-copy may end once at most this many blocks are dirty (`disk-threshold`). */
  threshold: number;
  /** A block of zeros crosses as its header only (QEMU's `zero-blocks` capability). */
  zeroBlocks: boolean;
  /** Bytes of header a block carries on the wire (`wire`: 8, or 0 for raw). */
  blockHeader: number;
}

/** Convergence reasons that give up rather than converge: the disk's dirty blocks do not hold them back. */
const GIVE_UP = new Set(["max-rounds", "no-progress", "max-iterations", "sent-3x"]);

export interface DiskPass {
  blocks: number;
  bytes: number;
  startNs: number;
  durationNs: number;
}

type Phase = "setup" | "bulk" | "precopy" | "downtime" | "postcopy" | "ended";

export interface Disk {
  plan: DiskCopyPlan;
  source: SimFile;
  target: SimFile | null;
  blocks: number;
  log: DiskDirtyLog | null;
  /** 1 once the destination holds a copy of the block (it may have been dirtied since). */
  sent: Uint8Array;
  /** After resume: the destination's absent blocks, and whether a fetch of each is under way. */
  absent: AbsentBlocks | null;
  fetching: Uint8Array | null;
  /** The background thread's cursor. */
  bg: number;
}

export class DiskMigration {
  readonly disks: Disk[];
  readonly total: number;
  /** Counters, QEMU's names where it has them (see the README's "Disk" section). */
  readonly c = { transferred: 0, duplicate: 0, normal: 0, precopyBytes: 0, downtimeBytes: 0, postcopyBytes: 0, bulkBlocks: 0, resentBlocks: 0, downtimeBlocks: 0, requests: 0, backgroundBlocks: 0, syncs: 0 };
  readonly passes: DiskPass[] = [];
  startNs: number | undefined;
  bulkEndNs: number | undefined;
  endNs: number | undefined;
  phase: Phase = "setup";
  bulkStartNs: number | undefined;
  /** The block being copied before resume (read, not yet written on the destination). */
  private current: { d: Disk; b: number } | null = null;
  /** The figures frozen when the copy ended by a failure: bytes remaining, absent blocks. */
  private leftAtEnd = 0;
  private blocksLeftAtEnd = 0;
  /** IOs of the copy itself in flight (cancelled when it stops). */
  private readonly ios = new Set<IoRequest>();
  /** After the resume: fetches on demand and in the background. */
  private readonly post = new DiskPostCopy(this);

  constructor(
    readonly k: PluginContext,
    readonly world: World,
    readonly src: Host,
    readonly dest: Host,
    plans: readonly DiskCopyPlan[],
    readonly port: DiskPort,
    readonly o: DiskOptions,
  ) {
    this.disks = plans.map((plan) => {
      const blocks = Math.ceil(plan.source.size / DISK_BLOCK_BYTES);
      return { plan, source: plan.source, target: null, blocks, log: null, sent: new Uint8Array(blocks), absent: null, fetching: null, bg: 0 };
    });
    this.total = plans.reduce((s, p) => s + p.source.size, 0);
  }

  /** The copies, `datastore/name` (planned from the request on). */
  get names(): string[] {
    return this.disks.map((d) => `${d.plan.datastore}/${d.plan.name}`);
  }

  /**
   * Setup is over: the destination's new files are created, and dirty-block logs opened on the
   * source's disks so that no write from now on is missed. False (the migration failed) if a
   * file cannot be created.
   */
  start(): boolean {
    this.startNs = this.k.scheduler.now;
    try {
      for (const d of this.disks) {
        d.target = this.k.storage.createFile(d.plan.datastore, d.plan.name, d.source.size);
        d.log = d.source.openDirtyLog(DISK_BLOCK_BYTES);
      }
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      this.later(err);
      return false;
    }
    return true;
  }

  /** The bulk phase: every block crosses once, in order; a block is clean in the log from the moment it is read. */
  bulk(then: () => void): void {
    this.phase = "bulk";
    this.bulkStartNs = this.k.scheduler.now;
    let i = 0;
    let b = 0;
    const next = (): void => {
      while (i < this.disks.length && b >= this.disks[i]!.blocks) {
        i++;
        b = 0;
      }
      if (i >= this.disks.length) {
        this.bulkEndNs = this.k.scheduler.now;
        this.k.trace.span("disk bulk", "migration", { host: this.src.name, world: this.world.name }, this.bulkStartNs!, this.bulkEndNs, { blocks: this.c.bulkBlocks });
        this.phase = "precopy";
        then();
        return;
      }
      const d = this.disks[i]!;
      const block = b++;
      this.c.bulkBlocks++;
      this.copy(d, block, "precopy", next);
    };
    next();
  }

  /**
   * A dirty pass, at the end of a pre-copy round: walks the logs in block order and re-sends
   * each dirty block (clearing it as it is read, as QEMU's dirty phase); blocks written behind
   * the walk wait for the next pass. `then` gets the pass's bytes on the wire.
   */
  pass(then: (bytes: number) => void): void {
    this.c.syncs++;
    const stat: DiskPass = { blocks: 0, bytes: 0, startNs: this.k.scheduler.now, durationNs: 0 };
    this.passes.push(stat);
    const before = this.c.transferred;
    this.walk("precopy", (n) => {
      stat.blocks = n;
      stat.bytes = this.c.transferred - before;
      stat.durationNs = this.k.scheduler.now - stat.startNs;
      this.c.resentBlocks += n;
      then(stat.bytes);
    });
  }

  /** Dirty blocks now (what a pass or the switch-over would send). */
  get dirty(): number {
    let n = 0;
    for (const d of this.disks) n += d.log?.count ?? 0;
    return n;
  }

  /** Whether the disk lets pre-copy end for `reason`: few enough dirty blocks, or a rule that gives up. */
  allows(reason: string): boolean {
    return GIVE_UP.has(reason) || this.dirty <= this.o.threshold;
  }

  /**
   * The VM is suspended: the guest's IOs on the source's disks drain (QEMU drains block IO when
   * it stops the VM), the logs are read a last time and closed; with stop-and-copy the dirty
   * blocks are sent now, else they are left for after resume.
   */
  switchOver(stopAndCopy: boolean, then: () => void): void {
    let waiting = this.disks.length;
    const drained = (): void => {
      if (--waiting > 0 || this.phase === "ended" || this.port.done) return;
      this.c.syncs++;
      if (stopAndCopy) {
        this.phase = "downtime";
        this.walk("downtime", (n) => {
          this.c.downtimeBlocks += n;
          this.c.resentBlocks += n;
          this.closeLogs();
          then();
        });
      } else then();
    };
    if (waiting === 0) return then();
    for (const d of this.disks) d.source.drain(drained);
  }

  /**
   * Steps 10, 11 for the disks: the VM now uses the destination's files. Blocks never sent or
   * dirty since are absent there: a guest IO touching one waits for its fetch; with
   * `background` the background thread pulls them in order (disk-postcopy.ts). The source's
   * files are kept.
   */
  resume(background: boolean): void {
    this.post.resume(background);
  }

  /** After resume: absent blocks left on the destination (0 once the copy ended). */
  get pending(): number {
    return this.phase === "postcopy" ? this.absentBlocks() : 0;
  }

  private absentBlocks(): number {
    let n = 0;
    for (const d of this.disks) n += d.absent?.count ?? 0;
    return n;
  }

  /** Bytes of blocks the destination does not have as the source has them. */
  remainingBytes(): number {
    switch (this.phase) {
      case "setup":
        return this.total;
      case "bulk":
      case "precopy":
      case "downtime": {
        // Not sent yet, dirty since sent, or on its way.
        let bytes = 0;
        const cur = this.current;
        for (const d of this.disks) for (let b = 0; b < d.blocks; b++) if (d.sent[b] === 0 || d.log?.isDirty(b) === true || (cur !== null && cur.d === d && cur.b === b)) bytes += this.blockLength(d, b);
        return bytes;
      }
      case "postcopy": {
        let bytes = 0;
        for (const d of this.disks) if (d.absent) for (let b = 0; b < d.blocks; b++) if (d.absent.isAbsent(b)) bytes += this.blockLength(d, b);
        return bytes;
      }
      case "ended":
        return this.leftAtEnd;
    }
  }

  /** Guest IOs that waited for an absent block, and their total wait. */
  get waits(): { waits: number; stallNs: number } {
    let waits = 0;
    let stallNs = 0;
    for (const d of this.disks) {
      waits += d.absent?.waits ?? 0;
      stallNs += d.absent?.stallNs ?? 0;
    }
    return { waits, stallNs };
  }

  /** Before switch-over the migration failed: nothing moved for good; the partial files are removed, the VM keeps its disks. */
  abort(): void {
    this.stop();
    this.closeLogs();
    for (const d of this.disks) d.target?.remove();
  }

  /** The source is gone while blocks are still absent: every guest IO waiting for one fails with `err`, and later ones are refused. */
  kill(err: VmscnError): void {
    this.stop();
    for (const d of this.disks) d.absent?.fail(err);
  }

  /** The migration ended otherwise (the destination failed): the copy's own IOs stop. */
  stop(): void {
    if (this.phase !== "ended") {
      this.leftAtEnd = this.remainingBytes();
      this.blocksLeftAtEnd = this.absentBlocks();
    }
    this.phase = "ended";
    if (this.endNs === undefined && this.startNs !== undefined) this.endNs = this.k.scheduler.now;
    for (const io of [...this.ios]) io.cancel();
    this.ios.clear();
  }

  /** With --check-invariants: a block the destination holds differs from the source's; null when none does. */
  mismatch(): string | null {
    for (const d of this.disks) {
      if (!d.target) continue;
      for (let b = 0; b < d.blocks; b++) {
        // Blocks not there yet, or dirty since sent (absent after resume), are not compared.
        if (d.absent?.isAbsent(b) === true || d.sent[b] === 0 || d.log?.isDirty(b) === true) continue;
        const off = b * DISK_BLOCK_BYTES;
        const len = this.blockLength(d, b);
        const x = d.source.peek(off, len);
        const y = d.target.peek(off, len);
        for (let i = 0; i < len; i++) if (x[i] !== y[i]) return `block ${b} of disk "${d.source.name}" on "${this.dest.name}" differs from the source's at switch-over`;
      }
    }
    return null;
  }

  /** The report's `disk` section. */
  report(now: number): Record<string, unknown> {
    const c = this.c;
    const { waits, stallNs } = this.waits;
    const passes: Record<string, unknown> = {};
    this.passes.forEach((p, i) => (passes[`r${i + 1}`] = { blocks: p.blocks, bytes: p.bytes, start: p.startNs, duration: p.durationNs }));
    return {
      transferred: c.transferred,
      remaining: this.remainingBytes(),
      total: this.total,
      duplicate: c.duplicate,
      normal: c.normal,
      "normal-bytes": this.normalBytes,
      "dirty-sync-count": c.syncs,
      "bulk-blocks": c.bulkBlocks,
      "bulk-time": this.bulkStartNs === undefined ? 0 : (this.bulkEndNs ?? this.endNs ?? now) - this.bulkStartNs,
      rounds: passes,
      "resent-blocks": c.resentBlocks,
      "downtime-blocks": c.downtimeBlocks,
      "precopy-bytes": c.precopyBytes,
      "downtime-bytes": c.downtimeBytes,
      "postcopy-bytes": c.postcopyBytes,
      "postcopy-requests": c.requests,
      waits,
      "stall-time": stallNs,
      "background-blocks": c.backgroundBlocks,
      "blocks-left": this.phase === "ended" ? this.blocksLeftAtEnd : this.pending,
      time: this.startNs === undefined ? 0 : (this.endNs ?? now) - this.startNs,
      files: this.names,
    };
  }

  private normalBytes = 0;

  // ---- moving one block (disk-postcopy.ts uses these too) ---------------------------------

  blockLength(d: Disk, b: number): number {
    return Math.min(DISK_BLOCK_BYTES, d.source.size - b * DISK_BLOCK_BYTES);
  }

  /** Sends the dirty blocks of every disk in order, one at a time; `then` gets how many. */
  private walk(phase: "precopy" | "downtime", then: (n: number) => void): void {
    let i = 0;
    let from = 0;
    let n = 0;
    const next = (): void => {
      for (; i < this.disks.length; i++, from = 0) {
        const d = this.disks[i]!;
        const b = d.log!.nextDirty(from);
        if (b < 0) continue;
        from = b + 1;
        n++;
        this.copy(d, b, phase, next);
        return;
      }
      then(n);
    };
    next();
  }

  /**
   * One block before resume: read on the source (its log bit cleared first: a write completing
   * after the read is issued marks it again), sent, written on the destination.
   */
  private copy(d: Disk, b: number, phase: "precopy" | "downtime", then: () => void): void {
    d.log!.clear(b);
    this.current = { d, b };
    const off = b * DISK_BLOCK_BYTES;
    const len = this.blockLength(d, b);
    this.io(() =>
      d.source.read(this.src.name, off, len, () => {
        const bytes = this.contents(d, b);
        const wire = this.count(bytes === null, len, phase);
        this.port.send(wire, "source", `migrate ${this.world.name} disk ${d.source.name} block ${b}`, () => {
          const done = (): void => {
            d.sent[b] = 1;
            this.current = null;
            then();
          };
          const fail = (err: VmscnError): void => this.later(err);
          this.io(() => (bytes === null ? d.target!.writeZeros(this.dest.name, off, len, done, fail) : d.target!.write(this.dest.name, off, bytes, done, fail)));
        });
      }, (err) => this.later(err), { data: false }),
    );
  }

  /**
   * The block's bytes as its read completes, or null when they are all zeros (a never-written
   * disk: no memory for them, and a hole on the destination).
   */
  contents(d: Disk, b: number): Uint8Array | null {
    const off = b * DISK_BLOCK_BYTES;
    const len = this.blockLength(d, b);
    return d.source.isZeroRange(off, len) ? null : d.source.peek(off, len);
  }

  /** Wire bytes of a block of `len` bytes, counted: its header, plus its bytes unless it is zeros and `zero-blocks` is on. */
  count(zeros: boolean, len: number, phase: "precopy" | "downtime" | "postcopy"): number {
    const marker = this.o.zeroBlocks && zeros;
    const wire = this.o.blockHeader + (marker ? 0 : len);
    if (marker) this.c.duplicate++;
    else {
      this.c.normal++;
      this.normalBytes += len;
    }
    this.c.transferred += wire;
    if (phase === "precopy") this.c.precopyBytes += wire;
    else if (phase === "downtime") this.c.downtimeBytes += wire;
    else this.c.postcopyBytes += wire;
    return wire;
  }

  /** Issues an IO of the copy, tracked for cancellation; a refusal (host down, no space) fails the migration. */
  io(issue: () => IoRequest): void {
    if (this.phase === "ended" || this.port.done) return;
    let io: IoRequest;
    try {
      io = issue();
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      this.later(err);
      return;
    }
    this.ios.add(io);
    // Drop it from the set once it ends (checked lazily: the set stays small, one or a few IOs).
    for (const x of this.ios) if (x.state === "done" || x.state === "failed" || x.state === "cancelled") this.ios.delete(x);
  }

  /** A failure reported on its own event, so the code that caused it finishes first. */
  later(err: VmscnError): void {
    this.k.after(0, () => {
      if (this.phase !== "ended" && !this.port.done) this.port.failed(err);
    }, "migration disk");
  }

  closeLogs(): void {
    for (const d of this.disks) d.log?.close();
  }

  /** Every block is on the destination. */
  finish(): void {
    this.phase = "ended";
    this.leftAtEnd = 0;
    this.endNs = this.k.scheduler.now;
    this.k.trace.span("disk copy", "migration", { host: this.src.name, world: this.world.name }, this.startNs ?? this.endNs, this.endNs, { bytes: this.c.transferred });
    this.port.settled();
  }

  /** A one-line account of what the destination still needs (failure sentences). */
  describePending(): string {
    const n = this.pending;
    return n === 0 ? "" : `${n} disk block${n === 1 ? "" : "s"}`;
  }
}
