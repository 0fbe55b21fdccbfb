// Creating an output folder and its missing parents one level at a time. Node's
// `mkdirSync(p, { recursive: true })` never returns on a kernel's pseudo file system
// (`/proc/self/x`: mkdir answers ENOENT under a folder that exists, and Node tries again for
// ever); here every level is made once, and an error is the file system's own.
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** Makes `path` and its missing parents; an existing part that is not a folder is ENOTDIR. */
export function makeFolders(path: string): void {
  const missing: string[] = [];
  for (let cur = resolve(path); ; ) {
    let isFolder: boolean;
    try {
      isFolder = statSync(cur).isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      missing.push(cur);
      const up = dirname(cur);
      if (up === cur) break;
      cur = up;
      continue;
    }
    if (!isFolder) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: "ENOTDIR", path: cur });
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      // Another process made it meanwhile: what it is, the caller looks at.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}
