// Checks of expect lines: names in references must exist (report paths are checked at run
// time, since plugins add sections).
import type { ExpectStmt, Expr } from "../ast.js";
import { inDimension } from "./values.js";
import type { ValidationContext } from "./context.js";

const ENTITY_SECTIONS: Record<string, "vm" | "host" | "datastore" | "link"> = { vm: "vm", host: "host", datastore: "datastore", link: "link" };

export function checkExpect(e: ExpectStmt, ctx: ValidationContext): void {
  walk(e.expr, ctx);
  ctx.plan.expects.push(e);
}

function walk(e: Expr, ctx: ValidationContext): void {
  switch (e.kind) {
    case "ref": {
      const entity = ENTITY_SECTIONS[e.head.text];
      if (e.arg && entity) {
        const text = e.arg.kind === "word" ? e.arg.text : e.arg.value;
        if (entity === "link") {
          if (!ctx.link(text)) ctx.error("VMSCN0221", `there is no link "${text}"`, e.arg.loc);
        } else if (!ctx.resolve(entity, { text, loc: e.arg.loc })) {
          // resolve() reported it with a hint
        }
      }
      return;
    }
    case "unary":
      walk(e.operand, ctx);
      return;
    case "binary":
      walk(e.left, ctx);
      walk(e.right, ctx);
      return;
    case "within":
      walk(e.subject, ctx);
      walk(e.of, ctx);
      inDimension(e.percent, "percent", '"within"', ctx.diagnostics);
      return;
    default:
      return;
  }
}
