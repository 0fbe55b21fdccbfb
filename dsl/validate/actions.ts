// Checks of timed actions against the schema their verb declares: arguments by position and
// keyword, options by name with their types, units, ranges and defaults.
import type { ActionStmt, Atom, HypercallStmt, Quantity, RunStmt, ScriptedStmt, WordLit } from "../ast.js";
import type { ArgSpec, OptionSpec, OptionValue, RegisteredVerb, ScenarioView } from "../../core/plugin-host/context.js";
import type { Loc } from "../ast.js";
import { defaultMax, inDimension, inRange, SAFE_MAX, timeBounds, written } from "./values.js";
import { optionDefaults } from "../../core/plugin-host/option-defaults.js";
import { didYouMean, type ValidationContext } from "./context.js";

function describeAtom(a: Atom): string {
  switch (a.kind) {
    case "word":
      return `"${a.text}"`;
    case "quantity":
      return written(a);
    case "string":
      return `"${a.value}"`;
    case "range":
      return `${a.first}..${a.last}`;
    default:
      return '","';
  }
}

function hintText(name: string, known: Iterable<string>): string | undefined {
  const h = didYouMean(name, known);
  return h ? h.replace(/^ \((.*)\)$/, "$1") : undefined;
}

/** A point in simulated time, as written (the scheduler rounds it to whole ns). */
function time(q: Quantity, ctx: ValidationContext, what: string): number | undefined {
  const t = inDimension(q, "time", what, ctx.diagnostics);
  if (t !== undefined && t < 0) {
    ctx.error("VMSCN0211", `${what} is ${written(q)}, in the past: the simulation starts at 0 s`, q.loc);
    return undefined;
  }
  if (t === undefined || inRange(t, q, what, ctx.diagnostics, timeBounds()) === undefined) return undefined;
  // -0 (`at -0 s`) is 0.
  return t + 0;
}

/**
 * An action's time, arguments and options against its verb's schema. A well-formed action is
 * kept for its verb's own check (registered by the plugin) and then planned.
 */
export function checkAction(a: ActionStmt, ctx: ValidationContext): void {
  const t = time(a.time, ctx, `the time of "${a.verb.text}"`);
  const verb = ctx.verbs.get(a.verb.text);
  if (!verb) {
    ctx.error("VMSCN0207", `no loaded plugin provides the verb "${a.verb.text}"`, a.verb.loc, hintText(a.verb.text, ctx.verbs.keys()) ?? `the verbs are ${[...ctx.verbs.keys()].join(", ")}`);
    return;
  }
  const before = ctx.diagnostics.length;
  const where = new Map<string, Loc>();
  const args = resolveArgs(a, verb, ctx, where);
  const options = resolveOptions(a, verb, ctx, where);
  if (t === undefined || !args || !options || ctx.diagnostics.length !== before) return;
  ctx.actions.set(a, { time: t, verb, args, options, where, refused: false });
}

/**
 * A verb's own check (`VerbSpec.check`), registered for the actions of that verb: what can be
 * known before the run becomes VMSCN0222 at the argument or option concerned.
 */
export function verbCheck(name: string, check: NonNullable<RegisteredVerb["check"]>): (a: ActionStmt, ctx: ValidationContext) => void {
  return (a, ctx) => {
    const call = ctx.actions.get(a);
    if (!call || call.verb.name !== name) return;
    const withDefaults = { ...optionDefaults(call.verb.options), ...call.options };
    const problems = check({ args: call.args, options: withDefaults }, scenarioView(ctx));
    for (const p of problems) ctx.error("VMSCN0222", p.message, (p.at && call.where.get(p.at)) || a.verb.loc, p.hint);
    if (problems.length > 0) call.refused = true;
  };
}

/** The action goes into the plan once every check of it has passed. */
export function planAction(a: ActionStmt, ctx: ValidationContext): void {
  const call = ctx.actions.get(a);
  if (!call || call.refused) return;
  ctx.plan.actions.push({ time: call.time, verb: call.verb.name, args: call.args, options: call.options, loc: a.loc });
}

