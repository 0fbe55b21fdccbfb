// Start-up time of the bundled command: what a user waits for on every `vmscn check` of one
// small file, before any simulating. Spawned like a user runs it; the median of several runs.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Benchmark } from "./harness.js";

/** The command line measured (after `node dist/vmscn.js`): `check` of one small example. */
export const CLI_START_ARGS: readonly string[] = ["check", fileURLToPath(new URL("../scenarios/examples/lifecycle.vmscn", import.meta.url))];
const RUNS = 7;

const bundle = fileURLToPath(new URL("../dist/vmscn.js", import.meta.url));

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const benchmarks: Benchmark[] = [
  {
    name: "cli.start_ms",
    unit: "ms",
    target: "≈ 0.2 s (TOOLCHAIN.md: CLI start on the sample project)",
    run() {
      if (!existsSync(bundle)) throw new Error("cli bench: dist/vmscn.js is missing: run `npm run build` first");
      const once = (): number => {
        const t0 = process.hrtime.bigint();
        // NODE_OPTIONS cleared: the bench runs under the TypeScript loader, the user's shell does not.
        const r = spawnSync(process.execPath, [bundle, ...CLI_START_ARGS], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r.status !== 0) throw new Error(`cli bench: \`vmscn ${CLI_START_ARGS.join(" ")}\` exited with ${r.status}: ${r.stderr}`);
        return ms;
      };
      once(); // warms the file cache, as on a machine that has run it before
      return median(Array.from({ length: RUNS }, once));
    },
  },
];
