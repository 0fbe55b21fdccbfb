// Loads a third-party plugin from a path (.ts compiled in memory by esbuild, or .js) or from an
// npm package named vmscn-plugin-*, and checks what it exports.
import "reflect-metadata";
import * as tsyringe from "tsyringe";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Message, Plugin as EsbuildPlugin } from "esbuild";
import { VmscnError, kernelError } from "../errors.js";
import { PluginShapeError, checkPlugin, type Plugin } from "./define.js";
import * as publicApi from "../api.js";
import type { PluginEntry } from "./order.js";

export interface LoadedPlugin extends PluginEntry {
  /** The spec as the user wrote it: "./my-plugin.ts" or "vmscn-plugin-demo". */
  readonly source: string;
  /** The file that was imported. */
  readonly path: string;
}

export interface LoadOptions {
  /** Folder that relative paths and package names resolve from (default: the process's). */
  readonly cwd?: string;
}

// ---------------------------------------------------------------------------------------------
// Host modules. A .ts plugin is bundled by esbuild, and its imports of these names are replaced
// by virtual modules that re-export the host's own module objects, read from a global at import
// time. The plugin thus shares the host's tsyringe (one decorator registry, one root container)
// and the host's public API (`vmscn`: core/api.ts, the very module the kernel's classes and
// constants come from) instead of bundling second copies. Plain .js plugins and packages are
// imported by Node itself, so this mapping does not apply to them: they resolve these names
// normally (an installed vmscn's package exports).
// ---------------------------------------------------------------------------------------------

export type HostModules = Record<string, Readonly<Record<string, unknown>>>;

const HOST_GLOBAL = "__vmscnHost";

function defaultHostModules(): HostModules {
  return { tsyringe, "reflect-metadata": {}, vmscn: publicApi };
}

let hostModules: HostModules = defaultHostModules();

/**
 * Compiled .ts plugins by absolute path, so loading a file twice (from two working folders)
 * imports the same module once, as Node does for .js files. The bundle depends on the host
 * modules' export names, so changing them empties the cache.
 */
const compiled = new Map<string, Promise<string>>();

/** Replaces the modules named in `modules` (others keep their current value). */
export function setHostModules(modules: HostModules): void {
  hostModules = { ...hostModules, ...modules };
  compiled.clear();
}

/** The current host module registry (read-only view). */
export function getHostModules(): Readonly<HostModules> {
  return hostModules;
}

