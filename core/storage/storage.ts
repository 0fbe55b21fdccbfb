// Datastores and the files on them (virtual disks, checkpoint files), with timed IO.
// An IO is admitted by the datastore's IOPS limiter (FIFO, at most `iops` per second), then
// its bytes flow through the datastore's bandwidth, shared max-min with the other IOs in
// flight (the run's FairShare, as for links), and it completes one datastore latency later.
// Backed files are real files under `<outDir>/<datastore>/<name>`, so checkpoints can be
// inspected and restored from; other files keep written bytes in memory.
import { closeSync, ftruncateSync, readSync, unlinkSync, writeSync } from "node:fs";
import { resolve, sep } from "node:path";
import { openBacking } from "./backing.js";
import { inject, injectable } from "tsyringe";
import type { RunConfig } from "../config.js";
import { TOKENS } from "../di/tokens.js";
import { kernelError, type KernelCode, type VmscnError } from "../errors.js";
import { FairShare, type Flow } from "../net/fair-share.js";
import { Scheduler, type EventHandle } from "../sim/scheduler.js";
import { formatTime, SECOND } from "../sim/time.js";
import { DiskDirtyLog } from "./disk-dirty-log.js";
import { AbsentBlocks, type BlockFetch } from "./absent-blocks.js";
import type { Hooks } from "../plugin-host/hooks.js";

export interface DatastoreOptions {
  /** Hosts that can reach the datastore; more than one makes it shared storage. */
  hosts: readonly string[];
  /** Bytes/s, shared by every IO in flight (reads and writes alike). */
  bandwidth: number;
  /** Per-IO latency in ns, added after the bytes went through. */
  latency: number;
  /** IOs admitted per second; unlimited when omitted. */
  iops?: number;
}

export interface CreateFileOptions {
  /** Also a real file under the run's output folder (when the run has one). */
  backing?: boolean;
}

export interface ReadOptions {
  /** Hand the bytes to onDone (default true); false times the IO only, without allocating them. */
  data?: boolean;
}

export type IoKind = "read" | "write";
/** `waiting`: the IO touches absent blocks (`file.markAbsent`) and waits for them to arrive. */
export type IoState = "waiting" | "queued" | "transferring" | "latency" | "done" | "failed" | "cancelled";

export interface DatastoreStats {
  name: string;
  hosts: string[];
  shared: boolean;
  bandwidth: number;
  latency: number;
  /** null when unlimited. */
  iops: number | null;
  bytesRead: number;
  bytesWritten: number;
  reads: number;
  writes: number;
  /** Completed IOs (reads + writes). */
  ios: number;
  /** IOs that failed (their host crashed). */
  failed: number;
  files: number;
  /** The fill fault is on: writes and new files fail. */
  full: boolean;
  /** Current rate through the datastore, bytes/s. */
  rate: number;
}

export interface FileStats {
  datastore: string;
  name: string;
  size: number;
  backed: boolean;
  /** For a backed file, its path relative to the run's output folder. */
  path: string | null;
  bytesRead: number;
  bytesWritten: number;
  reads: number;
  writes: number;
}

export interface StorageStats {
  datastores: DatastoreStats[];
  files: FileStats[];
}

/** In-memory contents of unbacked files are kept in chunks of this size, only where written. */
const CHUNK = 64 * 1024;
/** Zeros to write into a backed file, a chunk at a time. */
const ZERO_CHUNK = new Uint8Array(CHUNK);

/** One IO in progress or finished. */
export class IoRequest {
  state: IoState = "queued";
  /** @internal */ timer: EventHandle | null = null;
  /** @internal */ flow: Flow | null = null;
  /** @internal Absent blocks the IO still waits for, and since when. */
  missing = 0;
  waitSince = 0;
  /** @internal A write of zeros (`writeZeros`): the range reads as zeros at completion, costing no memory. */
  zeros = false;
  /** @internal For a fill (`AbsentBlocks.fill`): the map and the block it brings. */
  fillOf: AbsentBlocks | null = null;
  fillBlock = -1;

