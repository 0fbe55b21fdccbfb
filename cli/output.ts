// Writing outputs (--json, --html, --trace) so an interrupted run never leaves a file that
// looks complete, and so an output never replaces what the user did not name as one: the
// text goes to a temporary file created exclusively (O_EXCL, O_NOFOLLOW) under a name with 64
// random bits beside the target, then renamed over the target. The target must be a regular
// file or a new name: a device node (/dev/null), a FIFO, a socket, a symbolic link, a folder,
// or anything on a kernel's pseudo file system (/proc, /sys) is refused before anything is
// written, with one line and exit code 2, as a usage error. A missing folder is created, as
// before. Whatever fails, no temporary file is left behind.
import { randomBytes } from "node:crypto";
import { closeSync, constants, lstatSync, openSync, renameSync, rmSync, statSync, statfsSync, writeSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";
import { formatDiagnostic, type Diagnostic } from "../dsl/diagnostics.js";
import { UsageError } from "./args.js";
import { makeFolders } from "../core/storage/folders.js";

/** An output that cannot be written where the user named it: a usage error (exit 2), one line. */
export class OutputRefused extends UsageError {}

/**
 * Pseudo file systems whose files are the kernel's, not data (statfs f_type): proc, sysfs,
 * devpts, debugfs, tracefs, securityfs, configfs, cgroup, cgroup2, bpf, pstore, efivarfs.
 */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, "proc"],
  [0x62656572, "sysfs"],
  [0x1cd1, "devpts"],
  [0x64626720, "debugfs"],
  [0x74726163, "tracefs"],
  [0x73636673, "securityfs"],
  [0x62656570, "configfs"],
  [0x27e0eb, "cgroup"],
  [0x63677270, "cgroup2"],
  [0xcafe4a11, "bpf"],
  [0x6165676c, "pstore"],
  [0xde5e81e4, "efivarfs"],
]);

/** Refuses (OutputRefused) an output path that writeAtomically would refuse; a caller may look before a long run. */
export function checkOutputPath(path: string): void {
  const target = resolve(path);
  const refuse = refuser(path);
  checkTarget(target, refuse);
  checkFileSystem(nearestExisting(dirname(target)), refuse);
}

/**
 * Refuses (OutputRefused) an output folder (`--out`) that cannot hold files: something other
 * than a folder (a link you name may lead to one), a path through a file, or a folder on a
 * pseudo file system. A missing folder is fine: it is created when a file is first saved.
 */
export function checkOutputFolder(path: string): void {
  const target = resolve(path);
  const refuse = (why: string) => new OutputRefused(`cannot use "${path}" as the output folder: ${why}`);
  let st: Stats | undefined;
  try {
    st = statSync(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") throw refuse("a part of its path is not a folder");
    if (code === "ELOOP") throw refuse("its links lead round in a loop");
    if (code !== "ENOENT") throw refuse(reason(err));
  }
  if (st === undefined) {
    if (lstatOrNull(target)?.isSymbolicLink()) throw refuse("it is a symbolic link that leads nowhere; vmscn does not create folders through links");
    const near = nearestExisting(dirname(target));
    let above: Stats;
    try {
      above = statSync(near);
    } catch (err) {
      throw refuse(reason(err));
    }
    if (!above.isDirectory()) throw refuse(`"${near}" is ${special(above)}, not a folder`);
    checkFileSystem(near, refuse);
    return;
  }
  if (!st.isDirectory()) throw refuse(`it is ${st.isFile() ? "a regular file" : special(st)}, not a folder`);
  checkFileSystem(target, refuse);
}

export function writeAtomically(path: string, text: string): void {
  const target = resolve(path);
  const refuse = refuser(path);
  checkOutputPath(path);
  const folder = dirname(target);
  try {
    makeFolders(folder);
  } catch (err) {
    throw refuse(`its folder cannot be created (${reason(err)})`);
  }
  const tmp = `${target}.tmp-${randomBytes(8).toString("hex")}`;
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
  } catch (err) {
    throw refuse(`a file cannot be created in "${folder}" (${reason(err)})`);
  }
  try {
    try {
      const bytes = Buffer.from(text);
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    } finally {
      closeSync(fd);
    }
    // Looked at again just before the rename: it may have changed while the text was written.
    checkTarget(target, refuse);
    renameSync(tmp, target);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Nothing more can be done about a temporary name someone else replaced.
    }
    if (err instanceof OutputRefused) throw err;
    throw refuse(reason(err));
  }
}

function refuser(path: string): (why: string) => OutputRefused {
  return (why) => new OutputRefused(`cannot write "${path}": ${why}`);
}

/** The target is absent or a regular file on an ordinary file system; anything else is refused. */
function checkTarget(target: string, refuse: (why: string) => OutputRefused): void {
  let st: Stats;
  try {
    st = lstatSync(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR") throw refuse("a part of its path is not a folder");
    throw refuse(reason(err));
  }
  if (st.isFile()) return;
  if (st.isSymbolicLink()) throw refuse("it is a symbolic link; vmscn does not write through links (name the file itself)");
  if (st.isDirectory()) throw refuse("it is a folder; name a file in it");
  throw refuse(`it is ${special(st)}, not a regular file; vmscn writes outputs only to regular files or new names`);
}

/** A folder on a pseudo file system (/proc, /sys, ...) holds the kernel's files, never an output. */
function checkFileSystem(folder: string, refuse: (why: string) => OutputRefused): void {
  let type: number;
  try {
    type = statfsSync(folder).type;
  } catch {
    return; // Whatever stops statfs stops the write too, with its own sentence.
  }
  const fs = PSEUDO_FS.get(type);
  if (fs !== undefined) throw refuse(`"${folder}" is on the kernel's ${fs} file system, which holds no output files`);
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** The folder itself if it exists, else its nearest ancestor that does. */
function nearestExisting(folder: string): string {
  let f = folder;
  for (;;) {
    try {
      lstatSync(f);
      return f;
    } catch {
      const up = dirname(f);
      if (up === f) return f;
      f = up;
    }
  }
}

function special(st: Stats): string {
  if (st.isFile()) return "a regular file";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  return "a special file";
}

/** An fs error as a clause: "permission denied", "no space left on device". */
function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const m = /^[A-Z]+: ([^,]+)/.exec(e.message ?? "");
  return m ? m[1]! : String(e.message ?? err);
}

export function printDiagnostics(ds: readonly Diagnostic[], sources: ReadonlyMap<string, string>, stream: NodeJS.WriteStream = process.stderr): void {
  const color = Boolean(stream.isTTY) && !process.env["NO_COLOR"];
  for (const d of ds) stream.write(`${formatDiagnostic(d, sources.get(d.loc.file), color)}\n\n`);
  const errors = ds.filter((d) => d.severity === "error").length;
  const warnings = ds.length - errors;
  if (ds.length > 0) stream.write(`${errors} error${errors === 1 ? "" : "s"}${warnings ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}\n`);
}