/** Back to tsyringe, reflect-metadata and `vmscn` = the public API (for tests). */
export function resetHostModules(): void {
  hostModules = defaultHostModules();
  compiled.clear();
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** An esbuild plugin that turns imports of the host's modules into re-exports of the global. */
function hostModulesPlugin(names: readonly string[]): EsbuildPlugin {
  return {
    name: "vmscn-host-modules",
    setup(build) {
      const filter = new RegExp(`^(?:${names.map(escapeRegExp).join("|")})$`);
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: "vmscn-host" }));
      build.onLoad({ filter: /.*/, namespace: "vmscn-host" }, (args) => {
        const mod = hostModules[args.path]!;
        const ref = `globalThis[${JSON.stringify(HOST_GLOBAL)}][${JSON.stringify(args.path)}]`;
        const lines = [`const m = ${ref};`];
        Object.keys(mod).forEach((key, i) => {
          // `export { x as name }` also accepts reserved words as names.
          if (key !== "default" && IDENTIFIER.test(key)) lines.push(`const e${i} = m.${key}; export { e${i} as ${key} };`);
        });
        lines.push(`export default ("default" in m ? m.default : m);`);
        return { contents: lines.join("\n"), loader: "js" };
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------

const FILE_EXTENSIONS = [".ts", ".mts", ".js", ".mjs", ".cjs"];
const PACKAGE_NAME = /^(?:@[a-z0-9][\w.-]*\/)?vmscn-plugin-[a-z0-9][\w.-]*$/;
const ACCEPTED =
  "a plugin is a path to a .ts, .mts, .js, .mjs or .cjs file (like ./my-plugin.ts) or an npm package named vmscn-plugin-* (like vmscn-plugin-demo)";

function loadError(spec: string, reason: string, cause?: unknown): VmscnError {
  return kernelError("VMSCN6007", `cannot load plugin "${spec}": ${reason}`, { where: spec, cause });
}

function looksLikePath(spec: string): boolean {
  return (
    spec.startsWith("./") ||
    spec.startsWith("../") ||
    spec.startsWith(".\\") ||
    spec.startsWith("..\\") ||
    isAbsolute(spec) ||
    FILE_EXTENSIONS.includes(extname(spec))
  );
}

/**
 * Loads one plugin. `spec` is a path to a .ts/.mts file (bundled in memory by esbuild, with
 * tsyringe, reflect-metadata and vmscn mapped to the host's modules), a path to a .js/.mjs/.cjs
 * file, or an npm package named vmscn-plugin-* (or @scope/vmscn-plugin-*) installed where
 * `cwd` can see it. The module's default export, or else its export named `plugin`, must be
 * the plugin. Fails with VMSCN6007 (cannot load) or VMSCN6005 (not a well-formed plugin).
 */
export async function loadPlugin(spec: string, options: LoadOptions = {}): Promise<LoadedPlugin> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const path = resolvePlugin(spec, options);
  const mod = await importFile(spec, path, cwd);
  const exported = pickExport(mod);
  if (exported === undefined) {
    throw loadError(spec, `${path} has no default export and no export named "plugin"; write export default definePlugin({ ... })`);
  }
  const plugin: Plugin = checkPlugin(exported, spec);
  return { plugin, source: spec, path };
}

/**
 * The file a plugin spec names, found as loadPlugin finds it, without importing it: nothing of
 * the plugin runs (`vmscn check` lists what a scenario would load this way). Fails with VMSCN6007.
 */
export function resolvePlugin(spec: string, options: LoadOptions = {}): string {
  const cwd = resolve(options.cwd ?? process.cwd());
  if (looksLikePath(spec)) {
    const path = resolve(cwd, spec);
    if (!existsSync(path)) throw loadError(spec, `file ${path} does not exist`);
    if (statSync(path).isDirectory()) throw loadError(spec, `${path} is a folder; name the plugin's file, like ${join(spec, "index.ts")}`);
    if (!FILE_EXTENSIONS.includes(extname(path))) throw loadError(spec, `${ACCEPTED}; this file is neither`);
    return path;
  }
  if (PACKAGE_NAME.test(spec)) return resolvePackage(spec, cwd);
  throw loadError(spec, ACCEPTED);
}

function pickExport(mod: Record<string, unknown>): unknown {
  let exported = mod.default ?? mod.plugin;
  // A CommonJS module compiled from ESM exports { default: plugin } as module.exports.
  if (typeof exported === "object" && exported !== null && !("register" in exported) && "default" in exported) {
    exported = (exported as { default: unknown }).default;
  }
  return exported;
}

async function importFile(spec: string, path: string, cwd: string): Promise<Record<string, unknown>> {
  const ext = extname(path);
  let url = pathToFileURL(path).href;
  if (ext === ".ts" || ext === ".mts") {
    let pending = compiled.get(path);
    if (pending === undefined) {
      pending = compile(spec, path, cwd);
      compiled.set(path, pending);
      // A failed compile is not cached: the user may fix the file and load it again.
      pending.catch(() => compiled.delete(path));
    }
    url = await pending;
  }
  (globalThis as Record<string, unknown>)[HOST_GLOBAL] = hostModules;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    // definePlugin threw while the module ran: say which file the plugin came from.
    if (e instanceof PluginShapeError) throw e.withSource(spec);
    const what = e instanceof SyntaxError ? "it has a syntax error" : "it threw while loading";
    throw loadError(spec, `${what}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

/** Bundles a .ts plugin in memory and returns it as a data: URL. */
async function compile(spec: string, path: string, cwd: string): Promise<string> {
  const { build } = await import("esbuild");
  const names = Object.keys(hostModules);
  let code: string;
  try {
    const result = await build({
      entryPoints: [path],
      absWorkingDir: cwd,
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "silent",
      // tsyringe's decorators are TypeScript's experimental ones, whatever the plugin's tsconfig says.
      tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
      // Bundled CommonJS dependencies may require() Node built-ins or files near the plugin.
      banner: {
        js: `import { createRequire as __vmscnCreateRequire } from "node:module"; const require = __vmscnCreateRequire(${JSON.stringify(pathToFileURL(path).href)});`,
      },
      plugins: [hostModulesPlugin(names)],
    });
    code = result.outputFiles[0]!.text;
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    const detail = errors && errors.length > 0 ? formatMessages(errors) : e instanceof Error ? e.message : String(e);
    throw loadError(spec, `esbuild could not compile it: ${detail}`, e);
  }
  return `data:text/javascript;base64,${Buffer.from(code).toString("base64")}`;
}

function formatMessages(errors: readonly Message[]): string {
  const shown = errors.slice(0, 3).map((m) => {
    const loc = m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : "";
    return `${loc}${m.text}`;
  });
  if (errors.length > shown.length) shown.push(`and ${errors.length - shown.length} more`);
  return shown.join("; ");
}

// ---------------------------------------------------------------------------------------------

type Exports = string | null | Exports[] | { [key: string]: Exports };

const CONDITIONS = ["import", "node", "default"];

/** Resolves a package's "exports" target for "." with the import/node/default conditions. */
function exportsTarget(exp: Exports): string | undefined {
  if (typeof exp === "string") return exp;
  if (exp === null) return undefined;
  if (Array.isArray(exp)) {
    for (const e of exp) {
      const t = exportsTarget(e);
      if (t !== undefined) return t;
    }
    return undefined;
  }
  const keys = Object.keys(exp);
  if (keys.some((k) => k.startsWith("."))) return "." in exp ? exportsTarget(exp["."]!) : undefined;
  for (const k of keys) if (CONDITIONS.includes(k)) {
    const t = exportsTarget(exp[k]!);
    if (t !== undefined) return t;
  }
  return undefined;
}

/**
 * The entry file of an installed package, found the way Node looks for packages (node_modules
 * folders from `cwd` up) and chosen as Node's ESM loader would: "exports", then "main", then
 * index.js.
 */
function resolvePackage(spec: string, cwd: string): string {
  const folders = createRequire(join(cwd, "noop.js")).resolve.paths(spec) ?? [];
  const dir = folders.map((f) => join(f, spec)).find((d) => existsSync(join(d, "package.json")));
  if (dir === undefined) {
    throw loadError(spec, `package ${spec} is not installed in ${cwd} or above it; install it with npm install ${spec}`);
  }
  let pkg: { exports?: Exports; main?: string };
  try {
    pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as typeof pkg;
  } catch (e) {
    throw loadError(spec, `${join(dir, "package.json")} is not valid JSON`, e);
  }
  const target = pkg.exports !== undefined ? exportsTarget(pkg.exports) : (pkg.main ?? "index.js");
  const entry = target === undefined ? undefined : resolve(dir, target);
  // Legacy "main" may leave out ".js" or name a folder, as CommonJS allows.
  const file = entry === undefined ? undefined : [entry, `${entry}.js`, join(entry, "index.js")].find((f) => existsSync(f) && statSync(f).isFile());
  if (file === undefined) {
    throw loadError(spec, `package ${spec} in ${dir} has no entry file (${target === undefined ? 'its "exports" has no "." entry for import' : `${target} is missing`})`);
  }
  return file;
}
