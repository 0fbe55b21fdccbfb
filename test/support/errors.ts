import type { Test } from "tap";
import { VmscnError } from "../../core/errors.js";

/** Asserts that fn throws a VmscnError with this code (and a message matching `match`). */
export function throwsCode(t: Test, fn: () => unknown, code: string, match?: RegExp): void {
  try {
    fn();
    t.fail(`expected ${code}`);
  } catch (e) {
    t.ok(e instanceof VmscnError, "a VmscnError");
    t.equal((e as VmscnError).code, code);
    if (match) t.match((e as VmscnError).message, match);
  }
}
