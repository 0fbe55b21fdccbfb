// A plugin's figures in another unit than the base one: the report lists them in its `units`
// table, and an expectation reads them in that unit (QEMU's milliseconds compare with `ms`).
import "reflect-metadata";
import t from "tap";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { definePlugin } from "../../core/api.js";
import { run } from "../../app/pipeline.js";

const stopwatch = definePlugin({
  name: "stopwatch",
  version: "1.0.0",
  kernel: "^1",
  register(k) {
    k.metric("stopwatch", () => ({ web: { lap: 250, "lap-ns": 250_000_000, deep: { lap: 3 } } }), { units: { "*.lap": "ms", "*.deep.lap": "s" } });
  },
});

t.test("a field declared in ms is compared in ms; an undeclared one in base units; the report lists the units", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-units-"));
  writeFileSync(join(dir, "s.vmscn"), `scenario "units" {
  host a { cpus 1  memory 1 GiB }
  run until 1 s
  expect stopwatch(web).lap == 250 ms
  expect stopwatch(web).lap == 0.25 s
  expect stopwatch(web).lap-ns == 250 ms
  expect stopwatch(web).deep.lap == 3000 ms
  expect stopwatch(web).lap < 200 ms
}
`);
  const out = await run(join(dir, "s.vmscn"), { pluginObjects: [stopwatch] });
  t.same(out.expects.map((e) => e.passed), [true, true, true, true, false]);
  t.equal(out.expects[4]!.message, "250 ms is not < 200 ms");
  t.same((out.report as unknown as { units: unknown }).units, { stopwatch: { "*.lap": "ms", "*.deep.lap": "s" } });
  t.end();
});

t.test("a unit vmscn does not know, or a group named units, is refused when the plugin registers it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-units-"));
  writeFileSync(join(dir, "s.vmscn"), `scenario "units" {\n  host a { cpus 1  memory 1 GiB }\n  run until 1 s\n}\n`);
  const bad = definePlugin({ name: "bad", version: "1.0.0", kernel: "^1", register: (k) => k.metric("bad", () => ({ x: 1 }), { units: { x: "fortnights" } }) });
  const named = definePlugin({ name: "named", version: "1.0.0", kernel: "^1", register: (k) => k.metric("units", () => ({ x: 1 })) });
  for (const [p, text] of [[bad, 'unit "fortnights"'], [named, 'metric group "units"']] as const) {
    const out = await run(join(dir, "s.vmscn"), { pluginObjects: [p] });
    const all = [...out.diagnostics.map((d) => `${d.code} ${d.message}`), out.error ? `${out.error.code} ${out.error.message}` : ""].join("\n");
    t.match(all, "VMSCN6008");
    t.match(all, text);
  }
  t.end();
});
