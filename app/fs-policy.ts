// What a scenario may read (docs/security.md): the files it names — imports and workload
// traces — must lie, symbolic links resolved, in its own folder tree or in a folder the user
// allowed (--allow-read); they must be regular files, so a device, a FIFO or /dev/zero is
// never opened; and they must be smaller than a limit, so a huge or growing file cannot
// exhaust memory. The file the user named is read without the folder rule (the user chose it).
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { ReadRefused, type ReadFile } from "../dsl/load.js";

/** The largest scenario or platform file. */
export const SCENARIO_FILE_LIMIT = 16 * 2 ** 20;
/** All the files one scenario reads for its sources: a file importing thousands stays bounded. */
export const SCENARIO_TOTAL_LIMIT = 64 * 2 ** 20;
/** The largest workload trace file. */
export const TRACE_FILE_LIMIT = 256 * 2 ** 20;

export interface ReadPolicy {
  /** Real paths of the folders whose trees a scenario may read. */
  readonly roots: readonly string[];
}

/** The scenario's own folder and the allowed ones (relative to `cwd`), as real paths. */
export function readPolicy(mainPath: string, allowRead: readonly string[] = [], cwd = process.cwd()): ReadPolicy {
  const roots = [dirname(resolve(mainPath)), ...allowRead.map((d) => resolve(cwd, d))].map(realOrSelf);
  return { roots: [...new Set(roots)] };
}

export function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function inside(path: string, root: string): boolean {
  const r = relative(root, path);
  return r === "" || !(r === ".." || r.startsWith(`..${sep}`) || isAbsolute(r));
}

function kind(st: Stats): string {
  if (st.isDirectory()) return "a folder";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes % 2 ** 20 === 0 ? 0 : 1)} MiB`;
}

function tooLarge(size: string, limit: number, what: string): ReadRefused {
  return new ReadRefused("VMSCN0243", `it is ${size}, more than the ${mib(limit)} ${what} may have`, "vmscn reads files of a bounded size only; split the file");
}

/**
 * The real path of `path` if the policy lets a scenario read it: inside a root (when
 * `contained`), a regular file, at most `limit` bytes. Throws ReadRefused with the code, or
 * the file system's own error (ENOENT, EACCES) for a file that cannot be looked at.
 */
export function checkFile(policy: ReadPolicy, path: string, limit: number, what: string, contained = true): string {
  const abs = resolve(path);
  const real = realpathSync(abs);
  if (contained && !policy.roots.some((r) => inside(real, r))) {
    const via = real !== abs ? ` (it leads to ${real})` : "";
    throw new ReadRefused(
      "VMSCN0241",
      `it is outside the folders this scenario may read${via}`,
      `a scenario reads files in its own folder (${policy.roots[0]}) and below; pass --allow-read DIR to let it read another folder`,
    );
  }
  // No link is left in a real path: lstat describes the file itself, before anything opens it.
  const st = lstatSync(real);
  if (!st.isFile()) throw new ReadRefused("VMSCN0242", `it is ${kind(st)}, not a regular file`, "a scenario may name regular files only");
  if (st.size > limit) throw tooLarge(mib(st.size), limit, what);
  return real;
}

/** Opens without following a link and without blocking (a FIFO swapped in meanwhile), then reads at most `limit` bytes. */
function readBounded(real: string, limit: number, what: string): Buffer {
  const flags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
  const fd = openSync(real, flags);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ReadRefused("VMSCN0242", `it is ${kind(st)}, not a regular file`, "a scenario may name regular files only");
    if (st.size > limit) throw tooLarge(mib(st.size), limit, what);
    // The size lstat gives is not trusted (a /proc file says 0, a file may grow): read in chunks.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      total += n;
      if (total > limit) throw tooLarge(`over ${mib(limit)}`, limit, what);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * A reader of scenario sources under the policy: the file the user named (`mainPath`) is read
 * wherever it is; every other file must pass checkFile; together they stay under
 * SCENARIO_TOTAL_LIMIT.
 */
export function policyReader(policy: ReadPolicy, mainPath: string): ReadFile {
  const main = resolve(mainPath);
  let total = 0;
  return (p) => {
    const real = checkFile(policy, p, SCENARIO_FILE_LIMIT, "a scenario file", resolve(p) !== main);
    const bytes = readBounded(real, SCENARIO_FILE_LIMIT, "a scenario file");
    total += bytes.length;
    if (total > SCENARIO_TOTAL_LIMIT) {
      throw new ReadRefused("VMSCN0243", `with it, this scenario's files come to more than ${mib(SCENARIO_TOTAL_LIMIT)}`, "vmscn reads files of a bounded size only; import fewer files");
    }
    return { text: bytes.toString("utf8"), realPath: real };
  };
}

/**
 * Checks a workload trace the kernel will read when it creates the VM: the folder rule, a regular
 * file, TRACE_FILE_LIMIT, and text (its first bytes have no NUL), so nothing binary reaches
 * the trace parser's messages.
 */
export function checkTrace(policy: ReadPolicy, path: string): void {
  const real = checkFile(policy, path, TRACE_FILE_LIMIT, "a trace file");
  const fd = openSync(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  try {
    if (!fstatSync(fd).isFile()) throw new ReadRefused("VMSCN0242", "it is not a regular file", "a scenario may name regular files only");
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    if (head.subarray(0, n).includes(0)) throw new ReadRefused("VMSCN0244", "it is not text (it has NUL bytes)", "a trace is a text file (docs/trace-format.md); vmscn never shows the text of a binary file");
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a workload trace for the kernel, when it creates the VM, under the same rules as
 * checkTrace, applied to the bytes actually read: a file replaced (by a link, a FIFO, a larger
 * or binary file) between `check` and the run is refused, not read.
 */
export function readTrace(policy: ReadPolicy, path: string): string {
  const real = checkFile(policy, path, TRACE_FILE_LIMIT, "a trace file");
  const bytes = readBounded(real, TRACE_FILE_LIMIT, "a trace file");
  if (bytes.subarray(0, 4096).includes(0)) throw new ReadRefused("VMSCN0244", "it is not text (it has NUL bytes)", "a trace is a text file (docs/trace-format.md); vmscn never shows the text of a binary file");
  return bytes.toString("utf8");
}
