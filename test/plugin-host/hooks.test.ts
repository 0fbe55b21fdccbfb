// The funnel for plugin code: one wrapper, one classify(). What a throw out of a plugin's hook
// becomes, what passes through unchanged, and whose callbacks the kernel adopts.
import "reflect-metadata";
import t from "tap";
import { VmscnError, kernelError, classify, PluginHookError } from "../../core/errors.js";
import { Hooks } from "../../core/plugin-host/hooks.js";
import { Scheduler } from "../../core/sim/scheduler.js";
import { MS, SECOND } from "../../core/sim/time.js";

function hooks(now = 0): { h: Hooks; s: Scheduler } {
  const s = new Scheduler();
  s.now = now;
  return { h: new Hooks(s), s };
}

t.test("classify: a coded error is a refusal; a hook error or a broken invariant is fatal; anything else a bug", (t) => {
  t.equal(classify(kernelError("VMSCN5002", "out of memory")), "refusal");
  t.equal(classify(new VmscnError("VMSCN7301", "corrupt")), "refusal");
  t.equal(classify(kernelError("VMSCN5014", "invariant")), "fatal");
  t.equal(classify(new PluginHookError("p", "h", { time: 0 }, new Error("x"))), "fatal");
  t.equal(classify(new TypeError("x is undefined")), "bug");
  t.equal(classify("a string"), "bug");
  t.end();
});

t.test("return values, arguments and this pass through; the world is named only on failure", (t) => {
  const { h } = hooks();
  let worldCalls = 0;
  const world = () => {
    worldCalls++;
    return "w";
  };
  const add = h.wrap("p", "add", (a: number, b: number) => a + b, world);
  t.equal(add(2, 3), 5);
  const many = h.wrap("p", "many", (...xs: number[]) => xs.length);
  t.equal(many(1, 2, 3, 4, 5, 6), 6);
  const obj = {
    base: 10,
    plus: h.wrap("p", "plus", function (this: { base: number }, x: number) {
      return this.base + x;
    }),
  };
  t.equal(obj.plus(5), 15);
  t.equal(worldCalls, 0);
  t.equal(h.run("p", "r", undefined, () => 7), 7);
  t.end();
});

t.test("a throw becomes VMSCN6006 naming plugin, hook, world and time", (t) => {
  const { h } = hooks(12 * SECOND + 500 * MS);
  const original = new Error("page 7 is not mapped");
  const fn = h.wrap("precopy-migration", "onFault(write-protect)", (_g: { name: string }) => {
    throw original;
  }, (g) => g.name);
  const err = t.throws(() => fn({ name: "web" })) as unknown as PluginHookError;
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

t.test("a coded error fails the action only where the hook may refuse; elsewhere it is the plugin's failure", (t) => {
  const { h } = hooks();
  const oom = kernelError("VMSCN5002", 'host "a" is out of memory');
  const refuse = () => {
    throw oom;
  };
  t.equal(t.throws(() => h.run("migrate", "verb(migrate)", "web", refuse, { refusals: true })), oom, "passed on to fail the action");
  const b = t.throws(() => h.run("tps", "on(created)", undefined, refuse)) as unknown as PluginHookError;
  t.equal(b.message, 'plugin "tps" failed in hook "on(created)" (at 0 s): VMSCN5002: host "a" is out of memory');
  t.equal(b.cause, oom);
  const bug = t.throws(() => h.run("tps", "verb(tps)", undefined, () => {
    throw "just a string";
  }, { refusals: true })) as unknown as PluginHookError;
  t.equal(bug.code, "VMSCN6006", "a bug in a verb is still the plugin's");
  t.equal(bug.world, undefined);
  t.equal(bug.where, "tps");
  t.end();
});

t.test("a hook error from a nested hook, and a broken invariant, pass through as they are", (t) => {
  const { h, s } = hooks();
  s.now = 5 * MS;
  const inner = h.wrap("inner", "onTick", () => {
    throw new Error("boom");
  }, () => "w");
  const outer = h.wrap("outer", "onTick", () => inner());
  const err = t.throws(() => outer()) as unknown as PluginHookError;
  t.equal(err.plugin, "inner");
  t.equal(err.message, 'plugin "inner" failed in hook "onTick" (world w, at 0.005 s): boom');
  const broken = kernelError("VMSCN5014", "frame 3 is both free and mapped");
  t.equal(t.throws(() => h.run("p", "at", undefined, () => {
    throw broken;
  })), broken);
  t.end();
});

t.test("the kernel's own code is not wrapped", (t) => {
  const { h } = hooks();
  const bug = new TypeError("kernel bug");
  t.equal(t.throws(() => h.run("kernel", "verb(stop)", undefined, () => {
    throw bug;
  })), bug);
  const f = () => 1;
  t.equal(h.wrap("kernel", "x", f), f);
  t.end();
});

t.test("a callback handed over while a plugin runs is adopted as that plugin's hook; the kernel's is left as it is", (t) => {
  const { h } = hooks();
  const cb = () => {
    throw new Error("late");
  };
  t.equal(h.adopt(cb, "transfer onDone"), cb, "no plugin runs: the kernel's callback");
  t.equal(h.adopt(undefined, "transfer onFail"), undefined);
  t.equal(h.current, null);
  const adopted = h.run("tps", "on(created)", undefined, () => {
    t.equal(h.current, "tps");
    return h.adopt(cb, "transfer onDone");
  });
  t.equal(h.current, null, "restored after the hook");
  const err = t.throws(() => adopted()) as unknown as PluginHookError;
  t.equal(err.message, 'plugin "tps" failed in hook "transfer onDone" (at 0 s): late');
  t.end();
});

t.test("a rejected promise from an async hook is wrapped too", async (t) => {
  const { h } = hooks();
  await h.runAsync("p", "register", async () => 42);
  await t.rejects(h.runAsync("p", "register", async () => {
    throw new Error("no such verb");
  }), { code: "VMSCN6006", message: 'plugin "p" failed in hook "register" (at 0 s): no such verb' });
  await t.rejects(h.runAsync("p", "register", () => {
    throw new Error("sync");
  }), { code: "VMSCN6006", message: 'plugin "p" failed in hook "register" (at 0 s): sync' });
});