/** The platform as declared so far (validation checks declarations before actions). */
function scenarioView(ctx: ValidationContext): ScenarioView {
  const plan = ctx.plan;
  return {
    hosts: new Map(
      plan.hosts.map((h) => [
        h.name,
        {
          cpus: h.cpus,
          memoryBytes: h.memoryBytes,
          rdma: h.rdma ?? false,
          datastores: plan.datastores.filter((d) => d.hosts.includes(h.name)).map((d) => d.name),
          ...(h.nodes !== undefined ? { nodes: h.nodes } : {}),
          ...(h.vmm !== undefined ? { vmm: h.vmm } : {}),
          ...(h.hypercalls !== undefined ? { hypercalls: h.hypercalls } : {}),
        },
      ]),
    ),
    vms: new Map(
      plan.vms.map((v) => [
        v.name,
        { host: v.host, vcpus: v.vcpus, memoryBytes: v.memoryBytes, disks: (v.disks ?? []).map((d) => d.datastore), ...(v.guest !== undefined ? { guest: v.guest } : {}), ...(v.usage !== undefined ? { usage: v.usage } : {}) },
      ]),
    ),
    datastores: new Map(plan.datastores.map((d) => [d.name, { hosts: d.hosts }])),
  };
}

function resolveArgs(a: ActionStmt, verb: RegisteredVerb, ctx: ValidationContext, where: Map<string, Loc>): Record<string, OptionValue> | undefined {
  const out: Record<string, OptionValue> = {};
  const positional = verb.args.filter((s) => s.keyword === undefined);
  const byKeyword = new Map(verb.args.filter((s) => s.keyword !== undefined).map((s) => [s.keyword!, s]));
  const filled = new Set<string>();
  let ok = true;
  const atoms = a.args;
  for (let i = 0; i < atoms.length; i++) {
    const atom = atoms[i]!;
    let spec: ArgSpec | undefined;
    if (atom.kind === "word" && byKeyword.has(atom.text) && !filled.has(byKeyword.get(atom.text)!.name)) {
      spec = byKeyword.get(atom.text)!;
      const value = atoms[i + 1];
      if (!value) {
        ctx.error("VMSCN0209", `"${atom.text}" needs ${describeArg(spec)} after it`, atom.loc);
        ok = false;
        break;
      }
      i++;
      filled.add(spec.name);
      where.set(spec.name, value.loc);
      const v = argValue(value, spec, verb, ctx);
      if (v === undefined) ok = false;
      else out[spec.name] = v;
      continue;
    }
    spec = positional.find((s) => !filled.has(s.name));
    if (!spec) {
      const keywords = [...byKeyword.keys()].filter((k) => !filled.has(byKeyword.get(k)!.name));
      ctx.error("VMSCN0213", `unexpected ${describeAtom(atom)} after "${verb.name}"`, atom.loc, `usage: ${usage(verb)}${keywords.length && atom.kind === "word" ? ` (did you mean ${keywords.map((k) => `"${k}"`).join(" or ")}?)` : ""}`);
      ok = false;
      continue;
    }
    filled.add(spec.name);
    where.set(spec.name, atom.loc);
    const v = argValue(atom, spec, verb, ctx);
    if (v === undefined) ok = false;
    else out[spec.name] = v;
  }
  for (const spec of verb.args) {
    if (!filled.has(spec.name) && !spec.optional) {
      ctx.error("VMSCN0209", `"${verb.name}" needs ${spec.keyword ? `"${spec.keyword} ${describeArg(spec)}"` : describeArg(spec)}`, a.verb.loc, `usage: ${usage(verb)}`);
      ok = false;
    }
  }
  return ok ? out : undefined;
}

export function usage(verb: RegisteredVerb): string {
  const parts = verb.args.map((s) => {
    const p = s.keyword ? `${s.keyword} <${s.name}>` : `<${s.name}>`;
    return s.optional ? `[${p}]` : p;
  });
  return [verb.name, ...parts].join(" ") + (Object.keys(verb.options).length ? " { options }" : "");
}

