// One migration, following the document's steps: the initiator asks the destination daemon
// to build the destination VM (its page map, every page absent until it arrives) and waits
// for it to be ready (steps 1-4); a migration sender system world on the source pre-copies
// memory in rounds while the VM runs, the kernel's dirty log playing the write-protection
// + modified-page bitmap (step 7); the VM is suspended (step 5), what is left is sent (or
// not), the non-memory state follows (steps 6, 8, 9), the VM moves onto the destination's
// page map and resumes (steps 10, 11); pages still missing are paged in on demand or by a
// background paging thread (steps 12, 13); the source then frees the VM's frames.
import { PageState, STATE_MASK, WAIT, formatTime, kernelError, type DirtyLog, type GuestMemory, type Host, type PluginContext, type RateLimit, type Transfer, type VerbCall, VmscnError, type World } from "../../core/api.js";
import { XEN_MAX_ITERATIONS, afterRound, duringPass, expectedDowntimeNs, nextThrottle, type ConvergeParams } from "./convergence.js";
import type { MigrateOptions } from "./options.js";
import type { MigrationHooks, MigrationView } from "./api.js";
import { NORMAL_PAGE_BYTES, ZERO_PAGE_BYTES, wireBytes } from "./wire.js";
import type { PageCoder } from "./coding.js";
import type { CompressionService } from "../compression/api.js";
import { DiskMigration, type DiskCopyPlan } from "./disk.js";

export type Status = "setup" | "active" | "device" | "postcopy-active" | "completed" | "failed";

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

export { DISK_BLOCK_BYTES, type DiskCopyPlan } from "./disk.js";

/** Width of a bucket of the bandwidth-over-time chart: 10 ms. */
export const RATE_BUCKET_NS = 10_000_000;

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

type Phase = "precopy" | "downtime" | "background";

export class Migration implements MigrationView {
  status: Status = "setup";
  failure: string | undefined;
  readonly startedAt: number;
  setupEndAt: number | undefined;
  /** Step 3A: when the destination VM began waiting for state, and its tries that found none. */
  private waitingSince = 0;
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
  private readonly pages: number;
  private log: DirtyLog | null = null;
  private readonly sender: World;
  private readonly daemon: World;
  private pager: World | null = null;
  /** Set while the plugin itself stops its worlds, so their state changes are not failures. */
  private closing = false;
  private readonly inflight = new Set<Transfer>();
  private readonly conv: ConvergeParams;
  // The current pre-copy round: its page list (null: every page), its cursor, its bytes.
  private list: Int32Array | null = null;
  private n = 0;
  private cursor = 0;
  private roundStart = 0;
  private roundBytes = 0;
  private phase: Phase = "precopy";
  // After resume: pages still absent on the destination, and per page whether a fetch is
  // under way (1) — one fetch serves every vCPU that faults on the page.
  remainingPost = 0;
  private fetching: Uint8Array | null = null;
  private readonly waiters = new Map<number, number[]>();
  private bgCursor = 0;
  /** Auto-converge: the throttle this migration has put on the VM (0: none), and the highest it reached. */
  throttle = 0;
  maxThrottle = 0;
  private roundThrottle = 0;
  /** Bytes on the wire per 10 ms bucket (spread evenly over each transfer's lifetime), for the chart. */
  readonly rateBuckets = new Map<number, number>();
  /** The disks the destination cannot reach, copied (disk.ts); null when there are none. */
  readonly disk: DiskMigration | null;
  /** Bytes of the current round's disk pass, for the bandwidth the round measured. */
  private diskRoundBytes = 0;
  /** Pages the sender left behind at an extension's request (`defer` hook): 1 while deferred. */
  private readonly deferred: Uint8Array | null;
  readonly deferral = { skips: 0, bytes: 0, pages: 0, listBytes: 0 };
  /** The `bandwidth` cap, shared by all of this migration's transfers (demand fetches and background paging together). */
  private readonly limit: RateLimit | null;
  /** Pages the current round actually sent (deferred ones are skipped). */
  private roundSent = 0;
  /** The guest's write count when the current round began, and the last round's writes per dirtied page (XBZRLE's model of a delta). */
  private writesMark = 0;
  private writesPerPage = 1;

