// Random faults at action times ± a small delta (random.ts), over scenarios of every built-in
// plugin that moves memory: pre-copy, demand paging, RDMA with shared pages left behind, fork
// and clone, checkpoint and restore. CI runs a share (VMSCN_FUZZ_RUNS runs, default 50);
// VMSCN_FUZZ_LONG=1 runs 10,000 (give tap no time limit: `--timeout 0`); VMSCN_FUZZ_SEED=N
// draws other faults. A failing run prints its seed, its template and its fault statements.
import "reflect-metadata";
import t from "tap";
import { Rng, TEMPLATES, baseline, drawFaults, violations, type Baseline } from "./random.js";

const LONG = process.env["VMSCN_FUZZ_LONG"] === "1";
const RUNS = Number(process.env["VMSCN_FUZZ_RUNS"] ?? (LONG ? 10_000 : 50));
const SEED = Number(process.env["VMSCN_FUZZ_SEED"] ?? 20261207);

t.test(`${RUNS} runs with random faults near the actions' times (seed ${SEED})`, async (t) => {
  if (LONG) t.setTimeout(0);
  const bases = new Map<string, Baseline>();
  for (const tpl of TEMPLATES) {
    const b = await baseline(tpl);
    t.ok(b.anchors.length > 2, `${tpl.name}: the baseline has instants to aim at`);
    bases.set(tpl.name, b);
  }
  let failures = 0;
  for (let i = 0; i < RUNS; i++) {
    // One generator per run: a failing run is reproduced from its seed alone.
    const seed = (SEED + i * 7919) >>> 0;
    const rng = new Rng(seed);
    const tpl = TEMPLATES[i % TEMPLATES.length]!;
    const faults = drawFaults(rng, tpl, bases.get(tpl.name)!);
    const bad = await violations(tpl, faults);
    if (bad.length > 0) {
      failures++;
      t.fail(`run ${i} (seed ${seed}, ${tpl.name}):\n${bad.join("\n")}\nfaults:\n${faults}`);
    }
  }
  t.equal(failures, 0, `${RUNS} runs, no crash, every action done or failed with a code`);
});
