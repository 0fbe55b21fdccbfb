// The example package examples/vmscn-plugin-balloon, loaded the three ways a user gets a
// third-party plugin: its TypeScript source by path (compiled in memory by esbuild), its built
// .js by path, and installed in node_modules under its package name. Its build (tsc with its own
// tsconfig) also type-checks it, tests included, against the declarations vmscn ships.
import "reflect-metadata";
import t, { type Test } from "tap";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { loadPlugin } from "../../core/plugin-host/load.js";
import { run } from "../../app/pipeline.js";
import { stableStringify } from "../../core/report/json.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const EXAMPLE = join(ROOT, "examples/vmscn-plugin-balloon");
const bundle = join(ROOT, "dist/vmscn.js");

const scenario = (use: string) => `${use}
scenario "overcommit" {
  host a { cpus 4  memory 40 MiB }
  vm web on a { vcpus 1  memory 16 MiB  initial random 100% }
  vm db on a { vcpus 1  memory 8 MiB  initial random 100% }
  at 0 s: start web
  at 0 s: start db
  at 0 s: balloon a
  at 1050 ms: exhaust a { leave 2 MiB }
  at 1500 ms: web writes pages 0..9
  run until 2 s
  expect balloon(web).reclaimed == 1024
  expect balloon(db).reclaimed == 512
  expect balloon(web).refaults == 10
}
`;

const expected = {
  db: { deflated: 0, host: "a", peak: 512, reclaimed: 512, refaults: 0, size: 512 },
  web: { deflated: 0, host: "a", peak: 1024, reclaimed: 1024, refaults: 10, size: 1014 },
};

t.before(() => {
  if (!existsSync(join(ROOT, "dist/index.js")) || !existsSync(join(ROOT, "dist/types/core/api.d.ts"))) {
    throw new Error("vmscn is not built: run `npm run build` (npm test does it first)");
  }
});

/** Runs the scenario in this process; returns the report's JSON text and the outcome. */
async function runHere(dir: string, use: string) {
  writeFileSync(join(dir, "s.vmscn"), scenario(use));
  const out = await run(join(dir, "s.vmscn"), { checkInvariants: true, allowPlugins: true });
  return { out, json: out.report ? stableStringify(out.report) : "" };
}

/**
 * A project with the example installed, as npm would lay it out: node_modules/vmscn is this
 * package (its package.json, and dist through a link) and node_modules/vmscn-plugin-balloon the
 * example, built by its own tsconfig.build.json.
 */
function installedProject(t: Test): { dir: string; pkg: string; diagnostics: readonly ts.Diagnostic[] } {
  const dir = t.testdir({ node_modules: { vmscn: {} } });
  const vmscnDir = join(dir, "node_modules/vmscn");
  cpSync(join(ROOT, "package.json"), join(vmscnDir, "package.json"));
  symlinkSync(join(ROOT, "dist"), join(vmscnDir, "dist"), "dir");
  const pkg = join(dir, "node_modules/vmscn-plugin-balloon");
  mkdirSync(pkg);
  for (const f of ["package.json", "README.md", "tsconfig.json", "tsconfig.build.json", "src", "test"]) cpSync(join(EXAMPLE, f), join(pkg, f), { recursive: true });
  // Type-check sources and tests (tsconfig.json), then build (tsconfig.build.json), as `npm run typecheck && npm run build` would.
  const parse = (file: string) => ts.getParsedCommandLineOfConfigFile(join(pkg, file), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); } })!;
  const all = parse("tsconfig.json");
  const checked = ts.createProgram({ rootNames: all.fileNames, options: all.options });
  const build = parse("tsconfig.build.json");
  const built = ts.createProgram({ rootNames: build.fileNames, options: build.options, oldProgram: checked });
  const emitted = built.emit();
  return { dir, pkg, diagnostics: [...ts.getPreEmitDiagnostics(checked), ...ts.getPreEmitDiagnostics(built), ...emitted.diagnostics] };
}

