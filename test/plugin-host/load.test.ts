import "reflect-metadata";
import t from "tap";
import { container } from "tsyringe";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VmscnError } from "../../core/errors.js";
import type { PluginContext } from "../../core/plugin-host/context.js";
import { definePlugin } from "../../core/plugin-host/define.js";
import { getHostModules, loadPlugin, resetHostModules, setHostModules } from "../../core/plugin-host/load.js";
import { orderPlugins } from "../../core/plugin-host/order.js";

const here = dirname(fileURLToPath(import.meta.url));

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; cause: unknown }> {
  try {
    await p;
  } catch (e) {
    const err = e as VmscnError;
    return { code: err.code, message: err.message, cause: err.cause };
  }
  throw new Error("did not throw");
}

const GOOD = `{ name: "x", version: "1.0.0", kernel: "^1", register() {} }`;

t.test("a .js file's default export", async (t) => {
  const loaded = await loadPlugin("./fixtures/js-plugin.js", { cwd: here });
  t.equal(loaded.source, "./fixtures/js-plugin.js");
  t.equal(loaded.path, join(here, "fixtures/js-plugin.js"));
  t.equal(loaded.plugin.name, "js-demo");
  t.same(loaded.plugin.requires, ["ts-demo"]);
});

t.test("an .mjs file's export named plugin, by absolute path", async (t) => {
  const path = join(here, "fixtures/named-export.mjs");
  const loaded = await loadPlugin(path);
  t.equal(loaded.plugin.name, "named-demo");
  t.equal(loaded.source, path);
});

t.test("a .ts file shares the host's tsyringe and calls the host's definePlugin", async (t) => {
  const loaded = await loadPlugin("./fixtures/ts-plugin.ts", { cwd: here });
  t.equal(loaded.plugin.name, "ts-demo");
  t.equal(loaded.plugin.version, "1.2.3");
  t.equal(loaded.plugin.description, "a TypeScript plugin that uses tsyringe");
  // The fixture registered its @injectable class in "its" root container at import time. If it
  // had a tsyringe of its own, the host's container would not know the token, and its
  // @inject("fixture:name") parameter would be unknown to the host's decorator registry.
  container.register("fixture:name", { useValue: "web" });
  const greeter = container.resolve<{ greet(): string }>("fixture:Greeter");
  t.equal(greeter.greet(), "hello web");
  await loaded.plugin.register({ pluginName: "ts-demo" } as unknown as PluginContext);
  // Loading the same file again gives the same module, so the plugin is the same object.
  const again = await loadPlugin(join(here, "fixtures/ts-plugin.ts"));
  t.equal(again.plugin, loaded.plugin);
  t.throws(() => orderPlugins([loaded, again]), { code: "VMSCN6003" });
  const js = await loadPlugin("./fixtures/js-plugin.js", { cwd: here });
  t.same(orderPlugins([js, loaded]).map((e) => e.plugin.name), ["ts-demo", "js-demo"]);
});

t.test("the vmscn module comes from the host registry", async (t) => {
  t.teardown(resetHostModules);
  const dir = t.testdir({
    "spy.ts": `import { definePlugin, KERNEL } from "vmscn";
      import def from "vmscn";
      import "reflect-metadata";
      export default definePlugin({ name: "spy", version: "1.0.0", kernel: "^" + KERNEL.split(".")[0], description: typeof def, register() {} });`,
  });
  const calls: string[] = [];
  setHostModules({
    vmscn: {
      KERNEL: "1.0.0",
      definePlugin: (p: { name: string }) => {
        calls.push(p.name);
        return definePlugin(p as never);
      },
    },
  });
  t.same(Object.keys(getHostModules()).sort(), ["reflect-metadata", "tsyringe", "vmscn"]);
  const loaded = await loadPlugin("./spy.ts", { cwd: dir });
  t.same(calls, ["spy"]);
  t.equal(loaded.plugin.kernel, "^1");
  t.equal(loaded.plugin.description, "object");
});

t.test("host modules: reserved words and default exports", async (t) => {
  t.teardown(resetHostModules);
  const dir = t.testdir({
    "words.ts": `import host, { class as klass, plain } from "vmscn";
      export default { name: "words", version: "1.0.0", kernel: "^1", description: klass + plain + host, register() {} };`,
  });
  setHostModules({ vmscn: { class: "c", plain: "p", default: "d", "not-an-identifier": 1 } });
  const loaded = await loadPlugin("./words.ts", { cwd: dir });
  t.equal(loaded.plugin.description, "cpd");
});