function describeArg(s: ArgSpec): string {
  switch (s.kind) {
    case "vm":
      return "a VM";
    case "host":
      return "a host";
    case "link":
      return "a link such as a<->b";
    case "datastore":
      return "a datastore";
    case "world":
      return "a world";
    case "word":
      return `one of ${(s.values ?? []).join(", ")}`;
    default:
      return "a quantity";
  }
}

function argValue(atom: Atom, spec: ArgSpec, verb: RegisteredVerb, ctx: ValidationContext): OptionValue | undefined {
  if (spec.kind === "quantity") {
    if (atom.kind !== "quantity") return wrong(atom, `${describeArg(spec)} for "${spec.name}"`, ctx);
    const what = `"${spec.name}" of "${verb.name}"`;
    const v = spec.dimension ? inDimension(atom, spec.dimension, what, ctx.diagnostics) : atom.value;
    return v === undefined ? undefined : inRange(v, atom, what, ctx.diagnostics, spec.dimension ? defaultMax(spec.dimension) : SAFE_MAX);
  }
  if (spec.kind === "world" && atom.kind === "string") return atom.value;
  if (atom.kind !== "word") return wrong(atom, `${describeArg(spec)} for "${spec.name}"`, ctx);
  const name = { text: atom.text, loc: atom.loc };
  switch (spec.kind) {
    case "vm":
      return ctx.resolve("vm", name) ? atom.text : undefined;
    case "world":
      // A VM, or a helper world that only exists at run time (a migration sender): the run checks it.
      return atom.text;
    case "host":
      return ctx.resolve("host", name) ? atom.text : undefined;
    case "datastore":
      return ctx.resolve("datastore", name) ? atom.text : undefined;
    case "link": {
      const l = ctx.link(atom.text);
      if (!l) {
        const names = [...ctx.symbols.links.keys()];
        ctx.error("VMSCN0204", `there is no link "${atom.text}"`, atom.loc, hintText(atom.text, names) ?? (names.length ? `the links are ${names.join(", ")}` : "declare one with link a <-> b { ... }"));
        return undefined;
      }
      return ctx.linkName(l);
    }
    default: {
      const values = spec.values ?? [];
      if (values.includes(atom.text)) return atom.text;
      ctx.error("VMSCN0213", `"${atom.text}" is not a valid ${spec.name} for "${verb.name}": use ${values.join(", ")}`, atom.loc, hintText(atom.text, values));
      return undefined;
    }
  }
}

function wrong(atom: Atom, wanted: string, ctx: ValidationContext): undefined {
  ctx.error("VMSCN0213", `expected ${wanted}, not ${describeAtom(atom)}`, atom.loc);
  return undefined;
}

function resolveOptions(a: ActionStmt, verb: RegisteredVerb, ctx: ValidationContext, where: Map<string, Loc>): Record<string, OptionValue> | undefined {
  const out: Record<string, OptionValue> = {};
  const atoms = a.options ?? [];
  const names = Object.keys(verb.options);
  const given = new Set<string>();
  let ok = true;
  let i = 0;
  while (i < atoms.length) {
    const atom = atoms[i]!;
    if (atom.kind !== "word") {
      ctx.error("VMSCN0213", `expected an option name, not ${describeAtom(atom)}`, atom.loc, `the options of "${verb.name}" are ${names.join(", ") || "none"}`);
      ok = false;
      i++;
      continue;
    }
    const spec = Object.hasOwn(verb.options, atom.text) ? verb.options[atom.text] : undefined;
    i++;
    if (!spec) {
      ctx.error("VMSCN0208", `"${verb.name}" has no option "${atom.text}"`, atom.loc, hintText(atom.text, names) ?? `its options are ${names.join(", ") || "none"}`);
      ok = false;
      // Skip this option's values: up to the next word that names an option.
      while (i < atoms.length && !(atoms[i]!.kind === "word" && Object.hasOwn(verb.options, (atoms[i] as WordLit).text))) i++;
      continue;
    }
    where.set(atom.text, atom.loc);
    given.add(atom.text);
    if (Object.hasOwn(out, atom.text)) {
      ctx.error("VMSCN0214", `option "${atom.text}" is given twice`, atom.loc);
      ok = false;
    }
    const [value, used] = optionValue(atom, spec, atoms, i, verb, ctx);
    i += used;
    if (value === undefined) ok = false;
    else out[atom.text] = value;
  }
  for (const [name, spec] of Object.entries(verb.options)) {
    // An option given with a bad value has its own diagnostic: it is not missing too.
    if (spec.required && !given.has(name)) {
      ctx.error("VMSCN0209", `"${verb.name}" needs option "${name}" (${spec.description})`, a.optionsLoc ?? a.verb.loc);
      ok = false;
    }
  }
  return ok ? out : undefined;
}