  constructor(
    readonly id: number,
    readonly kind: IoKind,
    readonly file: SimFile,
    readonly host: string,
    readonly offset: number,
    readonly length: number,
    /** @internal A private copy of the bytes to write, if any. */ readonly data: Uint8Array | undefined,
    /** @internal */ readonly wantData: boolean,
    /** @internal */ readonly onDone: (bytes: Uint8Array | undefined) => void,
    /** @internal */ readonly onFail: ((err: VmscnError) => void) | undefined,
    private readonly storage: Storage,
  ) {}

  /** Stops the IO without calling anything; a write that did not complete changes nothing. */
  cancel(): boolean {
    return this.storage.stopIo(this, "cancelled");
  }

  describe(): string {
    const dir = this.kind === "read" ? "from" : "to";
    return `${this.kind} of ${this.length} bytes at offset ${this.offset} ${dir} file "${this.file.name}" on datastore "${this.file.datastore.name}"`;
  }
}

export class Datastore {
  bytesRead = 0;
  bytesWritten = 0;
  reads = 0;
  writes = 0;
  failed = 0;
  /** @internal Fair-share resource path of every IO (one array: the key cache reuses it). */
  readonly path: readonly number[];
  /** Set by the `fill` fault: no space left, so writes and new files fail (VMSCN5016). */
  full = false;
  /** IOs issued and not yet finished (waiting for absent blocks, queued for admission, transferring or in latency). */
  inFlight = 0;
  /** @internal Admission time of the last IO, unrounded so spacing never drifts. */
  lastAdmit = -Infinity;
  /** @internal */ readonly fileMap = new Map<string, SimFile>();

  constructor(
    readonly name: string,
    readonly hosts: readonly string[],
    public bandwidth: number,
    readonly latency: number,
    /** IOs per second; Infinity when unlimited. */
    readonly iops: number,
    resource: number,
    private readonly storage: Storage,
  ) {
    this.path = Object.freeze([resource]);
  }

  get shared(): boolean {
    return this.hosts.length > 1;
  }

  file(name: string): SimFile {
    const f = this.fileMap.get(name);
    if (f === undefined) throw this.storage.error("VMSCN5005", `there is no file "${name}" on datastore "${this.name}"`);
    return f;
  }

  hasFile(name: string): boolean {
    return this.fileMap.has(name);
  }

  files(): SimFile[] {
    return [...this.fileMap.values()];
  }

  stats(): DatastoreStats {
    return {
      name: this.name,
      hosts: [...this.hosts],
      shared: this.shared,
      bandwidth: this.bandwidth,
      latency: this.latency,
      iops: this.iops === Infinity ? null : this.iops,
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
      reads: this.reads,
      writes: this.writes,
      ios: this.reads + this.writes,
      failed: this.failed,
      files: this.fileMap.size,
      full: this.full,
      rate: this.storage.rateOf(this),
    };
  }
}

