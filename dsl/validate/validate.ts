// Validation: a registry of checks keyed by statement type (as Langium does), run over the
// program's statements in order after the names are collected. It returns the plan for
// compilation and every diagnostic at once.
import type { Statement } from "../ast.js";
import type { RegisteredHypercall, RegisteredVerb } from "../../core/plugin-host/context.js";
import type { Plan } from "../plan.js";
import type { LoadedProgram } from "../load.js";
import { inDimension, inRange, timeBounds } from "./values.js";
import { ValidationContext } from "./context.js";
import { checkDatastore, checkHost, checkLink, checkRates, checkVm } from "./platform.js";
import { checkAction, checkHorizon, checkHypercall, checkRun, checkScripted, planAction, verbCheck } from "./actions.js";
import { ValidationRegistry, type StatementType } from "./registry.js";
import { checkExpect } from "./expects.js";
import type { Diagnostic } from "../diagnostics.js";

export interface ValidationResult {
  plan: Plan;
  diagnostics: Diagnostic[];
}

/** Statement types in the order they are checked: the platform first (hosts before the VMs on them), then actions and expectations. */
const ORDER: readonly StatementType[] = ["host", "link", "datastore", "vm", "seed", "tick", "run", "action", "scripted", "hypercall", "expect"];

/** The language's checks, then each loaded verb's own check (for its actions), then planning. */
export function validationRegistry(verbs: ReadonlyMap<string, RegisteredVerb>): ValidationRegistry {
  const r = new ValidationRegistry();
  r.register("host", checkHost);
  r.register("link", checkLink);
  r.register("datastore", checkDatastore);
  r.register("vm", checkVm);
  r.register("seed", (s, ctx) => {
    const v = inDimension(s.value, "count", "the seed", ctx.diagnostics);
    if (v !== undefined && inRange(v, s.value, "the seed", ctx.diagnostics, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }) !== undefined) ctx.plan.seed = v;
  });
  r.register("tick", (s, ctx) => {
    const v = inDimension(s.value, "time", "the workload tick", ctx.diagnostics);
    if (v !== undefined && inRange(v, s.value, "the workload tick", ctx.diagnostics, timeBounds(1_000)) !== undefined) ctx.plan.tickNs = Math.round(v);
  });
  r.register("run", (s, ctx) => {
    checkRun(s, ctx, ctx.run);
    ctx.run ??= s;
  });
  r.register("action", checkAction);
  for (const v of verbs.values()) if (v.check) r.register("action", verbCheck(v.name, v.check), v.plugin, `check(${v.name})`);
  r.register("action", planAction);
  r.register("scripted", checkScripted);
  r.register("hypercall", checkHypercall);
  r.register("expect", checkExpect);
  return r;
}

export function validate(
  program: LoadedProgram,
  verbs: ReadonlyMap<string, RegisteredVerb>,
  hypercalls: ReadonlyMap<string, RegisteredHypercall> = new Map(),
  registry: ValidationRegistry = validationRegistry(verbs),
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
  const ctx = new ValidationContext(verbs, plan, hypercalls);
  collectNames(program.statements, ctx);
  for (const type of ORDER) {
    for (const s of program.statements) if (s.type === type) registry.run(s, ctx);
  }
  checkHorizon(ctx);
  checkRates(ctx);
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