/** The value of option `name` starting at atoms[i]; returns it and how many atoms it used. */
function optionValue(name: WordLit, spec: OptionSpec, atoms: Atom[], i: number, verb: RegisteredVerb, ctx: ValidationContext): [OptionValue | undefined, number] {
  const next = atoms[i];
  const what = `option "${name.text}" of "${verb.name}"`;
  const missing = (wanted: string): [undefined, number] => {
    ctx.error("VMSCN0209", `${what} needs ${wanted}`, name.loc);
    return [undefined, 0];
  };
  switch (spec.type) {
    case "boolean": {
      if (next?.kind === "word" && ["true", "false", "yes", "no", "on", "off"].includes(next.text)) return [["true", "yes", "on"].includes(next.text), 1];
      return [true, 0];
    }
    case "quantity":
    case "integer": {
      if (next?.kind !== "quantity") return missing(spec.type === "integer" ? "a whole number" : `a value such as ${example(spec)}`);
      const dim = spec.type === "integer" ? "count" : spec.dimension;
      const v = inDimension(next, dim, what, ctx.diagnostics);
      if (v === undefined) return [undefined, 1];
      // An option without a maximum of its own still gets what the kernel can represent.
      const max = spec.max !== undefined ? { max: spec.max, ...(dim === "time" ? { whole: "nanoseconds" } : {}) } : defaultMax(dim);
      return [inRange(v, next, what, ctx.diagnostics, { ...(spec.min !== undefined ? { min: spec.min } : {}), ...max, integer: spec.type === "integer" }, spec.type === "integer" ? String(v) : written(next)), 1];
    }
    case "enum": {
      if (next?.kind !== "word") return missing(`one of ${spec.values.join(", ")}`);
      if (!spec.values.includes(next.text)) {
        ctx.error("VMSCN0213", `"${next.text}" is not a valid value for ${what}: use ${spec.values.join(", ")}`, next.loc, hintText(next.text, spec.values));
        return [undefined, 1];
      }
      return [next.text, 1];
    }
    case "list": {
      const words: string[] = [];
      let used = 0;
      let ok = true;
      for (;;) {
        const w = atoms[i + used];
        if (w?.kind !== "word") break;
        if (!spec.values.includes(w.text)) {
          ctx.error("VMSCN0213", `"${w.text}" is not a valid value for ${what}: use ${spec.values.join(", ")}`, w.loc, hintText(w.text, spec.values));
          ok = false;
        }
        words.push(w.text);
        used++;
        if (atoms[i + used]?.kind !== "comma") break;
        used++;
      }
      if (words.length === 0) return missing(`one or more of ${spec.values.join(", ")}`);
      return [ok ? words : undefined, used];
    }
    default: {
      if (next?.kind === "string") return [next.value, 1];
      if (next?.kind === "word" && !Object.hasOwn(verb.options, next.text)) return [next.text, 1];
      return missing("a string");
    }
  }
}

function example(spec: OptionSpec & { type: "quantity" }): string {
  return { bytes: "64 MiB", time: "300 ms", bandwidth: "1 Gbit/s", rate: "1000 pages/s", percent: "50%", count: "10" }[spec.dimension];
}

