// bench/cli.bench.ts: its median, and that it measures the bundle (no timing is asserted).
import t from "tap";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { benchmarks, CLI_START_ARGS, median } from "../../../bench/cli.bench.js";

t.test("median", (t) => {
  t.equal(median([5, 1, 3]), 3);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.equal(median([7]), 7);
  t.end();
});

const built = existsSync(fileURLToPath(new URL("../../../dist/vmscn.js", import.meta.url)));

// npm test builds the bundle first (pretest), so this always runs there.
t.test("cli.start_ms runs the bundle", async (t) => {
  t.ok(built, "dist/vmscn.js is built");
  t.equal(CLI_START_ARGS[0], "check");
  t.match(CLI_START_ARGS[1], /lifecycle\.vmscn$/);
  t.same(benchmarks.map((b) => [b.name, b.unit]), [["cli.start_ms", "ms"]]);
  const ms = await benchmarks[0]!.run();
  t.equal(typeof ms, "number");
  t.ok((ms as number) > 0, "a wall time came back");
});
