// Golden reports: each bundled example's JSON report, byte for byte. A change to any figure
// shows up here as a diff to review. Regenerate on purpose with UPDATE_GOLDEN=1 npm test.
import "reflect-metadata";
import t from "tap";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../app/pipeline.js";
import { stableStringify } from "../../core/report/json.js";

const examples = fileURLToPath(new URL("../../scenarios/examples/", import.meta.url));
const golden = fileURLToPath(new URL("../golden/", import.meta.url));
const update = process.env["UPDATE_GOLDEN"] === "1";

for (const name of readdirSync(examples).filter((f) => f.endsWith(".vmscn")).sort()) {
  t.test(name, async (t) => {
    const r = await run(join(examples, name), { checkInvariants: true });
    t.same(r.diagnostics, [], "no diagnostics");
    t.equal(r.error, undefined);
    t.ok(r.expects.every((e) => e.passed), "every expectation holds");
    const text = `${stableStringify(r.report)}\n`;
    const again = await run(join(examples, name));
    t.equal(`${stableStringify(again.report)}\n`, text, "the same scenario and seed give a byte-identical report");
    const file = join(golden, `${basename(name, ".vmscn")}.json`);
    if (update || !existsSync(file)) writeFileSync(file, text);
    t.equal(text, readFileSync(file, "utf8"), `matches ${file}`);
  });
}
