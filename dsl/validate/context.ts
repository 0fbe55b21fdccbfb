// What every check sees: the names declared in the scenario, the verbs of the loaded plugins,
// the plan being built, and where to put diagnostics.
import type { ActionStmt, RunStmt, DatastoreDecl, HostDecl, LinkDecl, Loc, Name, Quantity, VmDecl } from "../ast.js";
import { diag, type Diagnostic, type DslCode } from "../diagnostics.js";
import type { OptionValue, RegisteredHypercall, RegisteredVerb } from "../../core/plugin-host/context.js";
import { hint } from "../../core/world/cluster.js";
import type { Plan } from "../plan.js";

export type EntityKind = "host" | "vm" | "datastore";

/** An action whose time, arguments and options are valid, in base units. */
export interface CheckedAction {
  time: number;
  verb: RegisteredVerb;
  args: Record<string, OptionValue>;
  options: Record<string, OptionValue>;
  /** Where each argument and option was written, for a problem that names one. */
  where: Map<string, Loc>;
  /** A check refused it: it is not planned. */
  refused: boolean;
}

export interface Symbols {
  hosts: Map<string, HostDecl>;
  vms: Map<string, VmDecl>;
  datastores: Map<string, DatastoreDecl>;
  /** By canonical name `a<->b`; `b<->a` finds the same link. */
  links: Map<string, LinkDecl>;
}

export class ValidationContext {
  readonly diagnostics: Diagnostic[] = [];
  readonly symbols: Symbols = { hosts: new Map(), vms: new Map(), datastores: new Map(), links: new Map() };
  /** Host memory and vCPUs by name, in base units, once checked. */
  readonly hostMemory = new Map<string, number>();
  readonly vmPages = new Map<string, number>();
  readonly vmVcpus = new Map<string, number>();

  /** Workload rates in accesses/s, checked against the tick once it is known (checkRates). */
  readonly rates: { rate: number; q: Quantity; what: string }[] = [];

  /** The first `run` statement, once checked. */
  run: RunStmt | undefined;
  /** Well-formed actions, waiting for their verb's own check before they are planned. */
  readonly actions = new Map<ActionStmt, CheckedAction>();

  constructor(
    readonly verbs: ReadonlyMap<string, RegisteredVerb>,
    readonly plan: Plan,
    /** Hypercalls the loaded plugins handle, by name. */
    readonly hypercalls: ReadonlyMap<string, RegisteredHypercall> = new Map(),
  ) {}

  error(code: DslCode, message: string, loc: Loc, hintText?: string): void {
    this.diagnostics.push(diag(code, message, loc, "validate", hintText));
  }

  warn(code: DslCode, message: string, loc: Loc, hintText?: string): void {
    this.diagnostics.push(diag(code, message, loc, "validate", hintText, "warning"));
  }

  /** Looks a name up; an undefined one is a diagnostic with a "did you mean" hint. */
  resolve(kind: EntityKind, name: Name): boolean {
    const table = kind === "host" ? this.symbols.hosts : kind === "vm" ? this.symbols.vms : this.symbols.datastores;
    if (table.has(name.text)) return true;
    const code: DslCode = kind === "host" ? "VMSCN0201" : kind === "vm" ? "VMSCN0202" : "VMSCN0203";
    const h = didYouMean(name.text, table.keys());
    this.error(code, `there is no ${kind === "vm" ? "VM" : kind} "${name.text}"`, name.loc, h ? h.replace(/^ \((.*)\)$/, "$1") : table.size > 0 ? `the ${kind === "vm" ? "VM" : kind}s are ${[...table.keys()].join(", ")}` : undefined);
    return false;
  }

  /** The declared link for `a<->b` or `b<->a`. */
  link(text: string): LinkDecl | undefined {
    const direct = this.symbols.links.get(text);
    if (direct) return direct;
    const m = /^(.*)<->(.*)$/.exec(text);
    return m ? this.symbols.links.get(`${m[2]}<->${m[1]}`) : undefined;
  }

  linkName(l: LinkDecl): string {
    return `${l.a.text}<->${l.b.text}`;
  }
}

/** Names longer than this get no "did you mean": the edit distance is quadratic in the lengths. */
const MAX_HINTED_NAME = 100;

/** The kernel's "did you mean" for a name (` (did you mean "x"?)`), or "" for none. */
export function didYouMean(name: string, known: Iterable<string>): string {
  if (name.length > MAX_HINTED_NAME) return "";
  return hint(name, [...known].filter((k) => k.length <= MAX_HINTED_NAME));
}
