import t from "tap";
import { VmscnError } from "../../core/errors.js";
import type { Plugin } from "../../core/plugin-host/define.js";
import { orderPlugins } from "../../core/plugin-host/order.js";

function p(name: string, requires: string[] = [], extra: Partial<Plugin> = {}): Plugin {
  return { name, version: "1.0.0", kernel: "^1", requires, register() {}, ...extra };
}

function names(list: readonly (Plugin | { plugin: Plugin })[]): string[] {
  return list.map((x) => ("plugin" in x ? x.plugin.name : x.name));
}

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    return { code: (e as VmscnError).code, message: (e as VmscnError).message };
  }
  throw new Error("did not throw");
}

t.test("plugins come after what they require", (t) => {
  const list = [p("rdma-share", ["precopy-migration"]), p("precopy-migration", ["dirty-tracking"]), p("dirty-tracking")];
  t.same(names(orderPlugins(list)), ["dirty-tracking", "precopy-migration", "rdma-share"]);
  t.end();
});

t.test("the order is stable: the earliest ready plugin goes first", (t) => {
  t.same(names(orderPlugins([p("a"), p("b"), p("c")])), ["a", "b", "c"]);
  t.same(names(orderPlugins([p("a", ["c"]), p("b"), p("c")])), ["b", "c", "a"]);
  // a waits for c; once c is placed, a (index 0) goes before d (index 3).
  t.same(names(orderPlugins([p("a", ["c"]), p("b", ["a"]), p("c"), p("d")])), ["c", "a", "b", "d"]);
  const diamond = [p("top", ["left", "right"]), p("right", ["base"]), p("left", ["base"]), p("base")];
  t.same(names(orderPlugins(diamond)), ["base", "right", "left", "top"]);
  t.same(orderPlugins([]), []);
  t.end();
});

t.test("entries with sources come back as the same entries", (t) => {
  const a = { plugin: p("a", ["b"]), source: "./a.ts" };
  const b = { plugin: p("b"), source: "vmscn-plugin-b" };
  const out = orderPlugins([a, b]);
  t.equal(out[0], b);
  t.equal(out[1], a);
  t.end();
});

t.test("VMSCN6003: the same name twice, naming both sources", (t) => {
  t.same(failure(() => orderPlugins([{ plugin: p("tps"), source: "./a.ts" }, p("x"), { plugin: p("tps"), source: "vmscn-plugin-tps" }])), {
    code: "VMSCN6003",
    message: 'plugin "tps" is loaded twice, from "./a.ts" and from "vmscn-plugin-tps"; load it only once',
  });
  t.same(failure(() => orderPlugins([p("tps"), { plugin: p("tps"), source: "./tps.js" }])), {
    code: "VMSCN6003",
    message: 'plugin "tps" is loaded twice, from the built-in plugins and from "./tps.js"; load it only once',
  });
  t.end();
});

t.test("VMSCN6002: a plugin for another kernel", (t) => {
  t.same(failure(() => orderPlugins([p("a"), p("x", [], { version: "1.2.0", kernel: "^2" })])), {
    code: "VMSCN6002",
    message: 'plugin "x" 1.2.0 was written for kernel ^2, but this is kernel 1.0.0',
  });
  t.same(names(orderPlugins([p("x", [], { kernel: "^2" })], { kernel: "2.1.0" })), ["x"]);
  t.same(failure(() => orderPlugins([p("x")], { kernel: "2.1.0" })), {
    code: "VMSCN6002",
    message: 'plugin "x" 1.0.0 was written for kernel ^1, but this is kernel 2.1.0',
  });
  t.end();
});

t.test("VMSCN6001: a required plugin is missing", (t) => {
  const err = t.throws(() => orderPlugins([p("precopy-migration"), p("rdma-share", ["precopy-migration", "dirty-tracking"])])) as unknown as VmscnError;
  t.equal(err.code, "VMSCN6001");
  t.equal(err.message, 'plugin "rdma-share" requires plugin "dirty-tracking", which is not loaded');
  t.equal(err.where, "rdma-share");
  t.end();
});

t.test("VMSCN6004: a cycle is named from its earliest plugin", (t) => {
  t.same(failure(() => orderPlugins([p("x"), p("a", ["b"]), p("b", ["a"])])), {
    code: "VMSCN6004",
    message: 'plugins "a", "b" require each other in a cycle: a → b → a; remove one of these requirements',
  });
  // c is stuck behind the cycle but not in it; the cycle starts at its earliest member, b.
  t.same(failure(() => orderPlugins([p("c", ["d"]), p("b", ["e"]), p("d", ["b"]), p("e", ["d"])])), {
    code: "VMSCN6004",
    message: 'plugins "b", "e", "d" require each other in a cycle: b → e → d → b; remove one of these requirements',
  });
  t.same(failure(() => orderPlugins([p("self", ["self"])])), {
    code: "VMSCN6004",
    message: 'plugin "self" requires itself: self → self; remove one of these requirements',
  });
  t.end();
});

t.test("VMSCN6005: malformed objects are refused before ordering", (t) => {
  t.same(failure(() => orderPlugins([{ plugin: { name: "x" } as unknown as Plugin, source: "./x.js" }])), {
    code: "VMSCN6005",
    message:
      'plugin "x" from "./x.js" is malformed: field "version" must be a semver version like "1.0.0", got undefined; field "kernel" must be a semver range of kernel versions like "^1", got undefined; field "register" must be a function register(k) { ... }, got undefined',
  });
  t.same(failure(() => orderPlugins([null as unknown as Plugin])).code, "VMSCN6005");
  t.end();
});
