import t from "tap";
import { VmscnError } from "../../core/errors.js";
import { PluginShapeError, checkPlugin, definePlugin, describeValue, type Plugin } from "../../core/plugin-host/define.js";

const good = { name: "precopy-migration", version: "1.0.0", kernel: "^1", register() {} };

function messageOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    const err = e as VmscnError;
    return { code: err.code, message: err.message };
  }
  throw new Error("did not throw");
}

t.test("definePlugin returns the same object, typed", (t) => {
  const p = definePlugin({ ...good, requires: ["dirty-tracking"], description: "pre-copy live migration" });
  t.equal(p.name, "precopy-migration");
  t.same(p.requires, ["dirty-tracking"]);
  const q = { ...good };
  t.equal(definePlugin(q), q);
  t.equal(checkPlugin(q, "./x.ts"), q);
  t.end();
});

t.test("each malformed field is named", (t) => {
  const cases: [Record<string, unknown>, string][] = [
    [{ ...good, name: "Precopy_Migration" }, 'a plugin is malformed: field "name" must be a kebab-case string like "precopy-migration", got "Precopy_Migration"'],
    [{ ...good, name: undefined }, 'a plugin is malformed: field "name" must be a kebab-case string like "precopy-migration", got undefined'],
    [{ ...good, name: "-x" }, 'a plugin is malformed: field "name" must be a kebab-case string like "precopy-migration", got "-x"'],
    [{ ...good, version: "1.0" }, 'plugin "precopy-migration" is malformed: field "version" must be a semver version like "1.0.0", got "1.0"'],
    [{ ...good, version: 1 }, 'plugin "precopy-migration" is malformed: field "version" must be a semver version like "1.0.0", got 1'],
    [{ ...good, kernel: "one" }, 'plugin "precopy-migration" is malformed: field "kernel" must be a semver range of kernel versions like "^1", got "one"'],
    [{ ...good, kernel: null }, 'plugin "precopy-migration" is malformed: field "kernel" must be a semver range of kernel versions like "^1", got null'],
    [{ ...good, requires: "dirty-tracking" }, 'plugin "precopy-migration" is malformed: field "requires" must be an array of plugin names, got "dirty-tracking"'],
    [{ ...good, requires: ["a", 3] }, 'plugin "precopy-migration" is malformed: field "requires[1]" must be a kebab-case plugin name, got 3'],
    [{ ...good, requires: ["a", "a"] }, 'plugin "precopy-migration" is malformed: field "requires" lists "a" twice'],
    [{ ...good, register: undefined }, 'plugin "precopy-migration" is malformed: field "register" must be a function register(k) { ... }, got undefined'],
    [{ ...good, register: {} }, 'plugin "precopy-migration" is malformed: field "register" must be a function register(k) { ... }, got an object'],
    [{ ...good, description: 3 }, 'plugin "precopy-migration" is malformed: field "description" must be a string, got 3'],
    [{ ...good, require: ["a"] }, 'plugin "precopy-migration" is malformed: field "require" is not a plugin field; did you mean "requires"?'],
    [{ name: "x", version: "1.0.0", kernelVersion: "^1", register() {} }, 'plugin "x" is malformed: field "kernel" must be a semver range of kernel versions like "^1", got undefined; field "kernelVersion" is not a plugin field; did you mean "kernel"?'],
  ];
  for (const [p, message] of cases) {
    t.same(messageOf(() => definePlugin(p as unknown as Plugin)), { code: "VMSCN6005", message }, message);
  }
  t.end();
});

t.test("a field that is only a look-alike is allowed when the real field is there", (t) => {
  const p = { ...good, requires: [], dependencies: { lodash: "^4" } };
  t.equal(checkPlugin(p), p);
  t.end();
});

t.test("not an object at all, with and without a source", (t) => {
  t.same(messageOf(() => checkPlugin(null)), {
    code: "VMSCN6005",
    message: "a plugin is malformed: a plugin must be an object like definePlugin({ name, version, kernel, register }), got null",
  });
  t.same(messageOf(() => checkPlugin([good], "./p.js")), {
    code: "VMSCN6005",
    message: 'the plugin from "./p.js" is malformed: a plugin must be an object like definePlugin({ name, version, kernel, register }), got an array',
  });
  t.same(messageOf(() => checkPlugin({ ...good, version: "x" }, "vmscn-plugin-demo")), {
    code: "VMSCN6005",
    message: 'plugin "precopy-migration" from "vmscn-plugin-demo" is malformed: field "version" must be a semver version like "1.0.0", got "x"',
  });
  t.end();
});

t.test("a shape error lists its problems and can name its source later", (t) => {
  const err = t.throws(() => checkPlugin({ ...good, version: "x", kernel: "y" })) as unknown as PluginShapeError;
  t.ok(err instanceof PluginShapeError);
  t.equal(err.pluginName, "precopy-migration");
  t.equal(err.where, "precopy-migration");
  t.same(err.problems, [
    'field "version" must be a semver version like "1.0.0", got "x"',
    'field "kernel" must be a semver range of kernel versions like "^1", got "y"',
  ]);
  const named = err.withSource("./plugins/pre.ts");
  t.equal(named.code, "VMSCN6005");
  t.equal(named.where, "precopy-migration");
  t.equal(
    named.message,
    'plugin "precopy-migration" from "./plugins/pre.ts" is malformed: field "version" must be a semver version like "1.0.0", got "x"; field "kernel" must be a semver range of kernel versions like "^1", got "y"',
  );
  t.end();
});

t.test("describeValue", (t) => {
  t.equal(describeValue("a".repeat(50)), JSON.stringify(`${"a".repeat(40)}...`));
  t.equal(describeValue(true), "true");
  t.equal(describeValue(5n), "5n");
  t.equal(describeValue(() => 1), "a function");
  t.equal(describeValue(Symbol("s")), "a symbol");
  t.end();
});
