// One migration, following the document's steps (its FIG. 3), as SimGrid's MigrationTx reads
// stage 1, the stage 2 loop, stage 3: `start` below runs them in order, each phase in its own
// file — setup.ts (steps 1-4, 3A), precopy.ts (step 7, round after round), switch-over.ts
// (steps 5, 6, 8-11), postcopy.ts (steps 12, 13), outcome.ts (completion, abort, the
// destination's death) — over the migration's connection (connection.ts) and page stream
// (batches.ts). Where it stands is one field, `state`, moved only along state.ts's table.
import { PageState, type DirtyLog, type GuestMemory, type Host, type PluginContext, type VerbCall, type World } from "../../core/api.js";
import type { MigrateOptions } from "./options.js";
import type { MigrationHooks, MigrationView } from "./api.js";
import type { PageCoder } from "./coding.js";
import type { CompressionService } from "../compression/api.js";
import { DiskMigration, type DiskCopyPlan } from "./disk.js";
import { ended, statusOf, transition, type State, type Status } from "./state.js";
import { Connection } from "./connection.js";
import { Batches, Pass } from "./batches.js";
import { Deferral } from "./deferral.js";
import { Setup } from "./setup.js";
import { PreCopy, type PreCopyEngine } from "./precopy.js";
import { QemuPreCopy } from "./qemu-precopy.js";
import { WriteProtect } from "./write-protect.js";
import { Wire } from "./wire.js";
import type { RamState } from "./ram-state.js";
import { SwitchOver } from "./switch-over.js";
import { PostCopy } from "./postcopy.js";
import { Outcome } from "./outcome.js";

export { DISK_BLOCK_BYTES, type DiskCopyPlan } from "./disk.js";
export { RATE_BUCKET_NS } from "./connection.js";

export interface RoundStat {
  round: number;
  /** Pages the round sent. */
  pages: number;
  /** Distinct pages the guest dirtied while it ran. */
  dirtied: number;
  bytes: number;
  startNs: number;
  durationNs: number;
  /** The vCPU throttle (auto-converge) in effect during the round, 0..1. */
  throttle: number;
}

/** Counters in QEMU's terms (bytes on the wire, pages by kind). */
export interface Counters {
  transferred: number;
  duplicate: number;
  normal: number;
  /** Pages sent compressed, and as XBZRLE deltas (QEMU counts these apart from `normal`). */
  compressed: number;
  xbzrle: number;
  precopyBytes: number;
  downtimeBytes: number;
  postcopyBytes: number;
  dirtySyncCount: number;
  postcopyRequests: number;
  /** Network page faults taken by vCPUs (a fault on a page already being fetched included). */
  faults: number;
  stallNs: number;
  backgroundPages: number;
  deviceBytes: number;
}

export class Migration implements MigrationView {
  private s: State = "setup";
  failure: string | undefined;
  readonly startedAt: number;
  /** The migration thread started (the connection is up): QEMU's setup-time runs from here to setupEndAt. */
  threadStartAt: number | undefined;
  setupEndAt: number | undefined;
  /** Step 3A: the destination VM's tries that found no state yet. */
  retries = 0;
  suspendAt: number | undefined;
  resumeAt: number | undefined;
  completedAt: number | undefined;
  switchReason: string | undefined;
  expectedDowntimeNs = 0;
  readonly rounds: RoundStat[] = [];
  readonly c: Counters = { transferred: 0, duplicate: 0, normal: 0, compressed: 0, xbzrle: 0, precopyBytes: 0, downtimeBytes: 0, postcopyBytes: 0, dirtySyncCount: 0, postcopyRequests: 0, faults: 0, stallNs: 0, backgroundPages: 0, deviceBytes: 0 };
  readonly src: Host;
  readonly srcGuest: GuestMemory;
  readonly dst: GuestMemory;
  readonly pages: number;
  /** The migration sender on the source, the destination daemon, the background paging thread. */
  readonly sender: World;
  readonly daemon: World;
  pager: World | null = null;
  /** The dirty log of the source's pages, open from the first round to the switch-over. */
  log: DirtyLog | null = null;
  /** The list of pages being sent (a round's, or the stop-and-copy's). */
  pass = new Pass("round", null, 0);
  /** After the switch-over: pages still to be paged in from the source. */
  remainingPost = 0;
  /** QEMU's post-copy started (postcopy-ram): the dirty bitmap the source pushes from; null otherwise. */
  postcopyBitmap: RamState | null = null;
  /** The dirty bitmap sent as discard commands at a QEMU post-copy's switch (bytes on the wire, not in `ram`). */
  discardBytes = 0;
  /** Auto-converge: the throttle this migration has put on the VM (0: none), and the highest it reached. */
  throttle = 0;
  maxThrottle = 0;
  /** The disks the destination cannot reach, copied (disk.ts); null when there are none. */
  readonly disk: DiskMigration | null;
  readonly deferral: Deferral;
  readonly net: Connection;
  readonly batches = new Batches(this);
  readonly setup = new Setup(this);
  readonly precopy: PreCopyEngine;
  /** When a page is write-protected again after a sync (write-protect.ts). */
  readonly protect: WriteProtect;
  /** Bytes on the wire per page and per disk block (`wire`). */
  readonly wire: Wire;
  readonly switchOver = new SwitchOver(this);
  readonly postcopy = new PostCopy(this);
  readonly outcome = new Outcome(this);
  /** Releases the switch-over's hold on the VM's suspension (none before the switch-over). */
  private release: (() => void) | null = null;

