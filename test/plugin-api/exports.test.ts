// The package as a plugin author gets it: `vmscn` and `vmscn/testing` by name (this package's
// "exports", resolved to the build), exactly the names docs/plugins.md lists, nothing internal
// reachable, type declarations for both, and each importable on its own in a fresh process.
import t from "tap";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  bin: Record<string, string>;
  types: string;
  exports: Record<string, { types: string; default: string } | string>;
};

/** The names in the first column of the table under `### \`ENTRY\`` in the guide's exports section. */
function documented(entry: string): string[] {
  const doc = readFileSync(join(ROOT, "docs/plugins.md"), "utf8");
  const section = doc.split(/^## /m).find((s) => s.startsWith("The package's exports"));
  if (section === undefined) throw new Error('docs/plugins.md has no "## The package\'s exports" section');
  const part = section.split(/^### /m).find((s) => s.startsWith(`\`${entry}\``));
  if (part === undefined) throw new Error(`docs/plugins.md lists no exports of \`${entry}\``);
  return [...part.matchAll(/^\| `([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]!).sort();
}

t.before(() => {
  if (!existsSync(join(ROOT, "dist/index.js"))) throw new Error("vmscn is not built: run `npm run build` (npm test does it first)");
});

t.test("package.json: the command, the two entries with their types, and nothing else", (t) => {
  t.equal(pkg.name, "vmscn");
  t.same(pkg.bin, { vmscn: "dist/vmscn.js" });
  t.same(Object.keys(pkg.exports).sort(), [".", "./package.json", "./testing"]);
  t.same(pkg.exports["."], { types: "./dist/types/core/api.d.ts", default: "./dist/index.js" });
  t.same(pkg.exports["./testing"], { types: "./dist/types/app/testing/index.d.ts", default: "./dist/testing.js" });
  t.equal(pkg.types, "./dist/types/core/api.d.ts");
  for (const e of ["./dist/index.js", "./dist/testing.js", "./dist/vmscn.js", "./dist/types/core/api.d.ts", "./dist/types/app/testing/index.d.ts"]) {
    t.ok(existsSync(join(ROOT, e)), `${e} is built`);
  }
  t.end();
});

t.test("`vmscn` by name is the build, and exports exactly what the guide lists", async (t) => {
  t.equal(import.meta.resolve("vmscn"), new URL("../../dist/index.js", import.meta.url).href);
  const api = (await import("vmscn")) as Record<string, unknown>;
  t.same(Object.keys(api).sort(), documented("vmscn"), "a new export of core/api.ts needs a row in docs/plugins.md, and a removed one loses its row");
  t.equal(typeof api["definePlugin"], "function");
});

t.test("`vmscn/testing` by name exports exactly what the guide lists", async (t) => {
  t.equal(import.meta.resolve("vmscn/testing"), new URL("../../dist/testing.js", import.meta.url).href);
  const testing = (await import("vmscn/testing")) as Record<string, unknown>;
  t.same(Object.keys(testing).sort(), documented("vmscn/testing"));
  t.equal(typeof testing["PluginTester"], "function");
});

t.test("nothing internal is reachable by name", async (t) => {
  for (const deep of ["vmscn/dist/index.js", "vmscn/core/api.js", "vmscn/core/run/kernel.js", "vmscn/dist/chunks/x.js", "vmscn/app/pipeline.js", "vmscn/testing/index.js"]) {
    await t.rejects(import(deep), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" }, deep);
  }
});

t.test("each entry loads on its own in a fresh process (no loader, nothing imported first)", (t) => {
  const script = `const api = await import("vmscn"); const testing = await import("vmscn/testing");
    const p = api.definePlugin({ name: "x", version: "1.0.0", kernel: "^1", register() {} });
    console.log(api.KERNEL_VERSION, p.name, typeof testing.PluginTester);`;
  const env = { ...process.env };
  delete env["NODE_OPTIONS"];
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", env });
  t.equal(r.stderr, "");
  t.equal(r.stdout, "1.0.0 x function\n");
  t.end();
});

t.test("the declarations of both entries name the public API", (t) => {
  const api = readFileSync(join(ROOT, "dist/types/core/api.d.ts"), "utf8");
  for (const name of ["definePlugin", "PluginContext", "VerbSpec", "VmscnError", "PageState", "Trap", "GuestMemory", "ChartSpec"]) t.match(api, new RegExp(`\\b${name}\\b`), name);
  const testing = readFileSync(join(ROOT, "dist/types/app/testing/index.d.ts"), "utf8");
  for (const name of ["PluginTester", "PluginTesterOptions", "ValidCase", "InvalidCase", "ExpectedError", "ReportAssertion"]) t.match(testing, new RegExp(`\\b${name}\\b`), name);
  t.end();
});
