// Checks of expect lines: names in references must exist (report paths are checked at run
// time, since plugins add sections), and numbers must be finite.
import type { ExpectStmt, Expr } from "../ast.js";
import { dimensionOf, inDimension } from "./values.js";
import type { ValidationContext } from "./context.js";

const ENTITY_SECTIONS: ReadonlyMap<string, "vm" | "host" | "datastore" | "link"> = new Map([
  ["vm", "vm"],
  ["host", "host"],
  ["datastore", "datastore"],
  ["link", "link"],
]);

export function checkExpect(e: ExpectStmt, ctx: ValidationContext): void {
  walk(e.expr, ctx);
  ctx.plan.expects.push(e);
}

/** Visits the expression in source order, with a stack of its own (a long chain is deep). */
function walk(root: Expr, ctx: ValidationContext): void {
  const stack: (Expr | (() => void))[] = [root];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (typeof e === "function") {
      e();
      continue;
    }
    switch (e.kind) {
      case "ref":
        reference(e, ctx);
        break;
      case "number":
        inDimension(e.value, dimensionOf(e.value), "the number", ctx.diagnostics);
        break;
      case "unary":
        stack.push(e.operand);
        break;
      case "binary":
        stack.push(e.right, e.left);
        break;
      case "within":
        stack.push(() => inDimension(e.percent, "percent", '"within"', ctx.diagnostics), e.of, e.subject);
        break;
      default:
        break;
    }
  }
}

function reference(e: Extract<Expr, { kind: "ref" }>, ctx: ValidationContext): void {
  const entity = ENTITY_SECTIONS.get(e.head.text);
  if (!e.arg || !entity) return;
  const text = e.arg.kind === "word" ? e.arg.text : e.arg.value;
  if (entity === "link") {
    if (!ctx.link(text)) ctx.error("VMSCN0221", `there is no link "${text}"`, e.arg.loc);
  } else ctx.resolve(entity, { text, loc: e.arg.loc }); // an undefined name is reported with a hint
}
