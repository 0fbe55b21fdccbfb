// A plugin a scenario names is code: `check` never imports it, `run` and `test` only with the
// user's consent (--allow-plugins, or the same file given with --plugin). The plugin here writes
// a marker file as soon as its module runs, so "not imported" is seen on the disk.
import t, { type Test } from "tap";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { check, run } from "../../app/pipeline.js";
import { definePlugin } from "../../core/plugin-host/define.js";
import { BUNDLE, codes, scenarioWith, vmscn } from "./helpers.js";

const MARKER_PLUGIN = `import { writeFileSync } from "node:fs";
writeFileSync(new URL("./MARKER", import.meta.url), "the module ran");
export default {
  name: "marker",
  version: "1.0.0",
  kernel: "^1",
  register(k) {
    k.verb("poke", { description: "does nothing", args: [{ name: "vm", kind: "vm", description: "a VM" }], options: {}, run() {} });
  },
};
`;

const SCENARIO = scenarioWith('use plugin "./marker.mjs"', "  vm web on a { vcpus 1  memory 4 MiB }\n  at 0 s: start web\n  at 1 ms: poke web\n");

function fixture(t: Test) {
  const dir = t.testdir({ "s.vmscn": SCENARIO, "marker.mjs": MARKER_PLUGIN });
  return { dir, file: join(dir, "s.vmscn"), marker: join(dir, "MARKER") };
}

t.test("check: the plugin is listed (VMSCN0240 warning), never imported; its verb is a warning", async (t) => {
  const { file, marker, dir } = fixture(t);
  const o = await check(file);
  t.notOk(existsSync(marker), "the module did not run");
  t.equal(o.failedPhase, undefined);
  t.same(o.diagnostics.map((d) => [d.code, d.severity, d.loc.line, d.loc.column]), [
    ["VMSCN0240", "warning", 1, 12],
    ["VMSCN0207", "warning", 6, 12],
  ]);
  t.equal(o.diagnostics[0]!.message, `plugin "./marker.mjs" (${join(dir, "marker.mjs")}) would be loaded by a run with --allow-plugins; a check runs no code a scenario names, so it is not loaded`);
  t.match(o.diagnostics[0]!.hint, /^to check the verbs it adds, name it yourself: --plugin /);
  t.equal(o.diagnostics[1]!.hint, 'plugin "./marker.mjs" may provide it; it was not loaded');
});

t.test("run without consent: VMSCN0240 error with a hint naming the flag; nothing imported, nothing run", async (t) => {
  const { file, marker } = fixture(t);
  const o = await run(file);
  t.notOk(existsSync(marker));
  t.equal(o.failedPhase, "validate");
  t.equal(o.report, undefined);
  t.same(codes(o).filter((c) => o.diagnostics.find((d) => d.code === c[0])!.severity === "error"), [["VMSCN0240", 1, 12]]);
  t.match(o.diagnostics[0]!.message, /^plugin "\.\/marker\.mjs" \(.*marker\.mjs\) is named by the scenario and was not loaded: a plugin runs code, so a scenario's plugins load only if you allow them$/);
  t.match(o.diagnostics[0]!.hint, /^pass --allow-plugins to load the plugins a scenario names, or name this one yourself with --plugin /);
});

t.test("run with allowPlugins: loaded, and it runs", async (t) => {
  const a = fixture(t);
  const allowed = await run(a.file, { allowPlugins: true });
  t.same(allowed.diagnostics, []);
  t.equal(readFileSync(a.marker, "utf8"), "the module ran");
  t.equal(allowed.kernel?.actionLog().find((x) => x.verb === "poke")?.state, "done");
});

t.test("the same file given as --plugin is consent for it: loaded once", async (t) => {
  const b = fixture(t);
  const given = await run(b.file, { plugins: ["./marker.mjs"], cwd: b.dir });
  t.same(given.diagnostics, [], "one registration: no duplicate plugin");
  t.ok(existsSync(b.marker));
  // Under check too, a plugin the user names is the user's: it loads, and its verb is checked.
  const checked = await check(b.file, { plugins: [join(b.dir, "marker.mjs")] });
  t.same(checked.diagnostics, []);
});

t.test("PluginTester's way: plugin objects are the caller's own code and always register", async (t) => {
  const dir = t.testdir({ "s.vmscn": scenarioWith("", "  vm web on a { vcpus 1  memory 4 MiB }\n  at 0 s: start web\n  at 1 ms: poke web\n") });
  const plugin = definePlugin({ name: "poker", version: "1.0.0", kernel: "^1", register(k) { k.verb("poke", { description: "x", args: [{ name: "vm", kind: "vm", description: "a VM" }], options: {}, run() {} }); } });
  const o = await run(join(dir, "s.vmscn"), { pluginObjects: [plugin] });
  t.same(o.diagnostics, []);
  t.equal(o.kernel?.actionLog().find((x) => x.verb === "poke")?.state, "done");
});

t.test("the command: check prints ok and imports nothing; run and test need --allow-plugins", { skip: existsSync(BUNDLE) ? false : "dist/vmscn.js is missing: run npm run build" }, async (t) => {
  const { dir, marker } = fixture(t);
  const c = vmscn(dir, "check", "s.vmscn");
  t.equal(c.code, 0, c.err);
  t.equal(c.out, "s.vmscn: ok (2 warnings)\n");
  t.match(c.err, /s\.vmscn:1:12 warning VMSCN0240: plugin "\.\/marker\.mjs" \(.*\) would be loaded by a run with --allow-plugins/);
  t.notOk(existsSync(marker), "vmscn check ran no code");

  const refusedFlag = vmscn(dir, "check", "s.vmscn", "--allow-plugins");
  t.equal(refusedFlag.code, 2);
  t.match(refusedFlag.err, /^vmscn: check never loads the plugins a scenario names; to check the verbs one adds, name it with --plugin P\n/);

  const r = vmscn(dir, "run", "s.vmscn");
  t.equal(r.code, 2);
  t.match(r.err, /s\.vmscn:1:12 error VMSCN0240: .*\n[\s\S]*hint: pass --allow-plugins to load the plugins a scenario names, or name this one yourself with --plugin \.\/marker\.mjs/);
  t.notOk(existsSync(marker), "vmscn run without consent ran no code");

  const tap = vmscn(dir, "test", ".", "--jobs", "1");
  t.equal(tap.code, 1);
  t.match(tap.out, /not ok 1 - s\.vmscn\n[\s\S]*VMSCN0240/);
  t.notOk(existsSync(marker), "vmscn test without consent ran no code");

  const ok = vmscn(dir, "run", "s.vmscn", "--allow-plugins");
  t.equal(ok.code, 0, ok.err);
  t.ok(existsSync(marker), "with --allow-plugins it loads");
  const okTest = vmscn(dir, "test", ".", "--jobs", "1", "--allow-plugins");
  t.equal(okTest.code, 0, okTest.out);
});
