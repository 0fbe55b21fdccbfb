// The language pipeline end to end: load (lex, parse, imports) → plugins → validate →
// compile → run → report → expectations. Every stage returns diagnostics; only a failure of
// the simulation itself (a plugin bug, a deadlock, an impossible start state) ends a run early.
import { dirname } from "node:path";
import { VmscnError } from "../core/errors.js";
import type { RunConfig } from "../core/config.js";
import { createKernel } from "../core/run/container.js";
import type { Kernel, RunSummary } from "../core/run/kernel.js";
import type { Report } from "../core/report/json.js";
import { loadPlugin } from "../core/plugin-host/load.js";
import type { PluginEntry } from "../core/plugin-host/order.js";
import type { Plugin } from "../core/plugin-host/define.js";
import { builtinPlugins } from "./builtins.js";
import type { FrontMatter } from "../dsl/ast.js";
import { diag, hasErrors, sortDiagnostics, type Diagnostic, type Phase } from "../dsl/diagnostics.js";
import { fileLoc, loadProgram, type LoadedProgram, type ReadFile } from "../dsl/load.js";
import { validate } from "../dsl/validate/validate.js";
import { compile } from "../dsl/compile.js";
import { evaluateExpects, type ExpectResult } from "../dsl/expect.js";
import type { Plan } from "../dsl/plan.js";
import { estimateMemory, formatMiB } from "./limits.js";

export interface PipelineOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Extra plugins (`--plugin`), resolved from `cwd`. */
  plugins?: readonly string[];
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

/** Everything short of running: diagnostics of every phase up to validation. */
export async function check(path: string, opts: PipelineOptions = {}): Promise<CheckOutcome> {
  const program = loadProgram(path, opts.read);
  const base = { path, frontMatter: program.main.frontMatter, sources: program.sources, plan: undefined, kernel: undefined };
  const parseErrors = program.diagnostics.filter((d) => d.phase === "parse");
  if (hasErrors(parseErrors)) return { ...base, diagnostics: sortDiagnostics([...program.diagnostics]), failedPhase: "parse" };

  const kernel = createKernel(runConfig(program, opts));
  const diagnostics = [...program.diagnostics, ...(await registerPlugins(program, kernel, opts))];
  const verbs = new Map(kernel.plugins.allVerbs().map((v) => [v.name, v]));
  const v = validate(program, verbs, new Map(kernel.plugins.allHypercalls().map((h) => [h.name, h])));
  diagnostics.push(...v.diagnostics);
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
  const c = await check(path, opts);
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

async function registerPlugins(program: LoadedProgram, kernel: Kernel, opts: PipelineOptions): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const objects = opts.pluginObjects ?? [];
  const entries: PluginEntry[] = builtinPlugins.filter((b) => !objects.some((o) => o.name === b.name)).map((plugin) => ({ plugin }));
  for (const plugin of objects) entries.push({ plugin, source: "test" });
  for (const use of program.plugins) {
    try {
      const loaded = await loadPlugin(use.spec.value, { cwd: dirname(use.loc.file) });
      entries.push({ plugin: loaded.plugin, source: use.spec.value });
    } catch (err) {
      out.push(diag("VMSCN0218", `plugin "${use.spec.value}" cannot be loaded: ${(err as Error).message}`, use.spec.loc, "validate"));
    }
  }
  for (const spec of opts.plugins ?? []) {
    try {
      const loaded = await loadPlugin(spec, { cwd: opts.cwd ?? process.cwd() });
      entries.push({ plugin: loaded.plugin, source: spec });
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
  return out;
}
