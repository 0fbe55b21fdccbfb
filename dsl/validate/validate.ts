// Validation: a registry of checks keyed by statement type (as Langium does), run over the
// program's statements in order after the names are collected. It returns the plan for
// compilation and every diagnostic at once.
import type { Statement } from "../ast.js";
import type { RegisteredHypercall, RegisteredVerb } from "../../core/plugin-host/context.js";
import type { Plan } from "../plan.js";
import type { LoadedProgram } from "../load.js";
import { inDimension, inRange } from "./values.js";
import { ValidationContext } from "./context.js";
import { checkDatastore, checkHost, checkLink, checkVm } from "./platform.js";
import { checkAction, checkHorizon, checkHypercall, checkRun, checkScripted } from "./actions.js";
import { checkExpect } from "./expects.js";
import type { Diagnostic } from "../diagnostics.js";
import type { RunStmt } from "../ast.js";

type Checks = { [K in Statement["type"]]?: (node: Extract<Statement, { type: K }>, ctx: ValidationContext) => void };

export interface ValidationResult {
  plan: Plan;
  diagnostics: Diagnostic[];
}

export function validate(
  program: LoadedProgram,
  verbs: ReadonlyMap<string, RegisteredVerb>,
  unloadedVerbs: ReadonlyMap<string, string> = new Map(),
  hypercalls: ReadonlyMap<string, RegisteredHypercall> = new Map(),
): ValidationResult {
  const plan: Plan = {
    name: program.scenario?.name.value ?? "",
    seed: undefined,
    tickNs: undefined,
    hosts: [],
    links: [],
    datastores: [],
    vms: [],
    actions: [],
    scripted: [],
    hypercalls: [],
    until: undefined,
    expects: [],
  };
  const ctx = new ValidationContext(verbs, unloadedVerbs, plan, hypercalls);
  collectNames(program.statements, ctx);
  let run: RunStmt | undefined;
  const checks: Checks = {
    host: checkHost,
    link: checkLink,
    datastore: checkDatastore,
    vm: checkVm,
    action: checkAction,
    scripted: checkScripted,
    hypercall: checkHypercall,
    expect: checkExpect,
    run: (r) => {
      checkRun(r, ctx, run);
      run ??= r;
    },
    seed: (s) => {
      const v = inDimension(s.value, "count", "the seed", ctx.diagnostics);
      if (v !== undefined && inRange(v, s.value, "the seed", ctx.diagnostics, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }) !== undefined) plan.seed = v;
    },
    tick: (s) => {
      const v = inDimension(s.value, "time", "the workload tick", ctx.diagnostics);
      if (v !== undefined && inRange(v, s.value, "the workload tick", ctx.diagnostics, { min: 1_000 }) !== undefined) plan.tickNs = Math.round(v);
    },
  };
  // Platform first (hosts before the VMs on them), then actions and expectations.
  const order: Statement["type"][] = ["host", "link", "datastore", "vm", "seed", "tick", "run", "action", "scripted", "hypercall", "expect"];
  for (const type of order) {
    const check = checks[type] as ((n: Statement, c: ValidationContext) => void) | undefined;
    for (const s of program.statements) if (s.type === type) check?.(s, ctx);
  }
  checkHorizon(ctx);
  return { plan, diagnostics: ctx.diagnostics };
}

/** Hosts, VMs and datastores share one name space (so `web.host` is never ambiguous). */
function collectNames(statements: readonly Statement[], ctx: ValidationContext): void {
  const seen = new Map<string, { kind: string; line: number; file: string }>();
  for (const s of statements) {
    if (s.type !== "host" && s.type !== "vm" && s.type !== "datastore" && s.type !== "link") continue;
    if (s.type === "link") {
      const name = `${s.a.text}<->${s.b.text}`;
      const prev = ctx.link(name);
      if (prev) ctx.error("VMSCN0205", `link ${name} is declared twice (first at line ${prev.loc.line})`, s.loc);
      else ctx.symbols.links.set(name, s);
      continue;
    }
    const name = s.name.text;
    const prev = seen.get(name);
    if (prev) {
      ctx.error("VMSCN0205", `"${name}" is already the name of a ${prev.kind} (${prev.file === s.loc.file ? "" : `${prev.file}, `}line ${prev.line})`, s.name.loc, "hosts, VMs and datastores share one name space");
      continue;
    }
    seen.set(name, { kind: s.type === "vm" ? "VM" : s.type, line: s.loc.line, file: s.loc.file });
    if (s.type === "host") ctx.symbols.hosts.set(name, s);
    else if (s.type === "vm") ctx.symbols.vms.set(name, s);
    else ctx.symbols.datastores.set(name, s);
  }
}
