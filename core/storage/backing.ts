// A backed file's real file under the run's output folder. The output folder is the user's;
// what lies under it may have been planted. No folder below it and not the file itself may be
// a symbolic link or a special file (a FIFO, a device), so a backed file never lands outside
// the output folder or on something that is not a file of its own.
import { closeSync, constants, fstatSync, lstatSync, openSync, type Stats } from "node:fs";
import { makeFolders } from "./folders.js";
import { join, sep } from "node:path";
import type { VmscnError } from "../errors.js";

/** Opens (creating) `realPath`, which lies under `root`, read-write; `refuse` makes the error for what is found on the way. */
export function openBacking(root: string, realPath: string, refuse: (what: string) => VmscnError): number {
  makeFolders(root);
  let cur = root;
  for (const part of realPath.slice(root.length + 1).split(sep).slice(0, -1)) {
    cur = join(cur, part);
    let st = lstatOrUndefined(cur);
    if (st === undefined) {
      makeFolders(cur);
      st = lstatSync(cur);
    }
    if (!st.isDirectory()) throw refuse(`"${cur}" is ${st.isSymbolicLink() ? "a symbolic link" : "not a folder"}`);
  }
  const st = lstatOrUndefined(realPath);
  if (st && !st.isFile()) throw refuse(`"${realPath}" is ${st.isSymbolicLink() ? "a symbolic link" : "not a regular file"}`);
  // No link followed, and no wait for a FIFO's reader if one appeared since the look above.
  const fd = openSync(realPath, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o666);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw refuse(`"${realPath}" is not a regular file`);
  }
  return fd;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
