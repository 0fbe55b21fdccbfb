import t from "tap";
import { readFrontMatter } from "../../../dsl/front-matter.js";
import { parseSource } from "../../../dsl/parse.js";
import { where } from "./helpers.js";

t.test("description, features, negative and other keys", (t) => {
  const text = `# description: a migration to a full host is refused
# features: [precopy, out-of-memory]
# negative: {phase: run, code: VMSCN5002}
# author: someone
# a line of prose without a key
scenario "s" { }
`;
  const r = parseSource(text, "t.vmscn");
  t.same(r.diagnostics, []);
  const fm = r.file.frontMatter;
  t.equal(fm.description, "a migration to a full host is refused");
  t.same(fm.features, ["precopy", "out-of-memory"]);
  t.same(fm.negative, { phase: "run", code: "VMSCN5002" });
  t.same(fm.extra, { author: "someone" });
  t.same(fm.loc, { file: "t.vmscn", line: 1, column: 1, endLine: 5, endColumn: 31, start: 0, end: 181 });
  t.end();
});

t.test("every phase, spacing variations, // comments and an empty feature list", (t) => {
  for (const phase of ["parse", "validate", "run"] as const) {
    const fm = readFrontMatter(`#negative:{ code : VMSCN0101 ,phase:${phase} }\n`, "t.vmscn").frontMatter;
    t.same(fm.negative, { phase, code: "VMSCN0101" });
  }
  const fm = readFrontMatter("//   features:   []   \n// description:   spaced out  \r\n", "t.vmscn").frontMatter;
  t.same(fm.features, []);
  t.equal(fm.description, "spaced out");
  t.end();
});

t.test("the block ends at the first line that is not a comment", (t) => {
  const fm = readFrontMatter("# description: first\n\n# features: [late]\n", "t.vmscn").frontMatter;
  t.equal(fm.description, "first");
  t.equal(fm.features, undefined);
  const after = readFrontMatter('scenario "s" {}\n# description: not front matter\n', "t.vmscn").frontMatter;
  t.same(after, { extra: {} });
  t.equal(after.loc, undefined);
  t.end();
});

t.test("VMSCN0105: malformed negative, features, or a key given twice, at the value", (t) => {
  const cases: [string, RegExp, string][] = [
    ["# negative: run VMSCN5002", /expected \{phase: \.\.\., code: \.\.\.\} in braces/, "1:13"],
    ["# negative: {phase: compile, code: VMSCN5002}", /unknown phase "compile"/, "1:13"],
    ["# negative: {phase: run, code: E42}", /"E42" is not a code/, "1:13"],
    ["# negative: {phase: run}", /the code is missing/, "1:13"],
    ["# negative: {code: VMSCN0101}", /the phase is missing/, "1:13"],
    ["# negative: {phase: run, code: VMSCN0101, kind: x}", /unknown key "kind"/, "1:13"],
    ["# negative: {phase run}", /expected "key: value" pairs/, "1:13"],
    ["# features: precopy, zipf", /malformed front matter "features"/, "1:13"],
    ["# features: [pre copy]", /malformed front matter "features"/, "1:13"],
    ["# description: a\n#  description: b", /"description" is given twice/, "2:17"],
  ];
  for (const [text, message, at] of cases) {
    const r = parseSource(`${text}\nscenario "s" { }\n`, "t.vmscn");
    t.same(where(r.diagnostics), [`VMSCN0105 ${at}`], text);
    t.match(r.diagnostics[0]!.message, message, text);
    t.equal(r.diagnostics[0]!.phase, "parse");
  }
  const r = parseSource("# negative: {phase: run}\n", "t.vmscn");
  t.match(r.diagnostics[0]!.loc, { line: 1, column: 13, endColumn: 24 });
  t.match(r.diagnostics[0]!.hint, /\{phase: parse, code: VMSCN0101\}/);
  t.equal(r.file.frontMatter.negative, undefined);
  t.end();
});
