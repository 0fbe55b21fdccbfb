// House rules that keep the layers apart and the runs deterministic, checked on the source.
import t from "tap";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (name === "node_modules") continue;
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Module specifiers of import and export-from statements and dynamic imports, strictly (not bare strings). */
function moduleSpecifiers(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    found.push((m[1] ?? m[2] ?? m[3])!);
  }
  return found;
}

/** The test files under `dir`. */
function tests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (name === "node_modules") continue;
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...tests(path));
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function specifiers(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8")
    .split("\n")
    .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l))
    .join("\n");
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'\n;]*?(?:from\s*)?["']([^"']+)["']/g)) found.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.push(m[1]!);
  return found;
}

/** The top-level folder a relative specifier lands in, seen from `file`. */
function target(file: string, spec: string): string {
  return relative(ROOT, resolve(ROOT, dirname(file), spec));
}

/** Import statements as written (static and dynamic), with whether they bring types only. */
function imports(file: string): { spec: string; typeOnly: boolean }[] {
  const text = readFileSync(join(ROOT, file), "utf8")
    .split("\n")
    .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l))
    .join("\n");
  const found: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(import|export)(\s+type\b)?[^"'\n;]*?(?:from\s*)?["']([^"']+)["']/g)) found.push({ spec: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.push({ spec: m[1]!, typeOnly: false });
  return found;
}

/**
 * The layers, and what each may import (relative imports; packages are not the layers' concern):
 * core ← dsl ← app → plugins; cli on top. Plugins reach the kernel through core/api.js only,
 * and another plugin only through `import type` from its api.ts.
 */
const LAYERS: Readonly<Record<string, readonly string[]>> = {
  core: ["core"],
  dsl: ["dsl", "core"],
  app: ["app", "dsl", "core", "plugins"],
  cli: ["cli", "app", "dsl", "core", "plugins"],
};

function layerProblems(layer: string): string[] {
  const bad: string[] = [];
  for (const file of sources(layer)) {
    for (const { spec } of imports(file)) {
      if (!spec.startsWith(".")) continue;
      const to = target(file, spec);
      const top = to.split(sep)[0]!;
      if (!LAYERS[layer]!.includes(top)) bad.push(`${file} imports ${spec} (${layer}/ may import ${LAYERS[layer]!.join(", ")})`);
      else if (top === "plugins" && layer === "app" && !/^plugins\/[a-z0-9-]+\/(index|api)\.js$/.test(to)) bad.push(`${file} imports ${spec}: app/ takes a plugin's index.js or api.js only`);
      else if (top === "plugins" && layer === "cli" && !/^plugins\/[a-z0-9-]+\/api\.js$/.test(to)) bad.push(`${file} imports ${spec}: cli/ reaches a plugin only through what its api.ts exports`);
    }
  }
  return bad;
}

for (const layer of Object.keys(LAYERS)) {
  t.test(`${layer}/ imports only ${LAYERS[layer]!.join(", ")}`, async (t) => {
    t.ok(sources(layer).length > 0);
    t.same(layerProblems(layer), []);
  });
}

t.test("a plugin imports the kernel only through core/api.js, and another plugin only by `import type` from its api.ts", async (t) => {
  const files = sources("plugins");
  t.ok(files.length > 0);
  const bad: string[] = [];
  for (const file of files) {
    const parts = file.split(sep);
    if (parts.length < 3) {
      bad.push(`${file}: every file under plugins/ belongs to a plugin's folder (the built-ins are listed in app/builtins.ts)`);
      continue;
    }
    const own = join("plugins", parts[1]!);
    for (const { spec, typeOnly } of imports(file)) {
      if (!spec.startsWith(".")) continue;
      const to = target(file, spec);
      if (to === join("core", "api.js")) continue;
      if (to.startsWith(own + sep)) continue;
      if (typeOnly && /^plugins\/[a-z0-9-]+\/api\.js$/.test(to)) continue;
      bad.push(`${file} imports ${spec}`);
    }
  }
  t.same(bad, [], "plugins reach kernel internals or another plugin's files; use core/api.js, k.use() and `import type` from the provider's api.ts");
});

