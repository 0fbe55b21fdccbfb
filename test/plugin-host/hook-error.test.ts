import t from "tap";
import { VmscnError, kernelError } from "../../core/errors.js";
import { PluginHookError, hookError, wrapHook } from "../../core/plugin-host/hook-error.js";
import { MS, SECOND } from "../../core/sim/time.js";

t.test("return values, arguments and this pass through; where() is not called", (t) => {
  let whereCalls = 0;
  const where = () => {
    whereCalls++;
    return { time: 0 };
  };
  const add = wrapHook("p", "add", (a: number, b: number) => a + b, where);
  t.equal(add(2, 3), 5);
  const many = wrapHook("p", "many", (...xs: number[]) => xs.length, where);
  t.equal(many(1, 2, 3, 4, 5, 6), 6);
  const obj = {
    base: 10,
    plus: wrapHook("p", "plus", function (this: { base: number }, x: number) {
      return this.base + x;
    }, where),
  };
  t.equal(obj.plus(5), 15);
  t.equal(whereCalls, 0);
  t.end();
});

t.test("a throw becomes VMSCN6006 naming plugin, hook, world and time", (t) => {
  const original = new Error("page 7 is not mapped");
  const fn = wrapHook("precopy-migration", "onFault(write-protect)", () => {
    throw original;
  }, () => ({ time: 12 * SECOND + 500 * MS, world: "web" }));
  const err = t.throws(() => fn()) as unknown as PluginHookError;
  t.ok(err instanceof PluginHookError);
  t.ok(err instanceof VmscnError);
  t.equal(err.code, "VMSCN6006");
  t.equal(err.name, "PluginHookError");
  t.equal(err.message, 'plugin "precopy-migration" failed in hook "onFault(write-protect)" (world web, at 12.5 s): page 7 is not mapped');
  t.equal(err.describe(), 'VMSCN6006 at 12.5 s: plugin "precopy-migration" failed in hook "onFault(write-protect)" (world web, at 12.5 s): page 7 is not mapped');
  t.equal(err.plugin, "precopy-migration");
  t.equal(err.hook, "onFault(write-protect)");
  t.equal(err.world, "web");
  t.equal(err.time, 12_500_000_000);
  t.equal(err.where, "web");
  t.equal(err.cause, original);
  t.end();
});

t.test("without a world; thrown non-errors and kernel errors", (t) => {
  const throwing = (v: unknown) => wrapHook("tps", "register", () => {
    throw v;
  }, () => ({ time: 0 }));
  const a = t.throws(() => throwing("just a string")()) as unknown as PluginHookError;
  t.equal(a.message, 'plugin "tps" failed in hook "register" (at 0 s): just a string');
  t.equal(a.world, undefined);
  t.equal(a.where, "tps");
  t.equal(a.cause, "just a string");
  const oom = kernelError("VMSCN5002", 'host "a" is out of memory');
  const b = t.throws(() => throwing(oom)()) as unknown as PluginHookError;
  t.equal(b.message, 'plugin "tps" failed in hook "register" (at 0 s): VMSCN5002: host "a" is out of memory');
  t.equal(b.cause, oom);
  t.end();
});

t.test("a hook error from a nested hook is rethrown as it is", (t) => {
  const inner = wrapHook("inner", "onTick", () => {
    throw new Error("boom");
  }, () => ({ time: 5 * MS, world: "w" }));
  const outer = wrapHook("outer", "onTick", () => inner(), () => ({ time: 5 }));
  const err = t.throws(() => outer()) as unknown as PluginHookError;
  t.equal(err.plugin, "inner");
  t.equal(err.message, 'plugin "inner" failed in hook "onTick" (world w, at 0.005 s): boom');
  const same = hookError("x", "y", err, { time: 0 });
  t.equal(same, err);
  t.end();
});

t.test("a rejected promise from an async hook is wrapped too", async (t) => {
  const ok = wrapHook("p", "register", async (x: number) => x * 2, () => ({ time: 0 }));
  t.equal(await ok(21), 42);
  const bad = wrapHook("p", "register", async () => {
    throw new Error("no such verb");
  }, () => ({ time: 0 }));
  await t.rejects(bad(), { code: "VMSCN6006", message: 'plugin "p" failed in hook "register" (at 0 s): no such verb' });
});
