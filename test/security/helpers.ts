// Shared by the security tests: scenarios in real folders, and what a user would see.
import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Test } from "tap";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { formatDiagnostic } from "../../dsl/diagnostics.js";
import type { CheckOutcome } from "../../app/pipeline.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BUNDLE = join(ROOT, "dist/vmscn.js");

/** A scenario whose top level is `head` (imports, plugins). */
export function scenarioWith(head: string, body = ""): string {
  return `${head}\nscenario "s" {\n  host a { cpus 1  memory 1 GiB }\n${body}  run until 1 s\n}\n`;
}

/** Everything the user would read: each diagnostic with its code frame and hint. */
export function shown(o: CheckOutcome): string {
  return o.diagnostics.map((d) => formatDiagnostic(d, o.sources.get(d.loc.file))).join("\n");
}

/** [code, line, column] of every diagnostic. */
export function codes(o: CheckOutcome): [string, number, number][] {
  return o.diagnostics.map((d) => [d.code, d.loc.line, d.loc.column]);
}

/** Makes a FIFO; false where the system has no mkfifo. */
export function mkfifo(path: string): boolean {
  const r = spawnSync("mkfifo", [path]);
  return r.status === 0 && existsSync(path);
}

/** The built command, as a user runs it. */
export function vmscn(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** tap's skip option for the FIFO cases: a reason where mkfifo is unavailable. */
export const NO_FIFO: string | false = (() => {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-fifo-"));
  try {
    return mkfifo(join(dir, "p")) ? false : "mkfifo is not available on this system";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

type Entries = { [name: string]: string | Buffer | Entries };

function write(dir: string, entries: Entries): void {
  for (const [name, v] of Object.entries(entries)) {
    if (typeof v === "string" || Buffer.isBuffer(v)) writeFileSync(join(dir, name), v);
    else {
      mkdirSync(join(dir, name));
      write(join(dir, name), v);
    }
  }
}

/** A second folder of a test (t.testdir gives one per test), removed at its end. */
export function otherDir(t: Test, entries: Entries = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-security-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  write(dir, entries);
  return dir;
}