export class SimFile {
  bytesRead = 0;
  bytesWritten = 0;
  reads = 0;
  writes = 0;
  /** @internal Open descriptor of the real file, for backed files. */
  fd: number | undefined;
  /** @internal Written chunks of an unbacked file. */
  readonly chunks = new Map<number, Uint8Array>();
  /** @internal Open dirty-block logs. */
  readonly logs: DiskDirtyLog[] = [];
  /** Blocks not there yet (`markAbsent`), until the last one arrives; null when none. */
  absent: AbsentBlocks | null = null;
  /** IOs on the file not yet finished (waiting, queued, transferring or in latency). */
  inFlight = 0;
  /** Set by `remove`: the file is gone from its datastore. */
  removed = false;
  /** @internal Callbacks of `drain`, run when no IO is in flight. */
  readonly idleWaiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly datastore: Datastore,
    readonly size: number,
    /** Absolute path of the real file, for backed files. */
    readonly realPath: string | undefined,
    /** Path relative to the output folder, for backed files. */
    readonly relativePath: string | undefined,
    private readonly storage: Storage,
  ) {}

  get backed(): boolean {
    return this.realPath !== undefined;
  }

  /**
   * Timed read of `length` bytes at `offset`, issued by `host`. onDone gets the bytes as they
   * are when the IO completes (zeros where nothing was written), unless `options.data` is false.
   */
  read(host: string, offset: number, length: number, onDone: (bytes: Uint8Array | undefined) => void, onFail?: (err: VmscnError) => void, options: ReadOptions = {}): IoRequest {
    return this.storage.issue(this, "read", host, offset, length, undefined, options.data !== false, onDone, onFail);
  }

  /**
   * Timed write at `offset`, issued by `host`: of the given bytes (copied now, stored at
   * completion), or of `length` bytes whose contents are not modelled (the file is unchanged).
   */
  write(host: string, offset: number, dataOrLength: Uint8Array | number, onDone: () => void, onFail?: (err: VmscnError) => void): IoRequest {
    const data = typeof dataOrLength === "number" ? undefined : dataOrLength.slice();
    const length = typeof dataOrLength === "number" ? dataOrLength : dataOrLength.length;
    return this.storage.issue(this, "write", host, offset, length, data, false, () => onDone(), onFail);
  }

  /** Timed write of `length` zero bytes at `offset` (a hole: an unbacked file keeps no memory for them). */
  writeZeros(host: string, offset: number, length: number, onDone: () => void, onFail?: (err: VmscnError) => void): IoRequest {
    const io = this.storage.issue(this, "write", host, offset, length, undefined, false, () => onDone(), onFail);
    // Completion is always a later event, so the mark is in place by then.
    io.zeros = true;
    return io;
  }

  /** Whether the bytes at `offset..offset+length` are all zeros now, untimed (a copier choosing to send a zero marker). */
  isZeroRange(offset: number, length: number): boolean {
    this.storage.checkBounds(this, "peek", offset, length);
    if (this.fd === undefined) return this.forChunks(offset, length, (_c, chunk, from, to) => isZero(chunk.subarray(from, to)));
    for (let at = offset; at < offset + length; at += CHUNK) if (!isZero(this.contents(at, Math.min(CHUNK, offset + length - at)))) return false;
    return true;
  }

  /** A log of the blocks of `blockBytes` that writes change from now on (close it when done). */
  openDirtyLog(blockBytes: number): DiskDirtyLog {
    if (!Number.isSafeInteger(blockBytes) || blockBytes <= 0) throw this.storage.error("VMSCN5011", `a dirty-block log of file "${this.name}" needs a whole, positive block size, not ${blockBytes}`);
    const log = new DiskDirtyLog(this.size, blockBytes, (l) => this.logs.splice(this.logs.indexOf(l), 1));
    this.logs.push(log);
    return log;
  }

  /**
   * Marks blocks of `blockBytes` absent (`blocks`, or every block when null): an IO touching
   * one waits until each absent block it covers has been brought by `fill` of the returned map;
   * `fetch` is told of every absent block a waiting IO needs. One map per file at a time; it
   * detaches itself when its last block has arrived.
   */
  markAbsent(blockBytes: number, blocks: Int32Array | null, fetch: BlockFetch): AbsentBlocks {
    if (!Number.isSafeInteger(blockBytes) || blockBytes <= 0) throw this.storage.error("VMSCN5011", `absent blocks of file "${this.name}" need a whole, positive block size, not ${blockBytes}`);
    if (this.absent !== null) throw this.storage.error("VMSCN5011", `file "${this.name}" on datastore "${this.datastore.name}" has absent blocks already`);
    if (this.removed) throw this.storage.error("VMSCN5005", `file "${this.name}" was removed from datastore "${this.datastore.name}"`);
    const map = new AbsentBlocks(this, blockBytes, blocks, this.storage.hooks.adopt(fetch, "absent-block fetch"), this.storage);
    if (map.count > 0) this.absent = map;
    return map;
  }

  /** Calls `onIdle` once no IO on the file is in flight: at once when none is, else when the last one ends. */
  drain(onIdle: () => void): void {
    if (this.inFlight === 0) onIdle();
    else this.idleWaiters.push(this.storage.hooks.adopt(onIdle, "drain onIdle"));
  }

  /**
   * Deletes the file from its datastore (a real file too). Refused while an IO on it is in
   * flight (VMSCN5011: cancel yours first); its dirty-block logs close, its absent blocks are dropped.
   */
  remove(): void {
    this.storage.removeFile(this);
  }

  /** The file's current bytes, untimed (for inspection and tests; absent blocks read as they are). */
  peek(offset: number, length: number): Uint8Array {
    this.storage.checkBounds(this, "peek", offset, length);
    return this.contents(offset, length);
  }

  stats(): FileStats {
    return {
      datastore: this.datastore.name,
      name: this.name,
      size: this.size,
      backed: this.backed,
      path: this.relativePath ?? null,
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
      reads: this.reads,
      writes: this.writes,
    };
  }

  /** @internal */
  contents(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    if (this.fd !== undefined) {
      let done = 0;
      while (done < length) {
        const n = readSync(this.fd, out, done, length - done, offset + done);
        if (n === 0) break; // past the end of a file shortened by someone else: zeros
        done += n;
      }
      return out;
    }
    if (this.chunks.size === 0) return out;
    const end = offset + length;
    for (let c = Math.floor(offset / CHUNK); c * CHUNK < end; c++) {
      const chunk = this.chunks.get(c);
      if (chunk === undefined) continue;
      const from = Math.max(offset, c * CHUNK);
      const to = Math.min(end, (c + 1) * CHUNK);
      out.set(chunk.subarray(from - c * CHUNK, to - c * CHUNK), from - offset);
    }
    return out;
  }

  /** @internal Zeros over `offset..offset+length`: chunks it covers are dropped, others cleared in part. */
  zero(offset: number, length: number): void {
    if (this.fd !== undefined) {
      for (let at = offset; at < offset + length; at += CHUNK) {
        const n = Math.min(CHUNK, offset + length - at);
        writeSync(this.fd, ZERO_CHUNK, 0, n, at);
      }
      return;
    }
    this.forChunks(offset, length, (c, chunk, from, to) => {
      if (from === 0 && to === CHUNK) this.chunks.delete(c);
      else chunk.fill(0, from, to);
    });
  }

  /** Calls `fn` for each written chunk of an unbacked file the range covers, with the part covered (in the chunk); false from `fn` stops it (and is returned). */
  private forChunks(offset: number, length: number, fn: (c: number, chunk: Uint8Array, from: number, to: number) => boolean | void): boolean {
    const end = offset + length;
    for (let c = Math.floor(offset / CHUNK); c * CHUNK < end; c++) {
      const chunk = this.chunks.get(c);
      if (chunk !== undefined && fn(c, chunk, Math.max(offset, c * CHUNK) - c * CHUNK, Math.min(end, (c + 1) * CHUNK) - c * CHUNK) === false) return false;
    }
    return true;
  }

  /** @internal */
  store(offset: number, data: Uint8Array): void {
    if (this.fd !== undefined) {
      let done = 0;
      while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, offset + done);
      return;
    }
    const end = offset + data.length;
    for (let c = Math.floor(offset / CHUNK); c * CHUNK < end; c++) {
      const from = Math.max(offset, c * CHUNK);
      const to = Math.min(end, (c + 1) * CHUNK);
      const part = data.subarray(from - offset, to - offset);
      let chunk = this.chunks.get(c);
      if (chunk === undefined) {
        // Zeros where nothing was written read as zeros already: no chunk (a copied disk's
        // empty blocks cost no memory).
        if (isZero(part)) continue;
        chunk = new Uint8Array(CHUNK);
        this.chunks.set(c, chunk);
      }
      chunk.set(part, from - c * CHUNK);
    }
  }
}