t.test("the TypeScript source by path: compiled in memory, sharing vmscn's modules", async (t) => {
  const loaded = await loadPlugin(join(EXAMPLE, "src/index.ts"));
  t.equal(loaded.plugin.name, "balloon");
  t.same(loaded.plugin.codes, { BALLOON001: "a host already has a balloon policy" });
  const dir = t.testdir({});
  const { out } = await runHere(dir, `use plugin "${join(EXAMPLE, "src/index.ts")}"`);
  t.same(out.diagnostics, []);
  t.equal(out.error, undefined);
  t.ok(out.expects.every((e) => e.passed), out.expects.map((e) => e.message).join("; "));
  t.same((out.report as unknown as { balloon: unknown }).balloon, expected);
  t.doesNotThrow(() => out.kernel!.checkInvariants());
  // The summary table and the --html chart: web inflated at the 1.1 s look, refaulted at 1.5 s.
  const end = out.report!.simulatedTimeNs;
  const tables = out.kernel!.metrics.collectTables().filter((x) => x.title === "balloons");
  t.same(tables.map((x) => x.rows), [[["web", "a", 1024 * 4096, 1014 * 4096, 1024 * 4096, 10], ["db", "a", 512 * 4096, 512 * 4096, 512 * 4096, 0]]]);
  const chart = out.kernel!.metrics.collectCharts().find((c) => c.title === "Balloon size over time")!;
  const series = "series" in chart.data ? chart.data.series : [];
  t.same(series.map((x) => ({ name: x.name, x: Array.from(x.x), y: Array.from(x.y) })), [
    { name: "web", x: [0, 1.1e9, 1.5e9, 2e9], y: [0, 1024 * 4096, 1014 * 4096, 1014 * 4096] },
    { name: "db", x: [0, 1.1e9, 2e9], y: [0, 512 * 4096, 512 * 4096] },
  ]);
});

t.test("built with its own tsconfig, type-checked against vmscn's declarations; the .js by path and installed by name", async (t) => {
  const { dir, pkg, diagnostics } = installedProject(t);
  const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => pkg, getNewLine: () => "\n" };
  t.equal(ts.formatDiagnostics(diagnostics, host), "", "no type errors in the example, its tests included");
  t.ok(existsSync(join(pkg, "dist/index.js")) && existsSync(join(pkg, "dist/index.d.ts")), "dist/index.js and its declarations");
  t.match(readFileSync(join(pkg, "dist/index.js"), "utf8"), /from "vmscn"/, "the build imports vmscn, it does not bundle it");

  // In this process: the built file by path, then the package by name from the project.
  const byPath = await runHere(dir, `use plugin "./node_modules/vmscn-plugin-balloon/dist/index.js"`);
  t.same(byPath.out.diagnostics, []);
  t.same((byPath.out.report as unknown as { balloon: unknown }).balloon, expected);
  const byName = await runHere(dir, `use plugin "vmscn-plugin-balloon"`);
  t.same(byName.out.diagnostics, []);
  t.equal(byName.json, byPath.json, "the same report");
  const ts2 = await runHere(dir, `use plugin "${join(EXAMPLE, "src/index.ts")}"`);
  t.equal(ts2.json, byPath.json, "the same report as from the TypeScript source");

  // Through the built command, in the project: --plugin by name, and use plugin by name.
  writeFileSync(join(dir, "plain.vmscn"), scenario(""));
  const cli = (...args: string[]) => spawnSync(process.execPath, [bundle, ...args], { cwd: dir, encoding: "utf8" });
  const a = cli("run", "plain.vmscn", "--plugin", "vmscn-plugin-balloon", "--json", "-");
  t.equal(a.status, 0, a.stderr);
  t.same(JSON.parse(a.stdout).balloon, expected);
  const b = cli("run", "s.vmscn", "--allow-plugins", "--json", "-");
  t.equal(b.status, 0, b.stderr);
  t.equal(b.stdout, a.stdout, "use plugin and --plugin give the same report");
  t.equal(`${stableStringify(JSON.parse(a.stdout))}\n`, a.stdout);
  t.equal(JSON.parse(a.stdout).balloon.web.reclaimed, JSON.parse(byName.json).balloon.web.reclaimed);
});
