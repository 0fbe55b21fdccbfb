// docs/plugins.md is the plugin author's only guide, so its code must be true: every TypeScript
// example type-checks against the public API (fragments as the body of a register(k)), and the
// PluginTester example runs, testing the guide's own first plugin, under node's test runner.
import t from "tap";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const guide = readFileSync(join(ROOT, "docs/plugins.md"), "utf8");
const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const isModule = (b: string): boolean => /^import /m.test(b);

/** Names `core/api.ts` exports: values (no `type` keyword) and types. */
function apiNames(): { values: string[]; types: string[] } {
  const text = readFileSync(join(ROOT, "core/api.ts"), "utf8");
  const values: string[] = [];
  const types: string[] = [];
  for (const m of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}/g)) {
    for (const raw of m[2]!.split(",")) {
      const name = raw.trim();
      if (name === "") continue;
      if (m[1] !== undefined || name.startsWith("type ")) types.push(name.replace(/^type\s+/, ""));
      else values.push(name);
    }
  }
  return { values, types };
}

t.test("the guide has a first plugin, fragments for each context member, and a PluginTester example", (t) => {
  t.ok(blocks.length >= 12, `${blocks.length} examples`);
  t.match(blocks[0]!, /export default definePlugin\(/);
  t.ok(blocks.some((b) => b.includes('from "vmscn/testing"')));
  for (const member of ["k.verb(", "k.onFault(", "openLog(", "k.systemWorld(", "k.slot(", "k.on(", "k.network.transfer(", "k.storage.createFile(", "k.metric(", "k.chart(", "k.table(", "k.trace.span(", "k.random(", "k.error(", "k.provide(", "k.use(", "k.cause("]) {
    t.ok(blocks.some((b) => b.includes(member)), `an example uses ${member}`);
  }
  t.end();
});

t.test("every TypeScript example type-checks against the public API", (t) => {
  const { values, types } = apiNames();
  const files: Record<string, string> = { "index.ts": blocks[0]! };
  blocks.forEach((b, i) => {
    files[`example-${i}.ts`] = isModule(b)
      ? b
      : `import { ${values.join(", ")} } from "vmscn";\nimport type { ${types.join(", ")} } from "vmscn";\n` +
        `export default definePlugin({ name: "example-${i}", version: "1.0.0", kernel: "^1", register(k) {\n${b}\n} });\n`;
  });
  const dir = t.testdir(files);
  const program = ts.createProgram(
    Object.keys(files).map((f) => join(dir, f)),
    {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ["lib.es2022.d.ts"],
      types: ["node"],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      experimentalDecorators: true,
      paths: { vmscn: [join(ROOT, "core/api.ts")], "vmscn/testing": [join(ROOT, "app/testing/index.ts")] },
    },
  );
  const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => dir, getNewLine: () => "\n" };
  const problems = ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || d.file.fileName.startsWith(dir));
  t.equal(ts.formatDiagnostics(problems, host), "");
  t.end();
});

t.test("the PluginTester example passes under node's test runner, against the built package", (t) => {
  const example = blocks.find((b) => b.includes('from "vmscn/testing"'))!;
  const dir = t.testdir({ "index.ts": blocks[0]!, "plugin.test.ts": example });
  const env = { ...process.env };
  delete env["TAP_CHILD_ID"];
  delete env["TAP"];
  const r = spawnSync(process.execPath, ["--import", join(ROOT, "test/loader/register.mjs"), "--test-reporter=tap", join(dir, "plugin.test.ts")], { cwd: dir, encoding: "utf8", env });
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, /# pass 4\n/);
  t.match(r.stdout, /# fail 0\n/);
  t.end();
});

// Keep the example package's README scenario true as well.
t.test("the example package's README scenario runs and its expectations hold", async (t) => {
  const readme = readFileSync(join(ROOT, "examples/vmscn-plugin-balloon/README.md"), "utf8");
  const scenario = /```\n(use plugin[\s\S]*?)```/.exec(readme)![1]!;
  const dir = t.testdir({ "s.vmscn": scenario.replace('use plugin "vmscn-plugin-balloon"', `use plugin "${join(ROOT, "examples/vmscn-plugin-balloon/src/index.ts")}"`) });
  const { run } = await import("../../app/pipeline.js");
  const out = await run(join(dir, "s.vmscn"), { allowPlugins: true });
  t.same(out.diagnostics, []);
  t.ok(out.expects.length >= 2);
  t.ok(out.expects.every((e) => e.passed), out.expects.map((e) => e.message).join("; "));
});
