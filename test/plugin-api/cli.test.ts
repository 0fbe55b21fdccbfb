// Third-party plugins through the built command (dist/vmscn.js, built by `npm test`'s pretest):
// loading from a scenario's `use plugin` and from --plugin, and how a broken plugin stops a run:
// exit 3, the plugin, the hook, the world and the simulated time named, and nothing written
// or printed that looks like a finished run.
import t, { type Test } from "tap";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const bundle = join(ROOT, "dist/vmscn.js");
const fixtures = join(ROOT, "test/plugin-api/fixtures");
const balloonTs = join(ROOT, "examples/vmscn-plugin-balloon/src/index.ts");

function vmscn(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bundle, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.before(() => {
  if (!existsSync(bundle)) throw new Error("dist/vmscn.js is missing: run `npm run build` (npm test does it first)");
});

const platform = `
  host a { cpus 4  memory 40 MiB }
  vm web on a { vcpus 1  memory 16 MiB  initial random 100% }
  at 0 s: start web`;

function scenarioDir(t: Test, text: string): string {
  return t.testdir({ "s.vmscn": text });
}

/** A run that stopped: exit 3, the sentence on stderr, no summary, no expectations, no report file. */
function stopped(t: Test, r: ReturnType<typeof vmscn>, dir: string, pattern: RegExp): void {
  t.equal(r.code, 3, r.err);
  t.match(r.err, pattern);
  t.equal(r.out, "", "nothing on stdout");
  t.notMatch(r.err, /expectations hold|\n\s+at /, "no success line, no stack");
  t.notOk(existsSync(join(dir, "r.json")), "no report file");
}

t.test("a hook that throws during the run: VMSCN6006 with plugin, hook, world and time; exit 3", async (t) => {
  const dir = scenarioDir(t, `use plugin "${join(fixtures, "throws-at-run.ts")}"
scenario "s" {${platform}
  at 1 s: detonate web
  run until 2 s
  expect web.state == "running"
}
`);
  stopped(t, vmscn(dir, "run", "s.vmscn", "--allow-plugins", "--json", "r.json"), dir, /^vmscn: error VMSCN6006 at 1\.005 s: plugin "throws-at-run" failed in hook "fuse" \(at 1\.005 s\): the fuse burnt out\n$/);
  writeFileSync(join(dir, "s.vmscn"), readFileSync(join(dir, "s.vmscn"), "utf8").replace("detonate web", "suspend web"));
  stopped(t, vmscn(dir, "run", "s.vmscn", "--allow-plugins", "--json", "r.json"), dir, /VMSCN6006 at 1 s: plugin "throws-at-run" failed in hook "on\(state-changed\)" \(world web, at 1 s\): cannot suspend web/);
});

t.test("a plugin that throws in register, or cannot be loaded, stops the run with exit 3", async (t) => {
  const cases: [string, RegExp][] = [
    ["throws-in-register.ts", /s\.vmscn:1:12 error VMSCN0218: plugin "throws-in-register" failed in hook "register" \(at 0 s\): no configuration found/],
    ["throws-on-import.ts", /VMSCN0218: plugin "[^"]*throws-on-import\.ts" cannot be loaded: .*it threw while loading: module initialisation failed/],
    ["missing.ts", /VMSCN0218: plugin "[^"]*missing\.ts" cannot be loaded: .*does not exist/],
  ];
  for (const [file, pattern] of cases) {
    const dir = scenarioDir(t, `use plugin "${join(fixtures, file)}"\nscenario "s" {${platform}\n  run until 1 s\n}\n`);
    const r = vmscn(dir, "run", "s.vmscn", "--allow-plugins", "--json", "r.json");
    t.equal(r.code, 3, file);
    t.match(r.err, pattern, file);
    t.equal(r.out, "", file);
    t.notOk(existsSync(join(dir, "r.json")), file);
  }
});

t.test("a plugin written for kernel ^2 is refused at load with a clear sentence (VMSCN6002)", async (t) => {
  const dir = scenarioDir(t, `scenario "s" {${platform}\n  run until 1 s\n}\n`);
  const r = vmscn(dir, "run", "s.vmscn", "--plugin", join(fixtures, "future-kernel.ts"));
  t.equal(r.code, 3);
  t.match(r.err, /VMSCN0218: plugin "future-kernel" 3\.1\.0 was written for kernel \^2, but this is kernel 1\.0\.0/);
  t.match(r.err, /hint: error VMSCN6002/);
  const p = vmscn(dir, "plugins", "--plugin", join(fixtures, "future-kernel.ts"));
  t.equal(p.code, 3);
  t.match(p.err, /^vmscn: error VMSCN6002: plugin "future-kernel" 3\.1\.0 was written for kernel \^2, but this is kernel 1\.0\.0/);
});

t.test("--plugin with a .ts file: compiled in memory, it imports the command's own vmscn", async (t) => {
  const dir = scenarioDir(t, `scenario "s" {${platform}
  at 0 s: balloon a
  at 1050 ms: exhaust a { leave 2 MiB }
  run until 2 s
  expect balloon(web).reclaimed == 1536
}
`);
  const r = vmscn(dir, "run", "s.vmscn", "--plugin", balloonTs, "--json", "r.json");
  t.equal(r.code, 0, r.err);
  t.match(r.out, /balloons/, "the plugin's table");
  t.match(r.out, /1 of 1 expectations hold/);
  t.same(JSON.parse(readFileSync(join(dir, "r.json"), "utf8")).balloon.web, { deflated: 0, host: "a", peak: 1536, reclaimed: 1536, refaults: 0, size: 1536 });
  const list = vmscn(dir, "plugins", "--plugin", balloonTs);
  t.equal(list.code, 0, list.err);
  t.match(list.out, /balloon 1\.0\.0/);
  t.match(list.out, /BALLOON001/);
});

t.test("a .js plugin's errors from vmscn are the command's: a refusal fails the action, not the run", async (t) => {
  const dir = scenarioDir(t, `use plugin "${join(fixtures, "refuses.js")}"
scenario "s" {${platform}
  at 1 s: refuse web
  run until 2 s
}
`);
  const r = vmscn(dir, "run", "s.vmscn", "--allow-plugins", "--json", "-");
  t.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out);
  const action = report.actions.find((a: { verb: string }) => a.verb === "refuse");
  t.equal(action.state, "failed");
  t.equal(action.failure, 'VMSCN5011 at 1 s: VM "web" refuses');
});