  constructor(
    private readonly k: PluginContext,
    readonly world: World,
    readonly dest: Host,
    readonly o: MigrateOptions,
    private readonly call: VerbCall,
    private readonly seq: number,
    private readonly onFinish: (m: Migration) => void,
    private readonly diskPlans: readonly DiskCopyPlan[] = [],
    readonly hooks: MigrationHooks = {},
    /** Compression and XBZRLE of pre-copied pages, when the migration asked for them. */
    readonly coder: { coder: PageCoder; port: CompressionService } | null = null,
  ) {
    this.startedAt = k.scheduler.now;
    this.limit = o.bandwidth === undefined ? null : k.network.rateLimit(`migration of ${world.name} #${seq}`, o.bandwidth);
    this.deferred = hooks.defer ? new Uint8Array(world.memory!.pages) : null;
    this.src = world.host;
    this.srcGuest = world.memory!;
    this.pages = this.srcGuest.pages;
    const m = this;
    this.disk = diskPlans.length === 0 ? null : new DiskMigration(k, world, this.src, dest, diskPlans, {
      send: (bytes, initiator, label, onDone) => this.send(this.src.name, this.dest.name, bytes, initiator, label, onDone),
      failed: (err) => this.transferFailed(err),
      settled: () => this.maybeComplete(),
      get done() {
        return m.done;
      },
    }, { threshold: o.diskThreshold, zeroBlocks: o.zeroBlocks });
    this.conv = { rule: o.converge, threshold: o.threshold, maxRounds: o.maxRounds, downtimeLimitNs: o.downtimeLimitNs, pageBytes: NORMAL_PAGE_BYTES };
    // Step 2: the destination daemon creates the destination VM: a page map on the
    // destination host with every page absent until it is fetched. It is a fresh map (no
    // frames), so marking its pages needs no per-page kernel call.
    this.dst = k.memory.createGuest(world.id, `${world.name}@${dest.name}`, this.pages, dest.id);
    this.dst.meta.fill(PageState.AbsentFetch);
    this.daemon = k.systemWorld(`${world.name}.migration-daemon#${seq}`, dest, world);
    k.cluster.setDemand(this.daemon, 0);
    k.cluster.setState(this.daemon, "running");
    this.sender = k.systemWorld(`${world.name}.migration-sender#${seq}`, this.src, world);
  }

  /**
   * Steps 1-4: the request reaches the daemon (one way), which creates the destination VM
   * (`create-time`); the VM waits for state (step 3A, from then on) and the daemon's "ready"
   * comes back (one way).
   */
  start(): void {
    const oneWay = this.k.network.route(this.src.name, this.dest.name).latency;
    this.waitingSince = this.k.scheduler.now + oneWay + this.o.createTimeNs;
    this.k.after(2 * oneWay + this.o.createTimeNs, () => {
      if (this.done) return;
      this.setupEndAt = this.k.scheduler.now;
      this.status = "active";
      this.k.cluster.setState(this.sender, "running");
      const go = (): void => {
        if (this.o.mode === "demand-paging") this.switchOver("demand-paging", null);
        else {
          this.log = this.srcGuest.openLog("precopy-migration");
          this.startRound(null);
        }
      };
      // Disks first: the bulk phase (not with pure demand paging: every block is fetched after resume).
      if (this.disk === null) go();
      else if (this.disk.start()) {
        if (this.o.mode === "demand-paging") go();
        else this.disk.bulk(go);
      }
    }, "migration setup");
  }

  get done(): boolean {
    return this.status === "completed" || this.status === "failed";
  }

  // ---- pre-copy rounds -------------------------------------------------------------------

  private startRound(list: Int32Array | null): void {
    this.c.dirtySyncCount++;
    this.list = list;
    this.n = list ? list.length : this.pages;
    this.cursor = 0;
    this.roundStart = this.k.scheduler.now;
    this.roundBytes = 0;
    this.diskRoundBytes = 0;
    this.roundSent = 0;
    this.roundThrottle = this.throttle;
    this.phase = "precopy";
    this.writesMark = this.srcGuest.writes;
    this.sendNext();
  }

