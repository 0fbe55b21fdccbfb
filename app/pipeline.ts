// The language pipeline end to end: load (lex, parse, imports) → plugins → validate →
// compile → run → report → expectations. Every stage returns diagnostics; only a failure of
// the simulation itself (a plugin bug, a deadlock, an impossible start state) ends a run early.
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { VmscnError } from "../core/errors.js";
import type { RunConfig } from "../core/config.js";
import { createKernel } from "../core/run/container.js";
import type { Kernel, RunSummary } from "../core/run/kernel.js";
import type { Report } from "../core/report/json.js";
import { loadPlugin, resolvePlugin } from "../core/plugin-host/load.js";
import type { PluginEntry } from "../core/plugin-host/order.js";
import type { Plugin } from "../core/plugin-host/define.js";
import { builtinPlugins } from "./builtins.js";
import type { FrontMatter } from "../dsl/ast.js";
import { diag, hasErrors, sortDiagnostics, type Diagnostic, type Phase } from "../dsl/diagnostics.js";
import { fileLoc, loadProgram, ReadRefused, type LoadedProgram, type ReadFile } from "../dsl/load.js";
import type { StringLit, UsePluginStmt } from "../dsl/ast.js";
import { validate } from "../dsl/validate/validate.js";
import { compile } from "../dsl/compile.js";
import { evaluateExpects, type ExpectResult } from "../dsl/expect.js";
import type { Plan } from "../dsl/plan.js";
import { estimateMemory, formatMiB } from "./limits.js";
import { checkFile, checkTrace, policyReader, readPolicy, readTrace, realOrSelf, type ReadPolicy } from "./fs-policy.js";

export interface PipelineOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Extra plugins (`--plugin`), resolved from `cwd`: the user's own, always loaded. */
  plugins?: readonly string[];
  /**
   * Load the plugins the scenario names (`use plugin`), which runs their code (`--allow-plugins`).
   * Without it, only those that are also in `plugins` load; the others are VMSCN0240.
   */
  allowPlugins?: boolean;
  /** Folders (relative to `cwd`) a scenario may read besides its own folder tree (`--allow-read`). */
  allowRead?: readonly string[];
  /** Plugin objects to register too (PluginTester's plugin under test); one named like a built-in replaces it. */
  pluginObjects?: readonly Plugin[];
  cwd?: string;
  outDir?: string;
  checkInvariants?: boolean;
  trace?: boolean;
  /** Refuse (VMSCN0223) a scenario whose estimated memory need exceeds this many bytes. */
  maxMemoryBytes?: number;
  /** Called now and then during the run with the simulated time reached. */
  progress?: (nowNs: number, untilNs: number | undefined) => void;
  /** Reads the scenario's sources instead of the file system's policy (app/fs-policy.ts). */
  read?: ReadFile;
}

export interface CheckOutcome {
  path: string;
  frontMatter: FrontMatter;
  /** Sorted by file and position. */
  diagnostics: Diagnostic[];
  /** Source text by path, for code frames. */
  sources: Map<string, string>;
  /** The phase whose errors stopped the pipeline; "done" when there were none. */
  failedPhase: Phase | undefined;
  plan: Plan | undefined;
  kernel: Kernel | undefined;
}

export interface RunOutcome extends CheckOutcome {
  report: Report | undefined;
  summary: RunSummary | undefined;
  expects: ExpectResult[];
  /** A failure of the run itself (code and sentence). */
  error: VmscnError | undefined;
}

/**
 * Everything short of running: diagnostics of every phase up to validation. Nothing a scenario
 * names is executed: its plugins are listed (VMSCN0240 warnings) unless allowed.
 */
export function check(path: string, opts: PipelineOptions = {}): Promise<CheckOutcome> {
  return prepare(path, opts, false);
}