  constructor(
    readonly k: PluginContext,
    readonly world: World,
    readonly dest: Host,
    readonly o: MigrateOptions,
    readonly call: VerbCall,
    readonly seq: number,
    private readonly onFinish: (m: Migration) => void,
    diskPlans: readonly DiskCopyPlan[] = [],
    readonly hooks: MigrationHooks = {},
    /** Compression and XBZRLE of pre-copied pages, when the migration asked for them. */
    readonly coder: { coder: PageCoder; port: CompressionService } | null = null,
  ) {
    this.startedAt = k.scheduler.now;
    this.wire = new Wire(o.wire);
    const m = this;
    this.net = new Connection(k, `migration of ${world.name} #${seq}`, o, {
      get from() {
        return m.src.name;
      },
      get to() {
        return m.dest.name;
      },
      get done() {
        return m.done;
      },
      failed: (err) => this.outcome.transferFailed(err),
    });
    this.deferral = new Deferral(hooks, world.memory!.pages, this.wire);
    this.src = world.host;
    this.srcGuest = world.memory!;
    this.pages = this.srcGuest.pages;
    this.disk = diskPlans.length === 0 ? null : new DiskMigration(k, world, this.src, dest, diskPlans, {
      send: (bytes, initiator, label, onDone) => this.net.send(bytes, initiator, label, onDone),
      failed: (err) => this.outcome.transferFailed(err),
      settled: () => this.outcome.maybeComplete(),
      get done() {
        return m.done;
      },
    }, { threshold: o.diskThreshold, zeroBlocks: o.zeroBlocks, blockHeader: this.wire.blockHeader });
    this.precopy = o.converge === "qemu" ? new QemuPreCopy(this) : new PreCopy(this);
    this.protect = new WriteProtect(o.writeProtect, this.pages, o.clearBitmapShift);
    // Step 2's destination VM: a fresh page map on the destination host (no frames), every
    // page absent until it is fetched, so marking them needs no per-page kernel call.
    this.dst = k.memory.createGuest(world.id, `${world.name}@${dest.name}`, this.pages, dest.id);
    this.dst.meta.fill(PageState.AbsentFetch);
    this.daemon = k.systemWorld(`${world.name}.migration-daemon#${seq}`, dest, world);
    k.cluster.setDemand(this.daemon, 0);
    k.cluster.setState(this.daemon, "running");
    this.sender = k.systemWorld(`${world.name}.migration-sender#${seq}`, this.src, world);
  }

  /** The document's steps, in order. */
  start(): void {
    // Steps 1-4: the request, the destination daemon, the destination VM waiting for state.
    this.setup.run(() => {
      // Step 7: pre-copy, round after round, until a rule fires (no round with pure demand paging).
      if (this.o.mode === "demand-paging") this.switch("demand-paging", null);
      else this.precopy.run((reason, left) => this.switch(reason, left));
    });
  }

  /** Steps 5, 6, 8-11; then 12, 13 while the destination still needs the source, else the end. */
  private switch(reason: string, left: Int32Array | null): void {
    this.switchOver.run(reason, left, (needed) => (needed ? this.postcopy.run() : this.outcome.complete()));
  }

  get state(): State {
    return this.s;
  }

  /** QEMU's name for where the migration stands. */
  get status(): Status {
    return statusOf(this.s, this.o.demandPaging || this.postcopyBitmap !== null);
  }

  get done(): boolean {
    return ended(this.s);
  }

  /** Moves to the next state; one its steps do not lead to is a bug (VMSCN5014). */
  enter(to: State): void {
    this.s = transition(this.world.name, this.s, to, this.k.scheduler.now, this.world.label);
  }

  /** A network page fault on the destination's page map. */
  fault(page: number, vcpu: number): number {
    return this.postcopy.fault(page, vcpu);
  }

  /** Step 5: held suspended, so nobody resumes the VM on the source (its writes there would be lost). */
  holdSuspended(): void {
    this.release = this.k.cluster.holdSuspended(this.world, `a migration's switch-over to host "${this.dest.name}"`);
  }

  /** The hold ends (the VM resumed on the destination, or the migration failed): it resumes if it ran, unless someone else holds it. */
  releaseSuspended(): void {
    this.release?.();
    this.release = null;
  }

  /** Auto-converge's throttle on the VM's vCPUs (0..1), and the highest it reached. */
  setThrottle(f: number): void {
    this.throttle = f;
    this.maxThrottle = Math.max(this.maxThrottle, f);
    this.k.cluster.setThrottle(this.world, f);
    this.k.trace.instant("auto-converge throttle", "migration", { world: this.world.name }, this.k.scheduler.now, { throttle: f });
  }

  /** The plugin's and the extensions' bookkeeping once the migration ended. */
  finished(): void {
    this.onFinish(this);
    this.hooks.finished?.(this);
  }

  /** Pages the source still holds for the destination (bytes, as QEMU's ram.remaining). */
  remainingPages(): number {
    switch (this.s) {
      case "setup":
        return this.pages;
      case "precopy":
        return this.precopy.pending();
      case "stop-and-copy":
        return this.remainingPost + this.pass.left;
      case "switch-over":
      case "device-state":
      case "postcopy":
        return this.remainingPost;
      case "completed":
        return 0;
      case "failed":
      case "cancelled":
        return this.resumeAt !== undefined ? this.remainingPost : this.precopy.pending();
    }
  }
}