  /** Sends the next batch of the current list; one batch in flight at a time. */
  private sendNext(): void {
    if (this.cursor >= this.n) {
      if (this.phase === "precopy") this.roundDone();
      else this.sendDeviceState();
      return;
    }
    const want = Math.min(this.o.batch, this.n - this.cursor);
    const pages = new Int32Array(want);
    const contents = new Float64Array(want);
    const g = this.srcGuest;
    const meta = g.meta;
    const frame = g.frame;
    const fc = this.k.memory.machine(g.hostId).content;
    const list = this.list;
    const deferred = this.deferred;
    let take = 0;
    let zeros = 0;
    // Fill the batch; pages an extension defers are skipped (and remembered) without filling it.
    while (take < want && this.cursor < this.n) {
      const p = list ? list[this.cursor]! : this.cursor;
      this.cursor++;
      // The content when the page is sent; a later write is caught by the dirty log.
      const m = meta[p]! & STATE_MASK;
      const c = m === PageState.Present ? fc[frame[p]!]! : this.k.memory.peek(g, p);
      if (deferred !== null) {
        if (this.hooks.defer!(p)) {
          if (deferred[p] === 0) this.deferral.pages++;
          deferred[p] = 1;
          this.deferral.skips++;
          this.deferral.bytes += wireBytes(c);
          continue;
        }
        if (deferred[p] === 1) {
          deferred[p] = 0;
          this.deferral.pages--;
        }
      }
      pages[take] = p;
      contents[take] = c;
      take++;
      if (c === 0) zeros++;
    }
    if (take === 0) {
      // Every page left in the list was deferred.
      this.sendNext();
      return;
    }
    let bytes = zeros * ZERO_PAGE_BYTES + (take - zeros) * NORMAL_PAGE_BYTES;
    let normal = take - zeros;
    let sendNs = 0;
    let receiveNs = 0;
    if (this.coder !== null) {
      // XBZRLE starts once the first bitmap sync is over: from the second round on.
      const coded = this.coder.coder.batch(pages, contents, take, this.rounds.length >= 1, this.writesPerPage);
      ({ bytes, normal, sendNs, receiveNs } = coded);
      this.c.compressed += coded.compressed;
      this.c.xbzrle += coded.xbzrle;
    }
    this.c.duplicate += zeros;
    this.c.normal += normal;
    this.c.transferred += bytes;
    if (this.phase === "precopy") this.c.precopyBytes += bytes;
    else this.c.downtimeBytes += bytes;
    this.roundBytes += bytes;
    this.roundSent += take;
    const landed = (): void => {
      if (!this.place(pages, contents, take)) return;
      if (this.phase === "precopy" && this.cursor < this.n && duringPass(this.conv, this.n - this.cursor + this.log!.count, this.bandwidthNow())) {
        this.roundDone("downtime-limit");
        return;
      }
      this.sendNext();
    };
    const o = this.o;
    this.busy(this.sender, o.compressThreads, 1, sendNs, () => {
      this.send(this.src.name, this.dest.name, bytes, this.hooks.initiator ?? "source", `migrate ${this.world.name} ${this.phase === "precopy" ? `round ${this.rounds.length + 1}` : "stop-and-copy"}`, () => this.busy(this.daemon, o.decompressThreads, 0, receiveNs, landed));
    });
  }

  /**
   * `cpuNs` of CPU work on `world` spread over `threads` cores: the world demands that many
   * cores meanwhile (the host's other worlds feel it) and the work takes as long as its share
   * of the host's CPUs allows; then its demand goes back to `idle` cores.
   */
  private busy(world: World, threads: number, idle: number, cpuNs: number, then: () => void): void {
    if (cpuNs <= 0) return then();
    const k = this.k;
    k.cluster.setDemand(world, threads);
    k.after(this.coder!.port.timeOn(world, cpuNs / threads), () => {
      if (this.done) return;
      k.cluster.setDemand(world, idle);
      then();
    }, "migration coding");
  }

  /** The round's bytes over its time so far: its pages, and its disk pass once that ran. */
  private bandwidthNow(): number {
    const dt = this.k.scheduler.now - this.roundStart;
    return dt > 0 ? ((this.roundBytes + this.diskRoundBytes) / dt) * 1e9 : 0;
  }

  /** The round's pages are sent: the disk's dirty pass ends it (disk.ts), then the convergence check. */
  private roundDone(early?: string): void {
    if (this.disk === null) return this.endRound(early);
    this.disk.pass((bytes) => {
      this.diskRoundBytes = bytes;
      this.endRound(early);
    });
  }

