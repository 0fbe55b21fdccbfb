// The validation registry (Langium's ValidationRegistry): checks keyed by statement type, run
// over each statement in registration order. The language registers its checks; each loaded
// plugin's verb `check` is registered for the actions of its verb. A plugin's check that
// throws is not a crash of `vmscn check` but a VMSCN6006 diagnostic at the verb, naming
// the plugin and the hook (Langium's wrapValidationException).
import type { Loc, Statement } from "../ast.js";
import type { Diagnostic } from "../diagnostics.js";
import { PluginHookError, VmscnError } from "../../core/errors.js";
import type { ValidationContext } from "./context.js";

export type StatementType = Statement["type"];
export type Check<T extends StatementType> = (node: Extract<Statement, { type: T }>, ctx: ValidationContext) => void;

/** The owner of the language's own checks: a throw from one is a bug of vmscn (exit 3). */
export const LANGUAGE = "vmscn";

interface Entry {
  readonly check: (node: Statement, ctx: ValidationContext) => void;
  readonly owner: string;
  readonly hook: string;
}

export class ValidationRegistry {
  private readonly byType = new Map<StatementType, Entry[]>();

  /** Adds a check of statements of `type`; `owner` is a plugin's name, or the language's. */
  register<T extends StatementType>(type: T, check: Check<T>, owner: string = LANGUAGE, hook = `check(${type})`): void {
    let list = this.byType.get(type);
    if (!list) this.byType.set(type, (list = []));
    list.push({ check: check as Entry["check"], owner, hook });
  }

  /** Runs every check of the statement's type, in registration order. */
  run(node: Statement, ctx: ValidationContext): void {
    for (const e of this.byType.get(node.type) ?? []) {
      if (e.owner === LANGUAGE) {
        e.check(node, ctx);
        continue;
      }
      try {
        e.check(node, ctx);
      } catch (thrown) {
        ctx.diagnostics.push(checkFailure(e.owner, e.hook, thrown, subject(node)));
      }
    }
  }
}

/** Where a failed check points: an action's verb, a hypercall's name, else the statement. */
function subject(node: Statement): Loc {
  if (node.type === "action") return node.verb.loc;
  if (node.type === "hypercall") return node.name.loc;
  return node.loc;
}

/** A plugin's check that threw, as a diagnostic at the statement it was checking. */
function checkFailure(owner: string, hook: string, thrown: unknown, loc: Loc): Diagnostic {
  const err = thrown instanceof VmscnError && thrown.code === "VMSCN6006" ? thrown : new PluginHookError(owner, hook, { time: 0 }, thrown);
  return {
    code: "VMSCN6006",
    severity: "error",
    message: `${err.message.replace(/ \(at 0 s\)/, "")}; the check could not run`,
    loc,
    phase: "validate",
    hint: `a bug in plugin "${owner}": report it to its authors`,
  };
}