async function prepare(path: string, opts: PipelineOptions, forRun: boolean): Promise<CheckOutcome> {
  const policy = readPolicy(path, opts.allowRead ?? [], opts.cwd);
  const program = loadProgram(path, opts.read ?? policyReader(policy, path));
  const base = { path, frontMatter: program.main.frontMatter, sources: program.sources, plan: undefined, kernel: undefined };
  const parseErrors = program.diagnostics.filter((d) => d.phase === "parse");
  if (hasErrors(parseErrors)) return { ...base, diagnostics: sortDiagnostics([...program.diagnostics]), failedPhase: "parse" };

  const kernel = createKernel(runConfig(program, opts));
  // The kernel reads a trace when it creates the VM: under the policy again, on the bytes it reads.
  kernel.workload.readTrace = (p) => {
    try {
      return readTrace(policy, p);
    } catch (err) {
      if (err instanceof ReadRefused) throw new Error(`${err.message} (${err.code})`);
      throw err;
    }
  };
  const plugins = await registerPlugins(program, kernel, opts, forRun);
  const diagnostics = [...program.diagnostics, ...plugins.diagnostics, ...checkNamedFiles(program, policy, opts)];
  const verbs = new Map(kernel.plugins.allVerbs().map((v) => [v.name, v]));
  const v = validate(program, verbs, new Map(kernel.plugins.allHypercalls().map((h) => [h.name, h])));
  diagnostics.push(...(plugins.notLoaded.length > 0 ? v.diagnostics.map((d) => mayBeFromPlugin(d, plugins.notLoaded)) : v.diagnostics));
  if (opts.seed !== undefined) v.plan.seed = opts.seed;
  if (opts.maxMemoryBytes !== undefined && !hasErrors(diagnostics)) {
    const e = estimateMemory(v.plan, { filesOnDisk: opts.outDir !== undefined });
    if (e.totalBytes > opts.maxMemoryBytes) {
      const top = e.contributors.slice(0, 3).map((c) => `${c.what} ${formatMiB(c.bytes)}`).join("; ");
      const at = program.scenario?.loc ?? fileLoc(program.main.path);
      diagnostics.push(diag("VMSCN0223", `this scenario would need about ${formatMiB(e.totalBytes)} of memory, more than the ${formatMiB(opts.maxMemoryBytes)} allowed; the largest: ${top}`, at, "validate", "make the VMs smaller, or raise --max-memory if the machine has the memory"));
    }
  }
  return { ...base, diagnostics: sortDiagnostics(diagnostics), failedPhase: hasErrors(diagnostics) ? "validate" : undefined, plan: v.plan, kernel };
}

/** Checks, then runs the scenario and evaluates its expectations. */
export async function run(path: string, opts: PipelineOptions = {}): Promise<RunOutcome> {
  const c = await prepare(path, opts, true);
  const none = { report: undefined, summary: undefined, expects: [], error: undefined };
  if (c.failedPhase || !c.plan || !c.kernel) return { ...c, ...none };
  const k = c.kernel;
  if (opts.trace) k.trace.enabled = true;
  try {
    compile(c.plan, k);
    if (opts.progress) {
      const progress = opts.progress;
      const until = c.plan.until;
      k.scheduler.progress = () => progress(k.scheduler.now, until);
    }
    const summary = k.run(c.plan.until);
    const report = k.report(c.plan.name);
    const names = {
      vms: new Set(c.plan.vms.map((v) => v.name)),
      hosts: new Set(c.plan.hosts.map((h) => h.name)),
      datastores: new Set(c.plan.datastores.map((d) => d.name)),
      links: new Set(c.plan.links.map((l) => `${l.a}<->${l.b}`)),
    };
    const expects = evaluateExpects(c.plan.expects, report as unknown as Record<string, unknown>, names);
    return { ...c, report, summary, expects, error: undefined };
  } catch (err) {
    if (err instanceof VmscnError) return { ...c, ...none, failedPhase: "run", error: err };
    throw err;
  }
}

function runConfig(program: LoadedProgram, opts: PipelineOptions): Partial<RunConfig> {
  // The seed must be known before the kernel exists (random streams derive from it).
  let seed = opts.seed;
  for (const s of program.statements) {
    if (s.type === "seed" && seed === undefined && s.value.unit === undefined && Number.isSafeInteger(s.value.value)) seed = s.value.value;
  }
  return {
    seed: seed ?? 1,
    ...(opts.outDir !== undefined ? { outDir: opts.outDir } : {}),
    checkInvariants: opts.checkInvariants ?? false,
  };
}

/**
 * The files a run will read that the scenario names besides its imports, checked against the
 * policy now: a workload's trace (read when the VM is created), and a `restore { path }` checkpoint
 * (read by plugin lazy-checkpoint, relative to the working folder; the --out folder, which the
 * user named, is allowed too). A refusal is a diagnostic at the path; a file that is merely
 * missing is left to the run, which reports it as before (VMSCN5013, VMSCN7306).
 */
function checkNamedFiles(program: LoadedProgram, policy: ReadPolicy, opts: PipelineOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const refused = (lit: StringLit, what: string, check: () => void): void => {
    try {
      check();
    } catch (err) {
      if (err instanceof ReadRefused) out.push(diag(err.code, `cannot read the ${what} "${lit.value}": ${err.message}`, lit.loc, "validate", err.hint));
    }
  };
  const withOut: ReadPolicy = opts.outDir === undefined ? policy : { roots: [...policy.roots, realOrSelf(resolve(opts.outDir))] };
  for (const s of program.statements) {
    if (s.type === "vm" && s.workload?.trace) {
      const lit = s.workload.trace;
      refused(lit, "trace", () => checkTrace(policy, resolve(dirname(lit.loc.file), lit.value)));
    } else if (s.type === "action" && s.verb.text === "restore" && s.options) {
      const at = s.options.findIndex((a) => a.kind === "word" && a.text === "path");
      const lit = s.options[at + 1];
      if (at >= 0 && lit?.kind === "string") refused(lit, "checkpoint file", () => checkFile(withOut, resolve(lit.value), Infinity, "a checkpoint file"));
    }
  }
  return out;
}