@injectable()
export class Storage {
  private readonly stores = new Map<string, Datastore>();
  private readonly crashed = new Set<string>();
  /** IOs in progress by issuing host, so a crash finds them. */
  private readonly active = new Map<string, Set<IoRequest>>();
  private nextIo = 1;

  constructor(
    @inject(TOKENS.Scheduler) private readonly scheduler: Scheduler,
    @inject(TOKENS.FairShare) private readonly fairShare: FairShare,
    @inject(TOKENS.RunConfig) private readonly config: RunConfig,
    /** Callbacks a plugin hands a file (onDone, onFail, fetch, onIdle) run as its hooks. */
    @inject(TOKENS.Hooks) readonly hooks: Hooks,
  ) {}

  addDatastore(name: string, opts: DatastoreOptions): Datastore {
    if (this.stores.has(name)) throw this.error("VMSCN5006", `datastore "${name}" already exists`);
    if (opts.hosts.length === 0) throw this.error("VMSCN5011", `datastore "${name}" is reachable from no host; give it at least one`);
    if (!(opts.bandwidth > 0)) throw this.error("VMSCN5011", `datastore "${name}" was given a bandwidth of ${opts.bandwidth} bytes/s; it must be > 0`);
    if (!(opts.latency >= 0) || !Number.isSafeInteger(opts.latency)) {
      throw this.error("VMSCN5011", `datastore "${name}" was given a latency of ${opts.latency} ns; it must be a whole number of ns ≥ 0`);
    }
    const iops = opts.iops ?? Infinity;
    if (!(iops > 0)) throw this.error("VMSCN5011", `datastore "${name}" was given ${opts.iops} IOPS; it must be > 0`);
    const resource = this.fairShare.addResource(`datastore:${name}`, opts.bandwidth);
    const ds = new Datastore(name, Object.freeze([...opts.hosts]), opts.bandwidth, opts.latency, iops, resource, this);
    this.stores.set(name, ds);
    return ds;
  }