t.test("a plugin that provides a service declares its type in its api.ts, merged into Services", async (t) => {
  const bad: string[] = [];
  for (const name of readdirSync(join(ROOT, "plugins"))) {
    const dir = join("plugins", name);
    if (!statSync(join(ROOT, dir)).isDirectory()) continue;
    const files = sources(dir);
    const provides = files.some((f) => /\bk\.provide\(/.test(readFileSync(join(ROOT, f), "utf8")));
    const api = join(dir, "api.ts");
    const declares = files.includes(api) && /declare module "\.\.\/\.\.\/core\/api\.js"\s*\{\s*interface Services\s*\{\s*"?[a-z-]+"?:/.test(readFileSync(join(ROOT, api), "utf8"));
    if (provides && !declares) bad.push(`${dir} provides a service but its api.ts does not declare it in Services`);
    if (!provides && files.includes(api) && declares) bad.push(`${dir}/api.ts declares a service the plugin never provides`);
  }
  t.same(bad, []);
});

t.test("an example plugin package imports only vmscn (vmscn/testing in tests), node built-ins and its own files", async (t) => {
  const packages = readdirSync(join(ROOT, "examples")).filter((d) => statSync(join(ROOT, "examples", d)).isDirectory());
  t.ok(packages.includes("vmscn-plugin-balloon"));
  const bad: string[] = [];
  for (const name of packages) {
    const pkg = join("examples", name);
    // Its tests too: a third-party author tests through vmscn/testing, not through vmscn's files.
    const files = [...sources(pkg), ...tests(pkg)];
    t.ok(files.length > 0, pkg);
    for (const file of files) {
      const isTest = file.endsWith(".test.ts");
      for (const spec of moduleSpecifiers(file)) {
        if (spec.startsWith(".")) {
          if (!target(file, spec).startsWith(pkg + sep)) bad.push(`${file} imports ${spec}, outside its package`);
        } else if (spec !== "vmscn" && !(isTest && spec === "vmscn/testing") && !spec.startsWith("node:")) {
          bad.push(`${file} imports ${spec}`);
        }
      }
    }
  }
  t.same(bad, [], 'an example plugin reaches past the public API; import from "vmscn" (and "vmscn/testing" in tests)');
});

t.test("nothing that runs in a simulation reads the wall clock or Math.random", async (t) => {
  const bad: string[] = [];
  const forbidden = /\bDate\.now\s*\(|\bnew Date\s*\(|\bperformance\.now\s*\(|\bMath\.random\s*\(|\bprocess\.hrtime\b/;
  for (const file of [...sources("core"), ...sources("plugins"), ...sources("dsl"), ...sources("examples")]) {
    const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, "");
      if (forbidden.test(code)) bad.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  t.same(bad, []);
});

t.test("no file under plugins/ is over 500 lines: a plugin is cut by phase, a file has one job", async (t) => {
  const bad: string[] = [];
  for (const file of sources("plugins")) {
    const lines = readFileSync(join(ROOT, file), "utf8").split("\n").length - 1;
    if (lines > 500) bad.push(`${file}: ${lines} lines`);
  }
  t.same(bad, []);
});

t.test("a plugin tells its own changes from the kernel's by the signal's cause, not by a flag set around the call", async (t) => {
  const bad: string[] = [];
  for (const file of sources("plugins")) {
    readFileSync(join(ROOT, file), "utf8").split("\n").forEach((line, i) => {
      if (/\bclosing\s*=\s*(true|false)\b/.test(line)) bad.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  t.same(bad, []);
});

t.test("name-keyed tables of the report and the kernel's name lookups are Maps or prototype-free objects", async (t) => {
  // A `{}` keyed by a scenario's names turns a VM called `__proto__` into the table's prototype
  // (the entry vanishes from the report) and answers `constructor` with Object itself. Report
  // sections and metric providers build their tables with Object.create(null) (core: nameTable
  // in core/report/table.ts) or a Map.
  const scope = [
    ...sources("core/report"),
    join("core", "run", "sections.ts"),
    ...sources("core/world"),
    ...sources("core/net"),
    ...sources("core/storage"),
    ...sources("plugins").filter((f) => /^plugins\/[a-z0-9-]+\/(index|report)\.ts$/.test(f)),
  ];
  t.ok(scope.includes(join("plugins", "tps", "index.ts")) && scope.includes(join("plugins", "precopy-migration", "report.ts")));
  const plainTable = /(?:Record<string,[^=;]*>|\{\s*\[\w+:\s*string\]:[^=;]*\})\s*=\s*\{\s*\}|\{\s*\}\s*as\s+(?:Record<string|\{\s*\[)/;
  const bad: string[] = [];
  for (const file of scope) {
    readFileSync(join(ROOT, file), "utf8").split("\n").forEach((line, i) => {
      if (plainTable.test(line.replace(/\/\/.*$/, ""))) bad.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  t.same(bad, [], "use Object.create(null) (nameTable in core) or a Map");
});
