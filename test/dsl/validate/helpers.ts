import "reflect-metadata";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { check as checkPipeline, run as runPipeline, type PipelineOptions } from "../../../app/pipeline.js";

/** The pipeline's run, with the kernel's invariants checked at the end (always on in tests); the probe plugin a scenario names is allowed. */
export function run(path: string, opts: PipelineOptions = {}) {
  return runPipeline(path, { checkInvariants: true, allowPlugins: true, ...opts });
}

/** The pipeline's check, loading the probe plugin a scenario names (these are the suite's own files). */
export function check(path: string, opts: PipelineOptions = {}) {
  return checkPipeline(path, { allowPlugins: true, ...opts });
}

export const PROBE = fileURLToPath(new URL("../fixtures/probe-plugin.ts", import.meta.url));

/** Writes the files into a fresh folder and returns the path of the first. */
export function files(entries: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-test-"));
  const names = Object.keys(entries);
  for (const n of names) writeFileSync(join(dir, n), entries[n]!);
  return join(dir, names[0]!);
}

/** A scenario body inside a standard platform: hosts a and b, a link, a SAN, VM web on a. */
export function scenario(body: string, { plugin = false }: { plugin?: boolean } = {}): string {
  return `${plugin ? `use plugin "${PROBE.replace(/\\/g, "/")}"\n` : ""}scenario "t" {
  host a { cpus 8  memory 16 GiB }
  host b { cpus 8  memory 16 GiB  rdma }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }
  datastore san { shared-by a, b  bandwidth 1 GB/s }
  datastore local-b { on b  bandwidth 500 MB/s }
  vm web on a { vcpus 2  memory 1 GiB }
${body}
}
`;
}

/** The diagnostics of a scenario as [code, line, column, message] rows. */
export async function diagnosticsOf(text: string, opts: { plugin?: boolean } = {}) {
  const path = files({ "t.vmscn": text });
  const c = await check(path, opts.plugin ? {} : {});
  return c.diagnostics.map((d) => ({ code: d.code, line: d.loc.line, column: d.loc.column, message: d.message, hint: d.hint, severity: d.severity }));
}
