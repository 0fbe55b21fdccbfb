// `npm run bench [-- PREFIX...] [--json]`: runs the benchmarks whose names start with a PREFIX
// (all of them without one) and prints one line per figure: `<name> <value> <unit>`.
import { benchmarks as scheduler } from "./scheduler.bench.js";
import { benchmarks as memory } from "./memory.bench.js";
import { benchmarks as net } from "./net.bench.js";
import { benchmarks as dsl } from "./dsl.bench.js";
import { benchmarks as cli } from "./cli.bench.js";
import { benchmarks as migration } from "./migration.bench.js";
import { benchmarks as fork } from "./fork.bench.js";
import { benchmarks as checkpoint } from "./checkpoint.bench.js";
import { benchmarks as tps } from "./tps.bench.js";
import { benchmarks as scale } from "./scale.bench.js";
import type { Benchmark } from "./harness.js";

// The parser benchmark leaves a heap of gigabytes whose clean-up competes for the two cores
// with the child processes of later benchmarks (the 64 GiB migration ran 1.8× slower after
// it): it goes last.
const all: Benchmark[] = [...scheduler, ...memory, ...net, ...migration, ...fork, ...checkpoint, ...tps, ...scale, ...cli, ...dsl];

const args = process.argv.slice(2);
const json = args.includes("--json");
const prefixes = args.filter((a) => !a.startsWith("--"));
const chosen = all.filter((b) => prefixes.length === 0 || prefixes.some((p) => b.name.startsWith(p)));
if (chosen.length === 0) {
  console.error(`no benchmark starts with ${prefixes.join(" or ")}; known: ${all.map((b) => b.name).join(", ")}`);
  process.exit(2);
}
const results: { name: string; value: number; unit: string; target?: string }[] = [];
for (const b of chosen) {
  const out = await b.run();
  const figures = typeof out === "number" ? { [b.name]: out } : out;
  for (const [name, value] of Object.entries(figures)) {
    const unit = name === b.name ? b.unit : (unitOf(name) ?? b.unit);
    const row = { name, value: round(value), unit, ...(name === b.name && b.target ? { target: b.target } : {}) };
    results.push(row);
    if (!json) console.log(`${name} ${row.value} ${unit}`);
  }
}
if (json) console.log(JSON.stringify(results, null, 2));

function round(v: number): number {
  return v >= 100 ? Math.round(v) : Number(v.toPrecision(4));
}
function unitOf(name: string): string | undefined {
  if (name.endsWith("_mb_per_s")) return "MB/s";
  if (name.endsWith("_ratio")) return "×";
  if (name.endsWith("_per_s")) return "/s";
  if (name.endsWith("_mib")) return "MiB";
  if (name.endsWith("_pages")) return "pages";
  if (name.endsWith("_rounds")) return "rounds";
  if (name.endsWith("_s")) return "s";
  if (name.endsWith("_ms")) return "ms";
  return undefined;
}