/** An unknown verb or hypercall may be one a plugin that was not loaded adds: a warning then. */
function mayBeFromPlugin(d: Diagnostic, notLoaded: readonly UsePluginStmt[]): Diagnostic {
  if (d.code !== "VMSCN0207") return d;
  const names = notLoaded.map((u) => `"${u.spec.value}"`).join(", ");
  return { ...d, severity: "warning", hint: `plugin ${names} may provide it; it was not loaded` };
}

interface Registered {
  diagnostics: Diagnostic[];
  /** `use plugin` statements whose plugin was not loaded for want of consent. */
  notLoaded: UsePluginStmt[];
}

/**
 * Registers the built-ins, the caller's plugin objects, the scenario's plugins and --plugin's.
 * A plugin the scenario names is imported (its code runs) only with the user's consent:
 * `allowPlugins`, or the same file given with --plugin. Otherwise it is resolved but not
 * imported, and reported (VMSCN0240): an error for a run, a warning for a check.
 */
async function registerPlugins(program: LoadedProgram, kernel: Kernel, opts: PipelineOptions, forRun: boolean): Promise<Registered> {
  const out: Diagnostic[] = [];
  const notLoaded: UsePluginStmt[] = [];
  const objects = opts.pluginObjects ?? [];
  const entries: PluginEntry[] = builtinPlugins.filter((b) => !objects.some((o) => o.name === b.name)).map((plugin) => ({ plugin }));
  for (const plugin of objects) entries.push({ plugin, source: "test" });
  const cwd = opts.cwd ?? process.cwd();
  const given: { spec: string; path: string }[] = [];
  for (const spec of opts.plugins ?? []) {
    try {
      given.push({ spec, path: resolvePlugin(spec, { cwd }) });
    } catch (err) {
      out.push(diag("VMSCN0218", `plugin "${spec}" (--plugin) cannot be loaded: ${(err as Error).message}`, fileLoc(program.main.path), "validate"));
    }
  }
  const loaded = new Set<string>();
  for (const use of program.plugins) {
    const from = dirname(use.loc.file);
    let path: string;
    try {
      path = resolvePlugin(use.spec.value, { cwd: from });
    } catch (err) {
      out.push(diag("VMSCN0218", `plugin "${use.spec.value}" cannot be loaded: ${(err as Error).message}`, use.spec.loc, "validate"));
      continue;
    }
    if (!opts.allowPlugins && !given.some((g) => g.path === path)) {
      notLoaded.push(use);
      out.push(notAllowed(use, path, cwd, forRun));
      continue;
    }
    try {
      const plugin = await loadPlugin(use.spec.value, { cwd: from });
      entries.push({ plugin: plugin.plugin, source: use.spec.value });
      loaded.add(path);
    } catch (err) {
      out.push(diag("VMSCN0218", `plugin "${use.spec.value}" cannot be loaded: ${(err as Error).message}`, use.spec.loc, "validate"));
    }
  }
  for (const { spec, path } of given) {
    if (loaded.has(path)) continue; // the scenario names it too: loaded once, where it names it
    try {
      const plugin = await loadPlugin(spec, { cwd });
      entries.push({ plugin: plugin.plugin, source: spec });
    } catch (err) {
      out.push(diag("VMSCN0218", `plugin "${spec}" (--plugin) cannot be loaded: ${(err as Error).message}`, fileLoc(program.main.path), "validate"));
    }
  }
  try {
    await kernel.plugins.registerAll(entries);
  } catch (err) {
    if (!(err instanceof VmscnError)) throw err;
    out.push(diag("VMSCN0218", err.message, program.plugins[0]?.spec.loc ?? fileLoc(program.main.path), "validate", `error ${err.code}`));
  }
  return { diagnostics: out, notLoaded };
}

function notAllowed(use: UsePluginStmt, path: string, cwd: string, forRun: boolean): Diagnostic {
  const rel = relative(cwd, path);
  const shown = rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? (rel.startsWith(".") ? rel : `./${rel}`) : path;
  const spec = `plugin "${use.spec.value}" (${path})`;
  return forRun
    ? diag("VMSCN0240", `${spec} is named by the scenario and was not loaded: a plugin runs code, so a scenario's plugins load only if you allow them`, use.spec.loc, "validate", `pass --allow-plugins to load the plugins a scenario names, or name this one yourself with --plugin ${shown}`)
    : diag("VMSCN0240", `${spec} would be loaded by a run with --allow-plugins; a check runs no code a scenario names, so it is not loaded`, use.spec.loc, "validate", `to check the verbs it adds, name it yourself: --plugin ${shown}`, "warning");
}