  /** A round ends (all sent, or QEMU's rule fired during the pass): another round, or switch over. */
  private endRound(early?: string): void {
    const now = this.k.scheduler.now;
    const log = this.log!;
    const sent = this.roundSent;
    const stat: RoundStat = { round: this.rounds.length + 1, pages: sent, dirtied: log.count, bytes: this.roundBytes, startNs: this.roundStart, durationNs: now - this.roundStart, throttle: this.roundThrottle };
    this.rounds.push(stat);
    this.k.trace.span(`pre-copy round ${stat.round}`, "migration", { host: this.src.name, world: this.world.name }, stat.startNs, now, { pages: stat.pages, dirtied: stat.dirtied });
    const bw = this.bandwidthNow();
    const left = this.n - this.cursor;
    const totalSent = this.rounds.reduce((s, r) => s + r.pages, 0);
    // Auto-converge: the guest dirtied pages at least as fast as the round sent them (the
    // dirty log counts distinct pages, so a guest outpacing the link shows as dirtied ≥ sent).
    const canThrottle = this.o.autoConverge && this.throttle < this.o.throttleMax;
    this.writesPerPage = log.count > 0 ? Math.max(1, Math.round((this.srcGuest.writes - this.writesMark) / log.count)) : 1;
    let reason = early ?? afterRound(this.conv, { round: stat.round, sent, dirty: log.count, totalSent, pages: this.pages, bandwidth: bw, throttling: canThrottle });
    // Memory's rule alone does not end pre-copy while more disk blocks are dirty than
    // `disk-threshold`; the round limits still do (the rule that fired hid them).
    if (reason && this.disk !== null && !this.disk.allows(reason)) {
      reason = stat.round >= this.o.maxRounds ? "max-rounds" : this.o.converge === "xen" && stat.round >= XEN_MAX_ITERATIONS ? "max-iterations" : null;
    }
    if (!reason && canThrottle && sent > 0 && log.count >= sent) this.setThrottle(nextThrottle(this.throttle, this.o.throttleInitial, this.o.throttleIncrement, this.o.throttleMax));
    this.c.dirtySyncCount++;
    const dirty = log.readAndClear();
    const next = left > 0 || this.deferral.pages > 0 ? union(this.list, this.cursor, this.n, dirty, this.pages, this.requeue()) : dirty;
    this.expectedDowntimeNs = expectedDowntimeNs(next.length, NORMAL_PAGE_BYTES, bw);
    if (reason) this.switchOver(reason, next);
    else {
      this.c.dirtySyncCount--; // the sync above is the next round's
      this.startRound(next);
    }
  }

  /** Deferred pages that no longer qualify (their frame is not shared any more): they join the next round. */
  private requeue(): Int32Array | null {
    const d = this.deferred;
    if (d === null || this.deferral.pages === 0) return null;
    const out: number[] = [];
    for (let p = 0; p < d.length; p++) if (d[p] === 1 && !this.hooks.defer!(p)) out.push(p);
    return Int32Array.from(out);
  }

  private setThrottle(f: number): void {
    this.throttle = f;
    this.maxThrottle = Math.max(this.maxThrottle, f);
    this.k.cluster.setThrottle(this.world, f);
    this.k.trace.instant("auto-converge throttle", "migration", { world: this.world.name }, this.k.scheduler.now, { throttle: f });
  }

  /** The migration ended: the VM runs at full speed again. */
  private unthrottle(): void {
    if (this.throttle === 0) return;
    this.throttle = 0;
    this.k.cluster.setThrottle(this.world, 0);
  }

  // ---- switch-over -----------------------------------------------------------------------

  /** Step 5: suspend; then what is left is sent now (stop-and-copy) or left to page in later. */
  private switchOver(reason: string, left: Int32Array | null): void {
    const k = this.k;
    this.switchReason = reason;
    this.suspendAt = k.scheduler.now;
    // Held suspended: nobody resumes it on the source during the switch-over (its writes there
    // would be lost); the release resumes it if it ran (and nobody else holds it).
    this.release = k.cluster.holdSuspended(this.world, `a migration's switch-over to host "${this.dest.name}"`);
    this.status = "device";
    this.log?.close();
    this.log = null;
    if (this.disk === null) return this.leaveMemory(left);
    // The disks first: the guest's IOs drain, then the dirty blocks go now (stop-and-copy)
    // or stay absent on the destination until fetched after resume.
    this.disk.switchOver(this.o.stopAndCopy, () => this.leaveMemory(left));
  }

  /** The pages left at switch-over (all with pure demand paging, `left` null): sent now, or fetched after resume. */
  private leaveMemory(left: Int32Array | null): void {
    const k = this.k;
    if (left === null) {
      // Pure demand paging: no page was pre-copied; every page is absent on the destination
      // (deferred ones are left behind instead of fetched).
      this.remainingPost = this.pages - this.deferAll(null);
      this.sendDeviceState();
      return;
    }
    if (this.o.stopAndCopy) {
      this.phase = "downtime";
      this.list = left;
      this.n = left.length;
      this.cursor = 0;
      this.sendNext();
      return;
    }
    // The destination's copies of these pages are stale: they must be fetched again (or,
    // deferred, they are left behind).
    const deferred = this.deferAll(left);
    for (let i = 0; i < left.length; i++) if (this.deferred === null || this.deferred[left[i]!] === 0) k.memory.setAbsent(this.dst, left[i]!, PageState.AbsentFetch);
    this.remainingPost = left.length - deferred;
    this.sendDeviceState();
  }

