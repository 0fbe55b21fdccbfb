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

t.test("nothing under core/ imports from plugins/, dsl/ or cli/", async (t) => {
  const bad: string[] = [];
  for (const file of sources("core")) {
    for (const spec of specifiers(file)) {
      if (!spec.startsWith(".")) continue;
      const top = target(file, spec).split(sep)[0];
      if (top !== "core") bad.push(`${file} imports ${spec}`);
    }
  }
  t.same(bad, []);
});

t.test("a plugin imports the kernel only through core/api.js (the public API)", async (t) => {
  const files = sources("plugins");
  t.ok(files.length > 0);
  const bad: string[] = [];
  for (const file of files) {
    const parts = file.split(sep);
    // plugins/index.ts lists the built-ins; each plugin lives in plugins/<name>/.
    const own = parts.length > 2 ? join("plugins", parts[1]!) : "plugins";
    for (const spec of specifiers(file)) {
      if (!spec.startsWith(".")) continue;
      const to = target(file, spec);
      if (to === join("core", "api.js")) continue;
      if (own === "plugins" && to.startsWith(`plugins${sep}`) && to.endsWith(`${sep}index.js`)) continue;
      if (own === "plugins" && to === join("core", "api.js")) continue;
      if (own !== "plugins" && to.startsWith(own + sep)) continue;
      bad.push(`${file} imports ${spec}`);
    }
  }
  t.same(bad, [], "plugins reach kernel internals or another plugin's files; use core/api.js and k.use()");
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
