// One PluginTester test file, as a plugin author writes it, run by node's test runner and by
// tap: each reports every case, and a failing case fails the run (exit code 1).
import t from "tap";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const file = join(ROOT, "test/plugin-api/fixtures/tester-file.ts");

function runFile(framework: "node" | "tap", fail: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, FAIL: fail ? "1" : "0" };
  delete env["TAP_CHILD_ID"];
  delete env["TAP"];
  // The tap runner marks the processes it starts with TAP_CHILD_ID; PluginTester then uses tap.
  if (framework === "tap") env["TAP_CHILD_ID"] = "1";
  const args = ["--import", join(ROOT, "test/loader/register.mjs"), ...(framework === "node" ? ["--test-reporter=tap"] : []), file];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const oks = (out: string) => [...out.matchAll(/^\s*(not ok|ok) \d+ - (.*?)(?: # time=.*)?$/gm)].map((m) => `${m[1]} ${m[2]}`);

for (const framework of ["node", "tap"] as const) {
  t.test(`under ${framework === "node" ? "node's test runner" : "tap"}`, (t) => {
    const pass = runFile(framework, false);
    t.equal(pass.code, 0, pass.err);
    t.same(oks(pass.out), ['ok valid[0]: scenario "hi"', 'ok valid[1]: scenario "hi"', "ok valid", 'ok invalid[0]: scenario "hi"', "ok invalid", "ok hello"]);
    const fail = runFile(framework, true);
    t.equal(fail.code, 1);
    t.ok(oks(fail.out).includes('not ok valid[1]: scenario "hi"'), "the failing case");
    t.match(fail.out, /report hello\.greeted is 2, expected 3/);
    t.end();
  });
}
