// The conformance scenarios of checkpoint and compression, run in-process (as `vmscn test`
// runs them, with invariant checks): every expectation holds, every negative file fails with
// its code; the summary tables and the report of a run that used the plugins.
import "reflect-metadata";
import t from "tap";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runConformanceFile } from "../../cli/commands/conformance.js";
import { run } from "../../app/pipeline.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

for (const area of ["checkpoint", "compression"]) {
  const dir = join(root, "scenarios", "conformance", area);
  for (const name of readdirSync(dir).filter((f) => f.endsWith(".vmscn")).sort()) {
    t.test(`${area}/${name}`, async (t) => {
      const r = await runConformanceFile({ file: join(dir, name), plugins: [], cwd: root });
      t.ok(r.expectations.length > 0);
      for (const e of r.expectations) t.ok(e.ok, `${e.description}${e.ok ? "" : `: ${JSON.stringify(e.diagnostics)}`}`);
      t.notOk(r.ok === false, JSON.stringify(r.diagnostics ?? ""));
    });
  }
}

t.test("the summary tables of a run with saves and restores", async (t) => {
  const file = join(root, "scenarios", "conformance", "compression", "compressible-smaller.vmscn");
  const o = await run(file, { cwd: root });
  const tables = o.kernel!.metrics.collectTables();
  const saves = tables.find((x) => x.title === "checkpoint saves")!;
  const restores = tables.find((x) => x.title === "checkpoint restores")!;
  t.same(saves.rows.map((r) => r.slice(0, 3)), [["web", "san/web.ckpt", "completed"]]);
  t.same(restores.rows.map((r) => r.slice(0, 3)), [["web", "san/web.ckpt", "completed"]]);
  t.ok(tables.some((x) => x.title === "compression" && x.rows.length === 2));
});
