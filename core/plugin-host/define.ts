// The plugin contract: a plugin is plain data plus a register function (as in Fastify and
// Rollup), checked when it is defined or loaded so that a wrong field fails early and by name.
import { VmscnError } from "../errors.js";
import type { PluginContext } from "./context.js";
import { parseRange, parseVersion } from "./semver.js";

export interface Plugin {
  /** kebab-case, unique in a run: "precopy-migration". */
  readonly name: string;
  /** The plugin's own semver version: "1.0.0". */
  readonly version: string;
  /** The kernel API range it was written for: "^1". */
  readonly kernel: string;
  /** Plugins that must be registered before this one. */
  readonly requires?: readonly string[];
  readonly description?: string;
  /**
   * The plugin's own error codes and their one-line meanings: `{ VMSCN7301: "a checkpoint
   * file is corrupt" }`. `k.error(code, ...)` accepts only these (and the kernel's); the
   * codes are listed by `vmscn plugins` and must not collide with another plugin's.
   */
  readonly codes?: Readonly<Record<string, string>>;
  /** Called once per run, in dependency order. */
  register(k: PluginContext): void | Promise<void>;
}

const CODE = /^[A-Z][A-Z0-9]*[0-9]{3,}$/;

const KEBAB = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** Fields people write by mistake, and the field they meant (only flagged when that one is absent). */
const MISSPELLED: Readonly<Record<string, keyof Plugin>> = {
  require: "requires",
  dependencies: "requires",
  dependsOn: "requires",
  kernelVersion: "kernel",
  engines: "kernel",
  setup: "register",
  init: "register",
};

export function isKebabName(name: unknown): name is string {
  return typeof name === "string" && KEBAB.test(name);
}

/** A value as a "got ..." phrase in a message. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    case "number":
    case "boolean":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default:
      return "an object";
  }
}

/** A malformed plugin object (VMSCN6005); `problems` lists one sentence per wrong field. */
export class PluginShapeError extends VmscnError {
  readonly pluginName: string | undefined;
  readonly problems: readonly string[];

  constructor(pluginName: string | undefined, source: string | undefined, problems: readonly string[], cause?: unknown) {
    const who = pluginName === undefined ? (source === undefined ? "a plugin" : "the plugin") : `plugin "${pluginName}"`;
    const from = source === undefined ? "" : ` from "${source}"`;
    super("VMSCN6005", `${who}${from} is malformed: ${problems.join("; ")}`, {
      where: pluginName ?? source,
      cause,
    });
    this.pluginName = pluginName;
    this.problems = problems;
  }

  /** The same error, naming the file or package the plugin came from. */
  withSource(source: string): PluginShapeError {
    return new PluginShapeError(this.pluginName, source, this.problems, this.cause);
  }
}

function problemsOf(p: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!isKebabName(p.name)) {
    problems.push(`field "name" must be a kebab-case string like "precopy-migration", got ${describeValue(p.name)}`);
  }
  if (typeof p.version !== "string" || parseVersion(p.version) === undefined) {
    problems.push(`field "version" must be a semver version like "1.0.0", got ${describeValue(p.version)}`);
  }
  if (typeof p.kernel !== "string" || parseRange(p.kernel) === undefined) {
    problems.push(`field "kernel" must be a semver range of kernel versions like "^1", got ${describeValue(p.kernel)}`);
  }
  if (p.requires !== undefined) {
    if (!Array.isArray(p.requires)) {
      problems.push(`field "requires" must be an array of plugin names, got ${describeValue(p.requires)}`);
    } else {
      const seen = new Set<string>();
      p.requires.forEach((r: unknown, i) => {
        if (!isKebabName(r)) problems.push(`field "requires[${i}]" must be a kebab-case plugin name, got ${describeValue(r)}`);
        else if (seen.has(r)) problems.push(`field "requires" lists "${r}" twice`);
        else seen.add(r);
      });
    }
  }
  if (typeof p.register !== "function") {
    problems.push(`field "register" must be a function register(k) { ... }, got ${describeValue(p.register)}`);
  }
  if (p.description !== undefined && typeof p.description !== "string") {
    problems.push(`field "description" must be a string, got ${describeValue(p.description)}`);
  }
  if (p.codes !== undefined) {
    if (typeof p.codes !== "object" || p.codes === null || Array.isArray(p.codes)) {
      problems.push(`field "codes" must be an object of code: meaning, got ${describeValue(p.codes)}`);
    } else {
      for (const [code, meaning] of Object.entries(p.codes)) {
        if (!CODE.test(code)) problems.push(`code "${code}" must be capital letters then at least three digits, like "VMSCN7301" or "BALLOON001"`);
        if (typeof meaning !== "string" || meaning.length === 0) problems.push(`code "${code}" must have a one-line meaning, got ${describeValue(meaning)}`);
      }
    }
  }
  for (const [wrong, meant] of Object.entries(MISSPELLED)) {
    if (wrong in p && !(meant in p)) problems.push(`field "${wrong}" is not a plugin field; did you mean "${meant}"?`);
  }
  return problems;
}

/**
 * Checks an object that claims to be a plugin (for example a module's default export) and
 * returns it typed. `source` (a path or package name) is named in the error.
 */
export function checkPlugin(p: unknown, source?: string): Plugin {
  if (typeof p !== "object" || p === null || Array.isArray(p)) {
    throw new PluginShapeError(undefined, source, [
      `a plugin must be an object like definePlugin({ name, version, kernel, register }), got ${describeValue(p)}`,
    ]);
  }
  const record = p as Record<string, unknown>;
  const problems = problemsOf(record);
  if (problems.length > 0) {
    throw new PluginShapeError(isKebabName(record.name) ? record.name : undefined, source, problems);
  }
  return p as Plugin;
}

/** Declares a plugin: `export default definePlugin({ name, version, kernel, requires, register })`. */
export function definePlugin<P extends Plugin>(p: P): P {
  checkPlugin(p);
  return p;
}
