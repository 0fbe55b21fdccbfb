// Writing outputs so an interrupted run never leaves a file that looks complete: write to a
// temporary name beside the target, then rename.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { formatDiagnostic, type Diagnostic } from "../dsl/diagnostics.js";

export function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function printDiagnostics(ds: readonly Diagnostic[], sources: ReadonlyMap<string, string>, stream: NodeJS.WriteStream = process.stderr): void {
  const color = Boolean(stream.isTTY) && !process.env["NO_COLOR"];
  for (const d of ds) stream.write(`${formatDiagnostic(d, sources.get(d.loc.file), color)}\n\n`);
  const errors = ds.filter((d) => d.severity === "error").length;
  const warnings = ds.length - errors;
  if (ds.length > 0) stream.write(`${errors} error${errors === 1 ? "" : "s"}${warnings ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}\n`);
}