t.test("npm packages named vmscn-plugin-*", async (t) => {
  const pkg = (json: object, files: Record<string, unknown>) => ({ "package.json": JSON.stringify(json), ...files });
  const dir = t.testdir({
    node_modules: {
      "vmscn-plugin-demo": pkg(
        { name: "vmscn-plugin-demo", version: "2.0.0", main: "index.js" },
        { "index.js": `module.exports = { name: "demo", version: "2.0.0", kernel: "^1", register() {} };` },
      ),
      "vmscn-plugin-cjs-default": pkg(
        { name: "vmscn-plugin-cjs-default", main: "lib" },
        { lib: { "index.js": `exports.default = { name: "cjs-default", version: "1.0.0", kernel: "^1", register() {} };` } },
      ),
      "vmscn-plugin-noext": pkg(
        { name: "vmscn-plugin-noext", main: "entry" },
        { "entry.js": `module.exports = { name: "noext", version: "1.0.0", kernel: "^1", register() {} };` },
      ),
      "vmscn-plugin-nomain": pkg({ name: "vmscn-plugin-nomain" }, { "index.js": `module.exports = ${GOOD};` }),
      "@acme": {
        "vmscn-plugin-esm": pkg(
          { name: "@acme/vmscn-plugin-esm", type: "module", exports: { ".": [{ require: "./nope.cjs", import: "./dist/index.js" }] } },
          { dist: { "index.js": `export default { name: "esm", version: "1.0.0", kernel: "^1", register() {} };` } },
        ),
      },
      "vmscn-plugin-sugar": pkg(
        { name: "vmscn-plugin-sugar", type: "module", exports: { types: "./x.d.ts", node: { import: "./main.js" } } },
        { "main.js": `export const plugin = { name: "sugar", version: "1.0.0", kernel: "^1", register() {} };` },
      ),
      "vmscn-plugin-hidden": pkg({ name: "vmscn-plugin-hidden", exports: { "./sub": "./sub.js" } }, {}),
      "vmscn-plugin-nullexp": pkg({ name: "vmscn-plugin-nullexp", exports: { ".": null } }, {}),
      "vmscn-plugin-nullarr": pkg({ name: "vmscn-plugin-nullarr", exports: [null] }, {}),
      "vmscn-plugin-requireonly": pkg({ name: "vmscn-plugin-requireonly", exports: { require: "./x.cjs" } }, { "x.cjs": "" }),
      "vmscn-plugin-noentry": pkg({ name: "vmscn-plugin-noentry", main: "gone.js" }, {}),
      "vmscn-plugin-badjson": { "package.json": "{ nope" },
    },
    project: { sub: {} },
  });
  const cwd = join(dir, "project", "sub"); // packages are found in node_modules folders above cwd
  const demo = await loadPlugin("vmscn-plugin-demo", { cwd });
  t.equal(demo.plugin.name, "demo");
  t.equal(demo.source, "vmscn-plugin-demo");
  t.equal(demo.path, join(dir, "node_modules/vmscn-plugin-demo/index.js"));
  t.equal((await loadPlugin("vmscn-plugin-cjs-default", { cwd })).plugin.name, "cjs-default");
  t.equal((await loadPlugin("vmscn-plugin-noext", { cwd })).plugin.name, "noext");
  t.equal((await loadPlugin("vmscn-plugin-nomain", { cwd })).plugin.name, "x");
  const esm = await loadPlugin("@acme/vmscn-plugin-esm", { cwd });
  t.equal(esm.plugin.name, "esm");
  t.equal(esm.path, join(dir, "node_modules/@acme/vmscn-plugin-esm/dist/index.js"));
  t.equal((await loadPlugin("vmscn-plugin-sugar", { cwd })).plugin.name, "sugar");

  t.same(await failure(loadPlugin("vmscn-plugin-missing", { cwd })), {
    code: "VMSCN6007",
    message: `cannot load plugin "vmscn-plugin-missing": package vmscn-plugin-missing is not installed in ${cwd} or above it; install it with npm install vmscn-plugin-missing`,
    cause: undefined,
  });
  const hidden = await failure(loadPlugin("vmscn-plugin-hidden", { cwd }));
  t.equal(
    hidden.message,
    `cannot load plugin "vmscn-plugin-hidden": package vmscn-plugin-hidden in ${join(dir, "node_modules/vmscn-plugin-hidden")} has no entry file (its "exports" has no "." entry for import)`,
  );
  for (const name of ["vmscn-plugin-nullexp", "vmscn-plugin-nullarr", "vmscn-plugin-requireonly"]) {
    t.match((await failure(loadPlugin(name, { cwd }))).message, /has no entry file \(its "exports" has no "\." entry for import\)$/, name);
  }
  t.same((await failure(loadPlugin("vmscn-plugin-noentry", { cwd }))).message,
    `cannot load plugin "vmscn-plugin-noentry": package vmscn-plugin-noentry in ${join(dir, "node_modules/vmscn-plugin-noentry")} has no entry file (gone.js is missing)`);
  const bad = await failure(loadPlugin("vmscn-plugin-badjson", { cwd }));
  t.equal(bad.message, `cannot load plugin "vmscn-plugin-badjson": ${join(dir, "node_modules/vmscn-plugin-badjson/package.json")} is not valid JSON`);
  t.ok(bad.cause instanceof SyntaxError);
});

