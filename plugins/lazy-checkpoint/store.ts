// Where a checkpoint file's bytes live: a real file (under the run's output folder, or a path
// a restore names), or memory when the run has no output folder. The simulated datastore
// times the IO; these hold the bytes. Writes happen in simulated-time order, so a file's
// contents depend on the simulation only. A save writes its real file under a temporary name
// beside the final one and gives it the final name when the save completes (issue 9's rule):
// a save that fails, or a run that stops mid-save, never leaves a file under the final name
// that looks complete.
//
// The output folder is the user's; what lies under it may have been planted (README.md,
// "Files"). So a save's file never leaves it and is never written through a link: the
// folders below the output folder are checked one by one (lstat) and created one at a time,
// the final name must be absent or a regular file, and the temporary file is created
// exclusively (O_EXCL, O_NOFOLLOW) under a name with 64 random bits from node:crypto, so it
// can be neither guessed nor planted in advance. The name reaches no report and no simulated
// figure: runs stay deterministic. Another run sharing the output folder is never clobbered:
// the final name is taken only if it is still what it was when the save began (absent: a
// hard link, which fails if it appeared meanwhile), else the save fails with VMSCN7311.
import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readSync, realpathSync, renameSync, rmSync, statSync, writeSync, type Stats } from "node:fs";
import { join } from "node:path";
import { makeFolders } from "../../core/api.js";

export interface ByteStore {
  /** The real file's path (where a save puts it once complete), or null for bytes kept in memory or a failed save's. */
  readonly path: string | null;
  /** Bytes up to the end of the last write (or the file's size when opened for reading). */
  readonly size: number;
  write(offset: number, data: Uint8Array): void;
  /**
   * `length` bytes at `offset`; fewer when the file ends sooner. With `into` (at least `length`
   * bytes), they are read into it and a view of it is returned: a restore's buffers are
   * allocated once, not per read.
   */
  read(offset: number, length: number, into?: Uint8Array): Uint8Array;
  /** The save completed: the file takes its final name (a StoreRefusal if another process took it meanwhile). */
  commit(): void;
  /**
   * The save failed: the real file (under its temporary name) is removed; the first `keep`
   * bytes stay readable, so the simulation still sees the incomplete file (a restore reads its
   * header and refuses it).
   */
  discard(keep: number): void;
  close(): void;
}

/** A path a checkpoint file may not take or be read from, or a name another process took: the code and why. */
export class StoreRefusal extends Error {
  constructor(
    readonly code: "VMSCN7306" | "VMSCN7307" | "VMSCN7310" | "VMSCN7311",
    message: string,
  ) {
    super(message);
  }
}

/** What a directory entry is, in a sentence: "a folder", "a FIFO", "a symbolic link". */
export function describeKind(st: Stats): string {
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isDirectory()) return "a folder";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  return "a regular file";
}

const READ_CHUNK = 1 << 30;
/** A FIFO opened for reading would block until a writer comes: never wait for one. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
const NO_LINK = constants.O_NOFOLLOW;

/**
 * A real file: created for a save under a temporary name until `commit()` (`FileStore.create`),
 * or opened read-only for a restore or `vmscn checkpoint inspect` (`openPath`, `openInside`).
 */
export class FileStore implements ByteStore {
  private fd: number | undefined;
  size: number;
  /** Where the bytes are on disk now: the temporary name while a save writes, then the final one. */
  current: string | null;
  path: string | null;
  /** After `discard`: the bytes kept of a failed save's file. */
  private kept: Uint8Array | null = null;
  /** The file itself: a descriptor opened again must find the same one. */
  private readonly id: Stats;

  private constructor(
    fd: number,
    path: string,
    current: string,
    private readonly mode: "create" | "read",
    /** Reads: whether the path may name a link (a path the scenario gave), or never (a file under the output folder). */
    private readonly follow: boolean,
    /** Saves: the final name as it was when the save began (null: absent). */
    private readonly before: Stats | null,
  ) {
    this.fd = fd;
    this.path = path;
    this.current = current;
    this.id = fstatSync(fd);
    this.size = mode === "create" ? 0 : this.id.size;
  }

