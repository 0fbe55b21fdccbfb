// The scenarios in docs/language.md are checked like users' files, so the guide stays true.
import "reflect-metadata";
import t from "tap";
import { readFileSync } from "node:fs";
import { check } from "../../app/pipeline.js";
import { files } from "./validate/helpers.js";

const doc = readFileSync(new URL("../../docs/language.md", import.meta.url), "utf8");
const blocks = [...doc.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes('scenario "'));

t.test("every full scenario in docs/language.md is valid", async (t) => {
  t.ok(blocks.length >= 1, "the guide has a full example");
  for (const text of blocks) {
    const c = await check(files({ "example.vmscn": text }));
    t.same(c.diagnostics.map((d) => `${d.code} ${d.loc.line}:${d.loc.column} ${d.message}`), [], text.split("\n")[2]);
  }
});