  /** Post-copy switch-over: the pages of `list` (all when null) an extension defers; returns how many of them. */
  private deferAll(list: Int32Array | null): number {
    const d = this.deferred;
    if (d === null) return 0;
    let n = 0;
    const count = list ? list.length : this.pages;
    for (let i = 0; i < count; i++) {
      const p = list ? list[i]! : i;
      if (!this.hooks.defer!(p)) {
        if (d[p] === 1) {
          d[p] = 0;
          this.deferral.pages--;
        }
        continue;
      }
      if (d[p] === 0) this.deferral.pages++;
      d[p] = 1;
      this.deferral.skips++;
      this.deferral.bytes += wireBytes(this.k.memory.peek(this.srcGuest, p));
      n++;
    }
    return n;
  }

  /** Steps 6, 8, 9: the non-memory state (devices, vCPU registers) crosses while suspended. */
  private sendDeviceState(): void {
    const device = this.k.vmInfo(this.world)?.deviceStateBytes ?? 0;
    this.c.deviceBytes = device;
    // The list of deferred pages crosses with the device state.
    this.deferral.listBytes = this.deferral.pages > 0 ? (this.hooks.switchOverBytes?.(this.deferral.pages) ?? 0) : 0;
    const bytes = device + this.deferral.listBytes;
    this.send(this.src.name, this.dest.name, bytes, "source", `migrate ${this.world.name} device state`, () => this.stateArrived());
  }

  /**
   * Step 3A: the waiting destination VM asks its kernel for state every `retry-interval`
   * (an error until state is there); it restores at its first try after the state arrived.
   */
  private stateArrived(): void {
    const every = this.o.retryIntervalNs;
    if (every === 0) return this.resumeOnDestination();
    const tries = Math.max(1, Math.ceil((this.k.scheduler.now - this.waitingSince) / every));
    this.retries = tries - 1;
    this.k.after(this.waitingSince + tries * every - this.k.scheduler.now, () => {
      if (!this.done) this.resumeOnDestination();
    }, "migration restore retry");
  }

  /** Steps 10, 11: the VM runs on the destination's page map; disks are re-mapped, the MAC moves with it. */
  private resumeOnDestination(): void {
    const k = this.k;
    if (this.deferral.pages > 0) this.handOverDeferred();
    if (k.config.checkInvariants) this.checkCopy();
    // Copied disks: the VM now uses the new files (their missing blocks fetched from now on).
    this.disk?.resume(this.o.background);
    // The VM's access counters carry over, so its report counts its whole life, not just the destination's part.
    this.dst.reads += this.srcGuest.reads;
    this.dst.writes += this.srcGuest.writes;
    this.dst.faults += this.srcGuest.faults;
    this.dst.cowBreaks += this.srcGuest.cowBreaks;
    this.world.memory = this.dst;
    k.cluster.move(this.world, this.dest);
    this.releaseSuspended();
    this.resumeAt = k.scheduler.now;
    k.trace.span("downtime", "migration", { host: this.dest.name, world: this.world.name }, this.suspendAt!, this.resumeAt, { reason: this.switchReason });
    const needed = this.remainingPost > 0 || (this.disk?.pending ?? 0) > 0;
    this.closing = true;
    k.cluster.setState(this.sender, needed ? "running" : "stopped");
    this.closing = false;
    if (!needed) {
      this.complete();
      return;
    }
    // The source stays needed: its sender serves page requests (idle, no CPU demand).
    k.cluster.setDemand(this.sender, 0);
    this.status = "postcopy-active";
    this.fetching = new Uint8Array(this.pages);
    if (this.o.background) {
      this.pager = k.systemWorld(`${this.world.name}.background-pager#${this.seq}`, this.dest, this.world);
      k.cluster.setState(this.pager, "running");
      this.pumpBackground();
    }
  }

  /** The extension maps the pages left behind (remotely, say); none may stay absent. */
  private handOverDeferred(): void {
    const d = this.deferred!;
    const list = new Int32Array(this.deferral.pages);
    let n = 0;
    for (let p = 0; p < d.length; p++) if (d[p] === 1) list[n++] = p;
    this.hooks.beforeResume?.(this, list);
    for (let i = 0; i < n; i++) {
      if ((this.dst.meta[list[i]!]! & STATE_MASK) === PageState.AbsentFetch) {
        throw kernelError("VMSCN5014", `migration of "${this.world.name}": deferred page ${list[i]} was not mapped on "${this.dest.name}" before resume`, { time: this.k.scheduler.now, where: this.world.label });
      }
    }
  }

