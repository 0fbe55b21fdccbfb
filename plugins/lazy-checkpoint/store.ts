// Where a checkpoint file's bytes live: a real file (under the run's output folder, or a path
// a restore names), or memory when the run has no output folder. The simulated datastore
// times the IO; these hold the bytes. Writes happen in simulated-time order, so a file's
// contents depend on the simulation only.
import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export interface ByteStore {
  /** The real file's path, or null for bytes kept in memory. */
  readonly path: string | null;
  /** Bytes up to the end of the last write (or the file's size when opened for reading). */
  readonly size: number;
  write(offset: number, data: Uint8Array): void;
  /** `length` bytes at `offset`; fewer when the file ends sooner. */
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

/** A real file, created anew (truncated) for a save or opened read-only for a restore. */
export class FileStore implements ByteStore {
  private fd: number | undefined;
  size: number;

  constructor(
    readonly path: string,
    private readonly mode: "create" | "read",
  ) {
    if (mode === "create") mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, mode === "create" ? "w+" : "r");
    this.size = mode === "create" ? 0 : fstatSync(this.fd).size;
  }

  /** The descriptor, opened again (never truncating) after close(): a run may go on after its end signal. */
  private get handle(): number {
    this.fd ??= openSync(this.path, this.mode === "create" ? "r+" : "r");
    return this.fd;
  }

  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.handle, data, done, data.length - done, offset + done);
    this.size = Math.max(this.size, offset + data.length);
  }

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(length, this.size - offset)));
    let done = 0;
    while (done < out.length) {
      const n = readSync(this.handle, out, done, out.length - done, offset + done);
      if (n === 0) return out.subarray(0, done);
      done += n;
    }
    return out;
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