  datastore(name: string): Datastore {
    const ds = this.stores.get(name);
    if (ds === undefined) throw this.error("VMSCN5005", `there is no datastore "${name}"`);
    return ds;
  }

  hasDatastore(name: string): boolean {
    return this.stores.has(name);
  }

  datastores(): Datastore[] {
    return [...this.stores.values()];
  }

  /** Whether `host` is attached to the datastore (a crashed host still is, but its IOs fail). */
  reachable(datastore: string, host: string): boolean {
    return this.datastore(datastore).hosts.includes(host);
  }

  createFile(datastore: string, name: string, sizeBytes: number, opts: CreateFileOptions = {}): SimFile {
    const ds = this.datastore(datastore);
    if (name.length === 0) throw this.error("VMSCN5011", `a file on datastore "${ds.name}" needs a name`);
    if (ds.fileMap.has(name)) throw this.error("VMSCN5006", `file "${name}" already exists on datastore "${ds.name}"`);
    if (ds.full) throw this.error("VMSCN5016", `no space left on datastore "${ds.name}" for file "${name}" (${sizeBytes} bytes)`);
    if (!(sizeBytes >= 0) || !Number.isSafeInteger(sizeBytes)) {
      throw this.error("VMSCN5011", `file "${name}" on datastore "${ds.name}" was given a size of ${sizeBytes} bytes; it must be a whole number ≥ 0`);
    }
    let realPath: string | undefined;
    let relativePath: string | undefined;
    let fd: number | undefined;
    if (opts.backing === true && this.config.outDir !== undefined) {
      const root = resolve(this.config.outDir);
      realPath = resolve(root, ds.name, name);
      if (!realPath.startsWith(resolve(root, ds.name) + sep) || !resolve(root, ds.name).startsWith(root + sep)) {
        throw this.error("VMSCN5011", `file "${name}" on datastore "${ds.name}" would be stored outside the output folder "${this.config.outDir}"`);
      }
      relativePath = realPath.slice(root.length + 1).split(sep).join("/");
      fd = openBacking(root, realPath, (what) => this.error("VMSCN5011", `file "${name}" on datastore "${ds.name}" cannot be stored under the output folder "${this.config.outDir}": ${what}`));
      // Truncated: what an earlier run left goes, so a run's files depend on that run only.
      ftruncateSync(fd, 0);
      ftruncateSync(fd, sizeBytes);
    }
    const f = new SimFile(name, ds, sizeBytes, realPath, relativePath, this);
    f.fd = fd;
    ds.fileMap.set(name, f);
    return f;
  }

  file(datastore: string, name: string): SimFile {
    return this.datastore(datastore).file(name);
  }

  /** A host crash: every IO it issued fails (VMSCN5010); its later IOs are refused. */
  failHost(host: string): void {
    if (this.crashed.has(host)) return;
    this.crashed.add(host);
    const ios = this.active.get(host);
    if (ios === undefined) return;
    const when = formatTime(this.scheduler.now);
    for (const io of [...ios]) this.failIo(io, kernelError("VMSCN5010", `host "${host}" crashed at ${when}: its ${io.describe()} failed`, { time: this.scheduler.now, where: host }));
  }

  /** @internal Ends an IO as failed; its onFail gets `err` on its own event (so the code that failed it finishes first). */
  failIo(io: IoRequest, err: VmscnError): void {
    if (!this.stopIo(io, "failed")) return;
    io.file.datastore.failed++;
    const cb = io.onFail;
    this.scheduler.at(this.scheduler.now, () => {
      if (cb === undefined) throw err;
      cb(err);
    });
  }