  /** With --check-invariants: every page the destination holds equals the source's at switch-over. */
  private checkCopy(): void {
    const mem = this.k.memory;
    for (let p = 0; p < this.pages; p++) {
      if ((this.dst.meta[p]! & STATE_MASK) === PageState.AbsentFetch) continue;
      if (mem.peek(this.dst, p) !== mem.peek(this.srcGuest, p)) {
        throw kernelError("VMSCN5014", `migration of "${this.world.name}": page ${p} on "${this.dest.name}" differs from the source's at switch-over`, { time: this.k.scheduler.now, where: this.world.label });
      }
    }
    const bad = this.disk?.mismatch();
    if (bad) throw kernelError("VMSCN5014", `migration of "${this.world.name}": ${bad}`, { time: this.k.scheduler.now, where: this.world.label });
  }

  // ---- after resume: demand paging and background paging --------------------------------

  /** A network page fault on the destination: one fetch per page, every faulting vCPU waits on it. */
  fault(page: number, vcpu: number): number {
    if ((this.dst.meta[page]! & STATE_MASK) !== PageState.AbsentFetch || this.status !== "postcopy-active") return 0;
    this.c.faults++;
    let w = this.waiters.get(page);
    if (!w) this.waiters.set(page, (w = []));
    w.push(vcpu, this.k.scheduler.now);
    if (this.fetching![page] === 1) return WAIT;
    this.fetching![page] = 1;
    this.c.postcopyRequests++;
    // The request crosses to the source (one way), then the page comes back.
    const oneWay = this.k.network.route(this.dest.name, this.src.name).latency;
    this.k.after(oneWay, () => {
      if (this.status !== "postcopy-active") return;
      const c = this.k.memory.peek(this.srcGuest, page);
      const bytes = c === 0 ? ZERO_PAGE_BYTES : NORMAL_PAGE_BYTES;
      this.countPost(c, bytes);
      const pages = Int32Array.of(page);
      const contents = Float64Array.of(c);
      this.send(this.src.name, this.dest.name, bytes, "destination", `migrate ${this.world.name} page ${page}`, () => this.landPost(pages, contents, 1));
    }, "demand paging");
    return WAIT;
  }

  private countPost(c: number, bytes: number): void {
    if (c === 0) this.c.duplicate++;
    else this.c.normal++;
    this.c.transferred += bytes;
    this.c.postcopyBytes += bytes;
  }