t.test("what is not a path or a vmscn-plugin-* package", async (t) => {
  const accepted =
    "a plugin is a path to a .ts, .mts, .js, .mjs or .cjs file (like ./my-plugin.ts) or an npm package named vmscn-plugin-* (like vmscn-plugin-demo)";
  t.same(await failure(loadPlugin("lodash", { cwd: here })), {
    code: "VMSCN6007",
    message: `cannot load plugin "lodash": ${accepted}`,
    cause: undefined,
  });
  const dir = t.testdir({ "plugin.json": "{}", folder: {} });
  t.same((await failure(loadPlugin("./plugin.json", { cwd: dir }))).message, `cannot load plugin "./plugin.json": ${accepted}; this file is neither`);
  t.same((await failure(loadPlugin("./folder", { cwd: dir }))).message,
    `cannot load plugin "./folder": ${join(dir, "folder")} is a folder; name the plugin's file, like folder/index.ts`);
  t.same((await failure(loadPlugin("missing.ts", { cwd: dir }))).message, `cannot load plugin "missing.ts": file ${join(dir, "missing.ts")} does not exist`);
});

t.test("each way a file can fail to load", async (t) => {
  const dir = t.testdir({
    "syntax.js": "export default {",
    "syntax.ts": "export const x: number = ;\n",
    "resolve.ts": `import { y } from "./not-there.js";\nexport default y;\n`,
    "throws.mjs": `throw new Error("boom at import");`,
    "throws-string.mjs": `throw "a string";`,
    "nothing.mjs": `export const other = 1;`,
    "malformed.mjs": `export default { name: "bad", version: "one", kernel: "^1", register() {} };`,
    "defined-bad.ts": `import { definePlugin } from "vmscn";\nexport default definePlugin({ name: "defined-bad", version: "1.0.0", kernel: "^1" });\n`,
    "many-errors.ts": ["a", "b", "c", "d", "e"].map((f) => `import "./${f}.js";\n`).join(""),
  });
  const load = (spec: string) => failure(loadPlugin(spec, { cwd: dir }));

  const js = await load("./syntax.js");
  t.equal(js.code, "VMSCN6007");
  t.match(js.message, /^cannot load plugin "\.\/syntax\.js": it has a syntax error: /);
  t.ok(js.cause instanceof SyntaxError);

  const ts = await load("./syntax.ts");
  t.same({ code: ts.code, message: ts.message }, {
    code: "VMSCN6007",
    message: 'cannot load plugin "./syntax.ts": esbuild could not compile it: syntax.ts:1:26: Unexpected ";"',
  });
  t.same((await load("./resolve.ts")).message, 'cannot load plugin "./resolve.ts": esbuild could not compile it: resolve.ts:1:19: Could not resolve "./not-there.js"');
  t.match((await load("./many-errors.ts")).message, /; and 2 more$/);

  t.same({ ...(await load("./throws.mjs")), cause: undefined }, {
    code: "VMSCN6007",
    message: 'cannot load plugin "./throws.mjs": it threw while loading: boom at import',
    cause: undefined,
  });
  t.equal((await load("./throws-string.mjs")).message, 'cannot load plugin "./throws-string.mjs": it threw while loading: a string');
  t.equal(
    (await load("./nothing.mjs")).message,
    `cannot load plugin "./nothing.mjs": ${join(dir, "nothing.mjs")} has no default export and no export named "plugin"; write export default definePlugin({ ... })`,
  );
  t.same({ ...(await load("./malformed.mjs")), cause: undefined }, {
    code: "VMSCN6005",
    message: 'plugin "bad" from "./malformed.mjs" is malformed: field "version" must be a semver version like "1.0.0", got "one"',
    cause: undefined,
  });
  const defined = await load("./defined-bad.ts");
  t.same({ code: defined.code, message: defined.message }, {
    code: "VMSCN6005",
    message: 'plugin "defined-bad" from "./defined-bad.ts" is malformed: field "register" must be a function register(k) { ... }, got undefined',
  });
});

t.test("a host module that fails while bundling", async (t) => {
  t.teardown(resetHostModules);
  // A host module whose keys cannot be listed makes the virtual module's onLoad throw.
  setHostModules({ broken: new Proxy({}, { ownKeys: () => { throw new Error("no keys"); } }) });
  const dir = t.testdir({ "p.ts": `import "broken";\nexport default ${GOOD};\n` });
  const err = await failure(loadPlugin("./p.ts", { cwd: dir }));
  t.equal(err.code, "VMSCN6007");
  t.match(err.message, /^cannot load plugin "\.\/p\.ts": esbuild could not compile it: .*no keys/);
});