export function checkScripted(s: ScriptedStmt, ctx: ValidationContext): void {
  const t = time(s.time, ctx, `the time of the scripted ${s.op}`);
  if (!ctx.resolve("vm", s.vm)) return;
  const pages = ctx.vmPages.get(s.vm.text);
  let ok = t !== undefined;
  const fraction = [s.pages.first, s.pages.last].find((p) => !Number.isInteger(p));
  if (fraction !== undefined) {
    ctx.error("VMSCN0212", `a page number must be a whole number (got ${fraction})`, s.pages.loc, "pages are numbered 0, 1, 2, ... from the start of the guest's memory");
    ok = false;
  } else if (s.pages.last < s.pages.first) {
    ctx.error("VMSCN0212", `the page range ${s.pages.first}..${s.pages.last} is empty`, s.pages.loc);
    ok = false;
  } else if (pages !== undefined && s.pages.last >= pages) {
    ctx.error("VMSCN0212", `page ${s.pages.last} is outside VM "${s.vm.text}" (pages 0..${pages - 1})`, s.pages.loc);
    ok = false;
  }
  const vcpu = vcpuOf(s.vcpu, s.vm.text, ctx);
  if (vcpu === undefined) ok = false;
  if (ok) ctx.plan.scripted.push({ time: t!, vm: s.vm.text, op: s.op, first: s.pages.first, count: s.pages.last - s.pages.first + 1, vcpu: vcpu!, loc: s.loc });
}

/** `on vcpu N` of a scripted statement: 0 when absent, undefined (with a diagnostic) when out of range. */
function vcpuOf(q: Quantity | undefined, vm: string, ctx: ValidationContext): number | undefined {
  if (!q) return 0;
  const vcpus = ctx.vmVcpus.get(vm) ?? 1;
  const v = inDimension(q, "count", "the vCPU", ctx.diagnostics);
  return v === undefined ? undefined : inRange(v, q, `the vCPU of VM "${vm}"`, ctx.diagnostics, { min: 0, max: vcpus - 1, integer: true });
}

export function checkHypercall(s: HypercallStmt, ctx: ValidationContext): void {
  const t = time(s.time, ctx, `the time of hypercall "${s.name.text}"`);
  if (!ctx.resolve("vm", s.vm)) return;
  const spec = ctx.hypercalls.get(s.name.text);
  if (!spec) {
    const known = [...ctx.hypercalls.keys()];
    ctx.error("VMSCN0207", `no loaded plugin handles the hypercall "${s.name.text}"`, s.name.loc, hintText(s.name.text, known) ?? (known.length ? `the hypercalls are ${known.join(", ")}` : "no loaded plugin offers a hypercall"));
    return;
  }
  // A hypercall's options are checked as a verb's are.
  const asVerb: RegisteredVerb = { name: `hypercall ${spec.name}`, plugin: spec.plugin, description: spec.description, args: [], options: spec.options, run: () => {} };
  const asAction: ActionStmt = { type: "action", time: s.time, verb: s.name, args: [], options: s.options, optionsLoc: s.optionsLoc, loc: s.loc };
  const before = ctx.diagnostics.length;
  const options = resolveOptions(asAction, asVerb, ctx, new Map());
  const vcpu = vcpuOf(s.vcpu, s.vm.text, ctx);
  if (t === undefined || !options || vcpu === undefined || ctx.diagnostics.length !== before) return;
  ctx.plan.hypercalls.push({ time: t, vm: s.vm.text, name: spec.name, options, vcpu, loc: s.loc });
}

export function checkRun(r: RunStmt, ctx: ValidationContext, seen: RunStmt | undefined): void {
  if (seen) {
    ctx.error("VMSCN0214", `"run" is given twice (first at line ${seen.loc.line})`, r.loc);
    return;
  }
  if (r.until) ctx.plan.until = time(r.until, ctx, "the end of the run");
}

/** Actions planned after `run until T` would never happen. */
export function checkHorizon(ctx: ValidationContext): void {
  const until = ctx.plan.until;
  if (until === undefined) return;
  for (const a of [...ctx.plan.actions, ...ctx.plan.scripted, ...ctx.plan.hypercalls]) {
    if (a.time > until) ctx.warn("VMSCN0220", `this action at ${a.time / 1e9} s comes after the end of the run (${until / 1e9} s): it never happens`, a.loc);
  }
}