  /** @internal `file.remove()`. */
  removeFile(f: SimFile): void {
    if (f.removed) return;
    if (f.inFlight > 0) throw this.error("VMSCN5011", `file "${f.name}" on datastore "${f.datastore.name}" has ${f.inFlight} IO(s) in flight; it cannot be removed before they end`);
    for (const log of [...f.logs]) log.close();
    f.absent = null;
    if (f.fd !== undefined) {
      closeSync(f.fd);
      f.fd = undefined;
      unlinkSync(f.realPath!);
    }
    f.chunks.clear();
    f.removed = true;
    f.datastore.fileMap.delete(f.name);
  }

  /** @internal The simulated time now. */
  get now(): number {
    return this.scheduler.now;
  }

  restoreHost(host: string): void {
    this.crashed.delete(host);
  }

  stats(): StorageStats {
    const datastores = this.datastores();
    return {
      datastores: datastores.map((d) => d.stats()),
      files: datastores.flatMap((d) => d.files().map((f) => f.stats())),
    };
  }

  /** Closes the real files' descriptors (the files stay on disk). */
  close(): void {
    for (const ds of this.stores.values()) {
      for (const f of ds.fileMap.values()) {
        if (f.fd !== undefined) closeSync(f.fd);
        f.fd = undefined;
      }
    }
  }

  /** The `slow` fault (and its repair): the datastore's bandwidth changes; IOs in flight share the new rate. */
  setBandwidth(name: string, bytesPerSec: number): void {
    const ds = this.datastore(name);
    if (!(bytesPerSec > 0) || !Number.isFinite(bytesPerSec)) throw this.error("VMSCN5011", `datastore "${name}" was given a bandwidth of ${bytesPerSec} bytes/s; it must be > 0`);
    ds.bandwidth = bytesPerSec;
    this.fairShare.setCapacity(ds.path[0]!, bytesPerSec);
  }

  /** The `fill` fault: from now on writes and new files on the datastore fail (VMSCN5016); IOs in flight finish. */
  setFull(name: string, full: boolean): void {
    this.datastore(name).full = full;
  }

  /** @internal */
  rateOf(ds: Datastore): number {
    return this.fairShare.resourceRate(ds.path[0]!);
  }