  /** The background paging thread: pulls the pages still absent, in order, a batch at a time. */
  private pumpBackground(): void {
    if (this.status !== "postcopy-active") return;
    const meta = this.dst.meta;
    const fetching = this.fetching!;
    const pages = new Int32Array(this.o.batch);
    let n = 0;
    while (this.bgCursor < this.pages && n < pages.length) {
      const p = this.bgCursor++;
      if ((meta[p]! & STATE_MASK) === PageState.AbsentFetch && fetching[p] === 0) {
        fetching[p] = 1;
        pages[n++] = p;
      }
    }
    if (n === 0) {
      // Nothing left to pull; demand fetches under way finish the job.
      this.closing = true;
      this.k.cluster.setState(this.pager!, "stopped");
      this.closing = false;
      return;
    }
    const contents = new Float64Array(n);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const c = this.k.memory.peek(this.srcGuest, pages[i]!);
      contents[i] = c;
      const b = c === 0 ? ZERO_PAGE_BYTES : NORMAL_PAGE_BYTES;
      this.countPost(c, b);
      bytes += b;
    }
    this.c.backgroundPages += n;
    this.send(this.src.name, this.dest.name, bytes, "destination", `migrate ${this.world.name} background`, () => {
      this.landPost(pages, contents, n);
      this.pumpBackground();
    });
  }

  private landPost(pages: Int32Array, contents: Float64Array, n: number): void {
    if (this.status !== "postcopy-active") return;
    const now = this.k.scheduler.now;
    if (!this.place(pages, contents, n)) return;
    for (let i = 0; i < n; i++) {
      const p = pages[i]!;
      this.fetching![p] = 0;
      this.remainingPost--;
      const w = this.waiters.get(p);
      if (!w) continue;
      this.waiters.delete(p);
      for (let j = 0; j < w.length; j += 2) {
        this.c.stallNs += now - w[j + 1]!;
        this.k.memory.wake(this.dst, w[j]!);
      }
    }
    this.maybeComplete();
  }

  // ---- pages landing, transfers, the end -------------------------------------------------

  /** Pages arrive on the destination: each gets its content (a zero page needs no frame). */
  private place(pages: Int32Array, contents: Float64Array, n: number): boolean {
    const mem = this.k.memory;
    const g = this.dst;
    const machine = mem.machine(g.hostId);
    for (let i = 0; i < n; i++) {
      const p = pages[i]!;
      const c = contents[i]!;
      const state = g.meta[p]! & STATE_MASK;
      if (c !== 0 && state !== PageState.Present && machine.free === 0) {
        // Something else took the destination's memory meanwhile (the exhaust fault, another
        // tenant): the page has nowhere to go.
        const err = this.k.error("VMSCN5002", `host "${this.dest.name}" ran out of memory while page ${p} of VM "${this.world.name}" arrived`);
        this.k.after(0, () => this.transferFailed(err), "migration pages");
        return false;
      }
      if (c === 0) {
        if (state !== PageState.Unbacked) mem.setAbsent(g, p, PageState.Unbacked);
      } else if (state === PageState.Present && machine.refs[g.frame[p]!] === 1) {
        machine.content[g.frame[p]!] = c; // a page sent again: its private frame is rewritten
      } else mem.populate(g, p, c);
    }
    return true;
  }

  private send(from: string, to: string, bytes: number, initiator: "source" | "destination", label: string, onDone: () => void): void {
    const sentAt = this.k.scheduler.now;
    let tr: Transfer;
    try {
      tr = this.startTransfer(from, to, bytes, initiator, label, sentAt, onDone);
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      // No route any more (a link went down between batches): a failed transfer, on its own
      // event so the caller finishes first.
      this.k.after(0, () => this.transferFailed(err), "migration transfer");
      return;
    }
    this.inflight.add(tr);
  }

  private startTransfer(from: string, to: string, bytes: number, initiator: "source" | "destination", label: string, sentAt: number, onDone: () => void): Transfer {
    const tr: Transfer = this.k.network.transfer({
      from,
      to,
      bytes,
      kind: this.o.transport,
      initiator,
      label,
      ...(this.limit === null ? {} : { limit: this.limit }),
      onDone: () => {
        this.inflight.delete(tr);
        this.countRate(sentAt, this.k.scheduler.now, bytes);
        if (!this.done) onDone();
      },
      onFail: (err) => {
        this.inflight.delete(tr);
        this.transferFailed(err);
      },
    });
    return tr;
  }

  /** Spreads a transfer's bytes evenly over the 10 ms buckets its lifetime [from, to) covers. */
  private countRate(from: number, to: number, bytes: number): void {
    if (bytes === 0) return;
    const b = this.rateBuckets;
    if (to <= from) {
      const i = Math.floor(from / RATE_BUCKET_NS);
      b.set(i, (b.get(i) ?? 0) + bytes);
      return;
    }
    for (let i = Math.floor(from / RATE_BUCKET_NS); i * RATE_BUCKET_NS < to; i++) {
      const overlap = Math.min(to, (i + 1) * RATE_BUCKET_NS) - Math.max(from, i * RATE_BUCKET_NS);
      b.set(i, (b.get(i) ?? 0) + (bytes * overlap) / (to - from));
    }
  }

  private transferFailed(err: VmscnError): void {
    if (this.done) return;
    this.failCode = err.code;
    if (this.resumeAt === undefined) this.abort(`a transfer failed before switch-over (${err.message}); the VM keeps running on "${this.src.name}"`);
    else this.killDestination(`the destination could no longer fetch pages from "${this.src.name}" (${err.message})`);
  }

  /** A world of this migration changed state; the kernel (a crash, a stop) did it, not we. */
  worldStopped(w: World): void {
    if (this.done || this.closing) return;
    const at = formatTime(this.k.scheduler.now);
    if (w === this.world) {
      if (this.resumeAt === undefined) this.abort(`VM "${w.name}" stopped on "${this.src.name}" at ${at} before switch-over${w.failure ? ` (${w.failure})` : ""}`);
      else this.finishFailed(`VM "${w.name}" stopped on "${this.dest.name}" at ${at}${w.failure ? ` (${w.failure})` : ""}`);
    } else if (w === this.sender) {
      if (this.resumeAt === undefined) this.abort(`host "${this.src.name}" went down at ${at} before switch-over`);
      else this.killDestination(`host "${this.src.name}" crashed at ${at} while the destination still depended on it for ${this.remainingPost} pages${this.disk?.pending ? ` and ${this.disk.describePending()}` : ""}`);
    } else if (w === this.daemon || w === this.pager) {
      if (this.resumeAt === undefined) this.abort(`host "${this.dest.name}" went down at ${at} before switch-over; the VM keeps running on "${this.src.name}"`);
      else this.finishFailed(`host "${this.dest.name}" went down at ${at}`);
    }
  }

  /** Before switch-over: nothing is lost, the VM stays (or goes back to running) on the source. */
  private abort(reason: string): void {
    const k = this.k;
    this.cancelTransfers();
    this.log?.close();
    this.log = null;
    // The partial copies of the disks are removed; the VM keeps its own.
    this.disk?.abort();
    k.memory.dropGuest(this.dst);
    this.releaseSuspended();
    this.fail(reason);
  }

  /** The document: the destination VM dies if the source goes while it still depends on it. */
  private killDestination(reason: string): void {
    const k = this.k;
    this.cancelTransfers();
    // What, where and when, coded as the action's failure: "VMSCN5010 at 1.2 s: migration: ...".
    this.world.failure = `${this.failCode} at ${formatTime(this.k.scheduler.now)}: migration: ${reason}`;
    this.closing = true;
    if (this.world.state !== "stopped") k.cluster.setState(this.world, "stopped");
    this.closing = false;
    k.memory.releaseAll(this.dst);
    // vCPUs parked on network page faults must not wait forever (they see the VM stopped).
    k.memory.wake(this.dst);
    this.waiters.clear();
    // Guest disk IOs waiting for absent blocks fail too; the blocks will not come.
    this.disk?.kill(this.k.error(this.failCode, `migration of "${this.world.name}": ${reason}`));
    this.finishFailed(reason);
  }

  private finishFailed(reason: string): void {
    this.cancelTransfers();
    this.disk?.stop();
    this.k.memory.dropGuest(this.srcGuest);
    this.fail(reason);
  }

  /** The code of the failure: a transfer's (a link or host failure, memory), else a host or VM failure. */
  private failCode = "VMSCN5010";

  /** Releases the switch-over's hold on the VM's suspension (none before the switch-over). */
  private release: (() => void) | null = null;

  /** The switch-over's hold on the VM's suspension ends (it resumes, or the migration failed). */
  private releaseSuspended(): void {
    this.release?.();
    this.release = null;
  }

  private fail(reason: string): void {
    this.releaseSuspended();
    this.status = "failed";
    this.failure = reason;
    this.completedAt = this.k.scheduler.now;
    this.unthrottle();
    this.stopWorlds();
    this.k.trace.instant("migration failed", "migration", { world: this.world.name }, this.completedAt, { reason });
    this.onFinish(this);
    this.hooks.finished?.(this);
    this.call.done({ failed: `${this.failCode} at ${formatTime(this.completedAt)}: migration of "${this.world.name}" to "${this.dest.name}" failed: ${reason}` });
  }

  /** After resume: done once the last page and the last disk block have arrived. */
  private maybeComplete(): void {
    if (this.status === "postcopy-active" && this.remainingPost === 0 && (this.disk?.pending ?? 0) === 0) this.complete();
  }

  /** Clean-up: the last page has left the source, which frees the VM's frames. */
  private complete(): void {
    this.status = "completed";
    this.completedAt = this.k.scheduler.now;
    this.unthrottle();
    this.k.memory.dropGuest(this.srcGuest);
    this.stopWorlds();
    this.onFinish(this);
    this.hooks.finished?.(this);
    this.call.done();
  }

  private cancelTransfers(): void {
    for (const tr of [...this.inflight]) this.k.network.end(tr, "cancelled");
    this.inflight.clear();
  }

  private stopWorlds(): void {
    this.closing = true;
    for (const w of [this.sender, this.daemon, this.pager]) {
      if (w && this.k.cluster.hasWorld(w.name) && this.k.cluster.world(w.name) === w) this.k.cluster.destroy(w);
    }
    this.closing = false;
  }

  /** Pages the source still holds for the destination (bytes, as QEMU's ram.remaining). */
  remainingPages(): number {
    if (this.status === "completed") return 0;
    if (this.resumeAt !== undefined || this.status === "device") return this.remainingPost + (this.phase === "downtime" ? this.n - this.cursor : 0);
    if (this.status === "setup") return this.pages;
    return this.n - this.cursor + (this.log?.count ?? 0);
  }
}

/** The pages of `list[from..to)` (or of the range when list is null) together with `dirty` (and `extra`), ascending. */
function union(list: Int32Array | null, from: number, to: number, dirty: Int32Array, pages: number, extra: Int32Array | null = null): Int32Array {
  const mark = new Uint8Array(pages);
  for (let i = from; i < to; i++) mark[list ? list[i]! : i] = 1;
  for (let i = 0; i < dirty.length; i++) mark[dirty[i]!] = 1;
  if (extra) for (let i = 0; i < extra.length; i++) mark[extra[i]!] = 1;
  let n = 0;
  for (let p = 0; p < pages; p++) n += mark[p]!;
  const out = new Int32Array(n);
  let j = 0;
  for (let p = 0; p < pages; p++) if (mark[p]) out[j++] = p;
  return out;
}
