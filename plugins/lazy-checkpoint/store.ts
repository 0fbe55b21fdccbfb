// Where a checkpoint file's bytes live: a real file (under the run's output folder, or a path
// a restore names), or memory when the run has no output folder. The simulated datastore
// times the IO; these hold the bytes. Writes happen in simulated-time order, so a file's
// contents depend on the simulation only. A save writes its real file under a temporary name
// beside the final one and renames it when the save completes (issue 9's rule): a save that
// fails, or a run that stops mid-save, never leaves a file under the final name that looks
// complete.
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export interface ByteStore {
  /** The real file's path (where a save puts it once complete), or null for bytes kept in memory or a failed save's. */
  readonly path: string | null;
  /** Bytes up to the end of the last write (or the file's size when opened for reading). */
  readonly size: number;
  write(offset: number, data: Uint8Array): void;
  /** `length` bytes at `offset`; fewer when the file ends sooner. */
  read(offset: number, length: number): Uint8Array;
  /** The save completed: the file takes its final name. */
  commit(): void;
  /**
   * The save failed: the real file (under its temporary name) is removed; the first `keep`
   * bytes stay readable, so the simulation still sees the incomplete file (a restore reads its
   * header and refuses it).
   */
  discard(keep: number): void;
  close(): void;
}

/**
 * A real file: opened read-only for a restore, or created for a save under the temporary name
 * `<path>.tmp-<tag>` (the tag is deterministic: the run's save number) until `commit()`.
 */
export class FileStore implements ByteStore {
  private fd: number | undefined;
  size: number;
  /** Where the bytes are on disk now: the temporary name while a save writes, then the final one. */
  current: string | null;
  path: string | null;
  /** After `discard`: the bytes kept of a failed save's file. */
  private kept: Uint8Array | null = null;

  constructor(
    path: string,
    private readonly mode: "create" | "read",
    tag = "0",
  ) {
    this.path = path;
    this.current = mode === "create" ? `${path}.tmp-${tag}` : path;
    if (mode === "create") mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(this.current, mode === "create" ? "w+" : "r");
    this.size = mode === "create" ? 0 : fstatSync(this.fd).size;
  }

  /** The descriptor, opened again (never truncating) after close(): a run may go on after its end signal. */
  private get handle(): number {
    this.fd ??= openSync(this.current!, this.mode === "create" ? "r+" : "r");
    return this.fd;
  }

  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.handle, data, done, data.length - done, offset + done);
    this.size = Math.max(this.size, offset + data.length);
  }

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(length, this.size - offset)));
    if (this.kept) {
      if (offset < this.kept.length) out.set(this.kept.subarray(offset, Math.min(this.kept.length, offset + out.length)));
      return out;
    }
    let done = 0;
    while (done < out.length) {
      const n = readSync(this.handle, out, done, out.length - done, offset + done);
      if (n === 0) return out.subarray(0, done);
      done += n;
    }
    return out;
  }

  commit(): void {
    if (this.mode !== "create" || this.current === this.path) return;
    renameSync(this.current!, this.path!);
    this.current = this.path;
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

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(length, this.size - offset)));
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