  /** @internal */
  checkBounds(f: SimFile, what: string, offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) {
      throw this.error("VMSCN5011", `a ${what} of file "${f.name}" on datastore "${f.datastore.name}" was given offset ${offset} and length ${length}; both must be whole numbers`);
    }
    if (offset < 0 || length < 0 || offset + length > f.size) {
      throw this.error("VMSCN5012", `a ${what} of ${length} bytes at offset ${offset} is outside file "${f.name}" on datastore "${f.datastore.name}" (${f.size} bytes)`);
    }
  }

  /** @internal */
  issue(
    f: SimFile,
    kind: IoKind,
    host: string,
    offset: number,
    length: number,
    data: Uint8Array | undefined,
    wantData: boolean,
    onDone: (bytes: Uint8Array | undefined) => void,
    onFail: ((err: VmscnError) => void) | undefined,
    fillBlock = -1,
  ): IoRequest {
    const ds = f.datastore;
    if (f.removed) throw this.error("VMSCN5005", `file "${f.name}" was removed from datastore "${ds.name}": it cannot be ${kind === "read" ? "read" : "written"}`, host);
    if (!ds.hosts.includes(host)) {
      throw this.error("VMSCN5012", `datastore "${ds.name}" is not reachable from host "${host}" (it is attached to ${ds.hosts.map((h) => `"${h}"`).join(", ")})`, host);
    }
    if (this.crashed.has(host)) {
      throw this.error("VMSCN5010", `host "${host}" is down: it cannot ${kind} file "${f.name}" on datastore "${ds.name}"`, host);
    }
    this.checkBounds(f, kind, offset, length);
    if (kind === "write" && ds.full) throw this.error("VMSCN5016", `no space left on datastore "${ds.name}": a write of ${length} bytes to file "${f.name}" failed`, host);
    const absent = f.absent;
    const waits = fillBlock < 0 && absent !== null && absent.touches(offset, length);
    const io = new IoRequest(this.nextIo++, kind, f, host, offset, length, data, wantData, this.hooks.adopt(onDone, kind === "read" ? "read onDone" : "write onDone"), this.hooks.adopt(onFail, kind === "read" ? "read onFail" : "write onFail"), this);
    if (waits && absent.failed !== null) throw absent.refusal(io.describe(), host);
    if (fillBlock >= 0) {
      io.fillOf = absent;
      io.fillBlock = fillBlock;
    }
    let set = this.active.get(host);
    if (set === undefined) {
      set = new Set();
      this.active.set(host, set);
    }
    set.add(io);
    ds.inFlight++;
    f.inFlight++;
    if (waits) absent.wait(io);
    else this.admit(io);
    return io;
  }

  /** @internal An IO goes to the datastore's IOPS limiter, then its bytes flow. */
  admit(io: IoRequest): void {
    const ds = io.file.datastore;
    io.state = "queued";
    const now = this.scheduler.now;
    let admit = now;
    if (ds.iops !== Infinity) {
      // FIFO admission at most `iops` per second: max(now, last admission + 1/iops).
      const t = Math.max(now, ds.lastAdmit + SECOND / ds.iops);
      ds.lastAdmit = t;
      admit = Math.ceil(t - 1e-6);
    }
    if (admit <= now) this.startFlow(io);
    else
      io.timer = this.scheduler.at(admit, () => {
        io.timer = null;
        this.startFlow(io);
      });
  }

  /** @internal Ends an IO early; false if it already ended. */
  stopIo(io: IoRequest, state: "failed" | "cancelled"): boolean {
    if (io.state === "done" || io.state === "failed" || io.state === "cancelled") return false;
    io.timer?.cancel();
    io.timer = null;
    io.flow?.cancel();
    io.flow = null;
    io.state = state;
    this.active.get(io.host)!.delete(io);
    io.file.datastore.inFlight--;
    io.fillOf?.arrived(io.fillBlock, true);
    this.ended(io.file);
    return true;
  }

  /** One IO fewer on the file: `drain` callbacks run once none is left (on their own event, so what ended the IO finishes first). */
  private ended(f: SimFile): void {
    f.inFlight--;
    if (f.inFlight > 0 || f.idleWaiters.length === 0) return;
    this.scheduler.at(this.scheduler.now, () => {
      if (f.inFlight > 0) return;
      for (const cb of f.idleWaiters.splice(0)) cb();
    });
  }

  private startFlow(io: IoRequest): void {
    const ds = io.file.datastore;
    io.state = "transferring";
    io.flow = this.fairShare.start({
      resources: ds.path,
      bytes: io.length,
      onDrained: () => {
        io.flow = null;
        io.state = "latency";
        io.timer = this.scheduler.after(ds.latency, () => this.complete(io));
      },
    });
  }

  private complete(io: IoRequest): void {
    io.timer = null;
    io.state = "done";
    this.active.get(io.host)!.delete(io);
    io.file.datastore.inFlight--;
    const f = io.file;
    const ds = f.datastore;
    if (io.kind === "write") {
      if (io.data !== undefined) f.store(io.offset, io.data);
      else if (io.zeros) f.zero(io.offset, io.length);
      for (const log of f.logs) log.mark(io.offset, io.length);
      f.writes++;
      f.bytesWritten += io.length;
      ds.writes++;
      ds.bytesWritten += io.length;
      // A fill makes its block present (IOs waiting for it start) before its own callback runs.
      io.fillOf?.arrived(io.fillBlock, false);
      io.onDone(undefined);
    } else {
      f.reads++;
      f.bytesRead += io.length;
      ds.reads++;
      ds.bytesRead += io.length;
      io.onDone(io.wantData ? f.contents(io.offset, io.length) : undefined);
    }
    this.ended(f);
  }

  /** @internal */
  error(code: KernelCode, message: string, where?: string): VmscnError {
    return kernelError(code, message, { time: this.scheduler.now, ...(where === undefined ? {} : { where }) });
  }
}

/** Whether every byte is 0. */
export function isZero(b: Uint8Array): boolean {
  let i = 0;
  if (b.byteOffset % 4 === 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset, b.length >> 2);
    for (; i < w.length; i++) if (w[i] !== 0) return false;
    i = w.length * 4;
  }
  for (; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