  /**
   * A save's file `name` in folder `parts` (the datastore's, and any folders the name has) under
   * the output folder `root`, which the caller has checked it stays in. Throws StoreRefusal
   * (VMSCN7310) for a link or a special file on the way, or an fs error.
   */
  static create(root: string, parts: readonly string[], name: string): FileStore {
    const dir = safeFolder(root, parts);
    const path = join(dir, name);
    const before = regularOrAbsent(path, root);
    const tmp = `${path}.tmp-${randomBytes(8).toString("hex")}`;
    const fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NO_LINK, 0o666);
    // A folder swapped for a link between the checks and the open would show here.
    if (realpathSync(dir) !== join(realpathSync(root), ...parts)) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw new StoreRefusal("VMSCN7310", `a folder on the way to "${path}" was replaced by a link while the file was created; nothing is written through a link`);
    }
    return new FileStore(fd, path, tmp, "create", false, before);
  }

  /** A file a restore names by path, or `vmscn checkpoint inspect` reads: it may be a link (the user named it), but only to a regular file. */
  static openPath(path: string): FileStore {
    let st: Stats;
    try {
      st = statSync(path);
    } catch (err) {
      throw unreadable(err);
    }
    if (!st.isFile()) throw new StoreRefusal("VMSCN7310", `it is ${describeKind(st)}, not a regular file`);
    return FileStore.openRead(path, path, READ_FLAGS, true);
  }

  /** A file of an earlier run under the output folder `root`: no link is followed on the way (VMSCN7310), a missing one is VMSCN7306. */
  static openInside(root: string, parts: readonly string[], name: string): FileStore {
    let cur = root;
    for (const p of [...parts, name]) {
      cur = join(cur, p);
      let st: Stats;
      try {
        st = lstatSync(cur);
      } catch (err) {
        throw unreadable(err);
      }
      if (st.isSymbolicLink()) throw new StoreRefusal("VMSCN7310", `"${cur}" is a symbolic link: a checkpoint file is read from inside the output folder "${root}" only, never through a link`);
      if (p !== name && !st.isDirectory()) throw new StoreRefusal("VMSCN7310", `"${cur}" is ${describeKind(st)}, not a folder`);
      if (p === name && !st.isFile()) throw new StoreRefusal("VMSCN7310", `it is ${describeKind(st)}, not a regular file`);
    }
    return FileStore.openRead(cur, cur, READ_FLAGS | NO_LINK, false);
  }

  private static openRead(path: string, current: string, flags: number, follow: boolean): FileStore {
    let fd: number;
    try {
      fd = openSync(current, flags);
    } catch (err) {
      throw unreadable(err);
    }
    // Checked again on the descriptor: the path may have changed since it was looked at.
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw new StoreRefusal("VMSCN7310", `it is ${describeKind(st)}, not a regular file`);
    }
    return new FileStore(fd, path, current, "read", follow, null);
  }

  /** The descriptor, opened again (never truncating, never through a link it did not follow at first) after close(): a run may go on after its end signal. */
  private get handle(): number {
    if (this.fd === undefined) {
      const fd = openSync(this.current!, this.mode === "create" ? constants.O_RDWR | NO_LINK : this.follow ? READ_FLAGS : READ_FLAGS | NO_LINK);
      const st = fstatSync(fd);
      if (st.ino !== this.id.ino || st.dev !== this.id.dev) {
        closeSync(fd);
        throw new StoreRefusal("VMSCN7311", `"${this.current}" was replaced by another file while this run used it`);
      }
      this.fd = fd;
    }
    return this.fd;
  }

  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.handle, data, done, data.length - done, offset + done);
    this.size = Math.max(this.size, offset + data.length);
  }

  read(offset: number, length: number, into?: Uint8Array): Uint8Array {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const out = into ? into.subarray(0, n) : new Uint8Array(n);
    if (this.kept) {
      if (offset < this.kept.length) out.set(this.kept.subarray(offset, Math.min(this.kept.length, offset + out.length)));
      return out;
    }
    let done = 0;
    while (done < out.length) {
      const n = readSync(this.handle, out, done, Math.min(READ_CHUNK, out.length - done), offset + done);
      if (n === 0) return out.subarray(0, done);
      done += n;
    }
    return out;
  }

  commit(): void {
    if (this.mode !== "create" || this.current === this.path || this.path === null) return;
    const path = this.path;
    const tmp = this.current!;
    const now = lstatOrNull(path);
    const was = this.before;
    if (was === null ? now !== null : now === null || !sameFile(was, now)) throw taken(path, was === null ? "created" : now === null ? "removed" : "replaced");
    if (was !== null) {
      renameSync(tmp, path);
    } else {
      // A hard link never replaces: it fails if the name appeared since the look above.
      try {
        linkSync(tmp, path);
        rmSync(tmp, { force: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EEXIST") throw taken(path, "created");
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw err;
        // A file system without hard links: the look above, then a rename.
        renameSync(tmp, path);
      }
    }
    this.current = path;
  }

  discard(keep: number): void {
    if (this.mode !== "create" || this.kept) return;
    const head = this.read(0, keep);
    this.close();
    rmSync(this.current!, { force: true });
    this.kept = head;
    this.current = null;
    this.path = null;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The folders `parts` under `root`, each checked (lstat: a folder, not a link) or created one at a time; returns the last. */
function safeFolder(root: string, parts: readonly string[]): string {
  makeFolders(root);
  let cur = root;
  for (const part of parts) {
    cur = join(cur, part);
    let st = lstatOrNull(cur);
    if (st === null) {
      try {
        mkdirSync(cur);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      st = lstatSync(cur);
    }
    if (st.isSymbolicLink()) throw new StoreRefusal("VMSCN7310", `"${cur}" is a symbolic link: a checkpoint file stays inside the output folder "${root}" and is never written through a link`);
    if (!st.isDirectory()) throw new StoreRefusal("VMSCN7310", `"${cur}" is ${describeKind(st)}, not a folder`);
  }
  return cur;
}

/** The final name's entry: absent (null) or a regular file; a link or a special file is refused. */
function regularOrAbsent(path: string, root: string): Stats | null {
  const st = lstatOrNull(path);
  if (st === null || st.isFile()) return st;
  if (st.isSymbolicLink()) throw new StoreRefusal("VMSCN7310", `"${path}" is a symbolic link: a checkpoint file stays inside the output folder "${root}" and is never written through a link`);
  throw new StoreRefusal("VMSCN7310", `"${path}" is ${describeKind(st)}: a checkpoint file only ever replaces a regular file`);
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw err;
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && b.isFile();
}

function taken(path: string, how: string): StoreRefusal {
  return new StoreRefusal("VMSCN7311", `another process ${how} "${path}" while this save was writing it (two runs sharing an output folder?); this save is dropped rather than overwrite it`);
}

/** A file that cannot be opened for reading: missing (VMSCN7306) or refused by the system. */
function unreadable(err: unknown): StoreRefusal {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "ENOENT" || e.code === "ENOTDIR") return new StoreRefusal("VMSCN7306", "it does not exist");
  return new StoreRefusal("VMSCN7306", e.message);
}

const CHUNK = 1024 * 1024;

/** Bytes in memory, in 1 MiB chunks allocated where written. */
export class MemoryStore implements ByteStore {
  readonly path = null;
  size = 0;
  private readonly chunks = new Map<number, Uint8Array>();

  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    for (let c = Math.floor(offset / CHUNK); c * CHUNK < end; c++) {
      let chunk = this.chunks.get(c);
      if (chunk === undefined) this.chunks.set(c, (chunk = new Uint8Array(CHUNK)));
      const from = Math.max(offset, c * CHUNK);
      const to = Math.min(end, (c + 1) * CHUNK);
      chunk.set(data.subarray(from - offset, to - offset), from - c * CHUNK);
    }
    this.size = Math.max(this.size, end);
  }

  read(offset: number, length: number, into?: Uint8Array): Uint8Array {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const out = into ? into.subarray(0, n).fill(0) : new Uint8Array(n);
    const end = offset + out.length;
    for (let c = Math.floor(offset / CHUNK); c * CHUNK < end; c++) {
      const chunk = this.chunks.get(c);
      if (chunk === undefined) continue;
      const from = Math.max(offset, c * CHUNK);
      const to = Math.min(end, (c + 1) * CHUNK);
      out.set(chunk.subarray(from - c * CHUNK, to - c * CHUNK), from - offset);
    }
    return out;
  }

  commit(): void {}

  /** Bytes in memory stay as written: a restore reads the incomplete header and refuses it. */
  discard(): void {}

  /** For tests: damage the bytes as a failing disk would. */
  corrupt(offset: number, bytes: Uint8Array): void {
    this.write(offset, bytes);
  }

  /** For tests: cut the file short. */
  truncate(length: number): void {
    this.size = Math.min(this.size, length);
  }

  close(): void {}
}
