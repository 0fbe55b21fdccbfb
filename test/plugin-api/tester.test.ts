// PluginTester itself: which cases pass and fail and with what message, the checks of the cases'
// shapes, and the framework adapters. The cases are registered with a recording describe/it,
// then each recorded test is run here and its outcome compared.
import "reflect-metadata";
import t from "tap";
import { AssertionError } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { definePlugin, MS, type Plugin } from "../../core/api.js";
import { PluginTester, TestCaseError, type TestCases } from "../../app/testing/index.js";
import { checkCases } from "../../app/testing/cases.js";
import { builtinPlugins } from "../../app/builtins.js";
import { detectFramework, globalFramework, nodeTestFramework, tapFramework, underTap, type TapTest } from "../../app/testing/framework.js";

/** A small plugin: `ping VM { times N }` counts pings; a VM that is not running refuses (PING001). */
const ping = definePlugin({
  name: "ping",
  version: "1.0.0",
  kernel: "^1",
  codes: { PING001: "the VM is not running" },
  register(k) {
    const pings = new Map<string, number>();
    k.verb("ping", {
      description: "pings a VM",
      args: [{ name: "vm", kind: "vm", description: "the VM" }],
      options: { times: { type: "integer", min: 1, max: 10, default: 1, description: "how many" } },
      run(call) {
        const w = k.cluster.world(String(call.args.vm));
        if (w.state !== "running") throw k.error("PING001", `VM "${w.name}" is not running`, w.name);
        pings.set(w.name, (pings.get(w.name) ?? 0) + Number(call.options.times));
      },
    });
    k.verb("explode", {
      description: "a bug: throws 1 ms later",
      args: [],
      options: {},
      run() {
        k.after(1 * MS, () => {
          throw new Error("boom");
        }, "explode");
      },
    });
    k.metric("ping", () => Object.fromEntries(pings));
  },
});

const platform = `host a { cpus 2  memory 1 GiB }  vm web on a { vcpus 1  memory 16 MiB }`;
const sc = (body: string, name = "p") => `scenario "${name}" {\n  ${platform}\n${body}\n}\n`;

interface Recorded {
  path: string[];
  only: boolean;
  fn: () => void | Promise<void>;
}

/** Registers with a recording describe/it and returns the tests (titles with their groups). */
async function record(tester: PluginTester, ...args: [string, Plugin, TestCases] | [Plugin, TestCases]): Promise<Recorded[]> {
  const tests: Recorded[] = [];
  const stack: string[] = [];
  PluginTester.describe = (name, fn) => {
    stack.push(name);
    fn();
    stack.pop();
  };
  PluginTester.it = (name, fn) => tests.push({ path: [...stack, name], only: false, fn });
  PluginTester.itOnly = (name, fn) => tests.push({ path: [...stack, name], only: true, fn });
  try {
    await (tester.run as (...a: unknown[]) => Promise<void>)(...args);
  } finally {
    PluginTester.describe = undefined;
    PluginTester.it = undefined;
    PluginTester.itOnly = undefined;
  }
  return tests;
}

/** Runs one recorded test: undefined when it passes, else the failure's message. */
async function outcome(test: Recorded): Promise<string | undefined> {
  try {
    await test.fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof AssertionError) && !(e instanceof Error)) throw e;
    return e.message;
  }
}

async function results(tester: PluginTester, cases: TestCases): Promise<(string | undefined)[]> {
  const tests = await record(tester, "ping", ping, cases);
  return Promise.all(tests.map(outcome));
}

t.test("valid cases: checks, runs, expectations and report assertions", async (t) => {
  const tests = await record(new PluginTester(), "ping", ping, {
    valid: [
      sc(`  at 0 s: start web\n  at 1 s: ping web { times 3 }\n  run until 2 s\n  expect ping.web == 3`),
      { code: sc(`  at 0 s: start web\n  at 1 s: ping web\n  run until 2 s`, "named"), name: "one ping", report: { "ping.web": 1, "vms.web.state": "running" } },
      { code: sc(`  at 0 s: start web\n  at 1 s: ping web\n  run until 2 s`, "fn"), report: (r) => void t.equal((r as unknown as { ping: { web: number } }).ping.web, 1) },
      { code: sc(`  run until 1 s`, "only"), only: true, seed: 7 },
    ],
  });
  t.same(
    tests.map((x) => x.path.join(" > ")),
    ["ping > valid > valid[0]: scenario \"p\"", "ping > valid > one ping", "ping > valid > valid[2]: scenario \"fn\"", "ping > valid > valid[3]: scenario \"only\""],
  );
  t.same(tests.map((x) => x.only), [false, false, false, true]);
  for (const test of tests) t.equal(await outcome(test), undefined, test.path.at(-1)!);
});

t.test("valid cases fail with what went wrong", async (t) => {
  const r = await results(new PluginTester(), {
    valid: [
      sc(`  at 1 s: ping web\n  run until 2 s`),
      sc(`  at 0 s: start web\n  at 1 s: ping web { times 11 }`),
      sc(`  at 0 s: start web\n  at 1 s: ping web\n  run until 2 s\n  expect ping.web == 2`),
      { code: sc(`  at 0 s: start web\n  at 1 s: ping web\n  run until 2 s`, "r1"), report: { "ping.web": 2 } },
      { code: sc(`  at 0 s: start web\n  at 1 s: ping web\n  run until 2 s`, "r2"), report: { "ping.db": 1 } },
      { code: sc(`  run until 2 s`, "r3"), report: { "ping.web": 1 } },
      { code: sc(`  at 0 s: start web\n  at 1 ms: explode\n  run until 2 s`, "r4"), report: { "ping.web": 1 } },
      { code: sc(`  run until 2 s`, "r5"), report: { "vms.web.state.deeper": 1 } },
    ],
  });
  t.same(r, [
    'should have no errors but had 1:\n  PING001 3:3 VM "web" is not running',
    'should have no errors but had 1:\n  VMSCN0212 4:28 option "times" of "ping" must be at most 10 (got 11)',
    "expectations that do not hold:\n  6:3 expect ping.web == 2: 1 is not == 2",
    "report ping.web is 1, expected 2",
    'the report has no ping.db: ping has no "db" (it has web)',
    'the report has no ping.web: the report has no "ping" (it has actions, datastores, files, hosts, hypercalls, kernel, links, run, scenario, schema, seed, simulatedTimeNs, ...)',
    'should have no errors but had 1:\n  VMSCN6006 plugin "ping" failed in hook "explode" (at 0.002 s): boom',
    'the report has no vms.web.state.deeper: vms.web.state has no "deeper"',
  ]);
});

t.test("invalid cases: exact codes, positions and messages, in order", async (t) => {
  const tests = await record(new PluginTester(), ping, {
    invalid: [
      { code: sc(`  at 1 s: ping web { times 0  colour red }`), errors: [{ code: "VMSCN0212", line: 3, column: 28, message: 'option "times" of "ping" must be at least 1 (got 0)' }, { code: "VMSCN0208", line: 3, column: 31 }] },
      { code: sc(`  at 1 s: ping web\n  run until 2 s`), errors: [{ code: "PING001", line: 3, column: 3, message: /not running/ }] },
      { code: sc(`  at 1 ms: explode\n  run until 2 s`), errors: [{ code: "VMSCN6006", message: /failed in hook "explode" \(at 0\.002 s\): boom/ }] },
      { code: sc(`  at 1 s: ping web\n  at 1 s: ping web\n  run until 2 s`), errors: 2 },
    ],
  });
  t.equal(tests[0]!.path[0], "ping", "named after the plugin");
  for (const test of tests) t.equal(await outcome(test), undefined, test.path.at(-1)!);
});

t.test("invalid cases fail with the difference", async (t) => {
  const bad = sc(`  at 1 s: ping web\n  run until 2 s`);
  const r = await results(new PluginTester(), {
    invalid: [
      { code: bad, errors: [{ code: "PING001" }, { code: "PING001" }] },
      { code: bad, errors: [{ code: "VMSCN5004" }] },
      { code: bad, errors: [{ code: "PING001", line: 4 }] },
      { code: bad, errors: [{ code: "PING001", column: 9 }] },
      { code: bad, errors: [{ code: "PING001", message: "nope" }] },
      { code: bad, errors: [{ code: "PING001", message: /nope/ }] },
      { code: bad, errors: 3 },
      { code: sc(`  at 1 ms: explode\n  run until 2 s`), errors: [{ code: "VMSCN6006", line: 5 }] },
      { code: bad.replace("run until 2 s", "run until 2 s\n  expect web.state == \"running\""), errors: [{ code: "PING001" }] },
      { code: bad, errors: [{ code: "PING001" }], report: { "ping.web": 1 } },
      { code: sc(`  at 1 s: ping web { times 0 }`), errors: [{ code: "VMSCN0212" }], report: { "ping.web": 1 } },
    ],
  });
  t.same(r, [
    'should have 2 errors but had 1:\n  PING001 3:3 VM "web" is not running',
    'error 1 (PING001 3:3 VM "web" is not running) has code PING001, expected VMSCN5004',
    'error 1 (PING001 3:3 VM "web" is not running) has line 3, expected 4',
    'error 1 (PING001 3:3 VM "web" is not running) has column 3, expected 9',
    'error 1 (PING001 3:3 VM "web" is not running) has message "VM "web" is not running", expected "nope"',
    'error 1 (PING001 3:3 VM "web" is not running) has message "VM "web" is not running", expected it to match /nope/',
    'should have 3 errors but had 1:\n  PING001 3:3 VM "web" is not running',
    'error 1 (VMSCN6006 plugin "ping" failed in hook "explode" (at 0.002 s): boom) has line (none), expected 5',
    'expectations that do not hold:\n  5:3 expect web.state == "running": "created" is not == "running"',
    'the report has no ping.web: the report has no "ping" (it has actions, datastores, files, hosts, hypercalls, kernel, links, run, scenario, schema, seed, simulatedTimeNs, ...)',
    "the run did not finish, so there is no report to check",
  ]);
});

t.test("an invalid case expects only the plugin's declared codes, kernel codes and language codes, checked before it runs", async (t) => {
  let ran = 0;
  const counting = definePlugin({ name: "counting", version: "1.0.0", kernel: "^1", codes: { COUNT001: "never raised" }, register() {
    ran++;
  } });
  const bad = sc(`  at 1 s: ping web\n  run until 2 s`);
  const r = await results(new PluginTester({ plugins: [counting] }), {
    invalid: [
      // A typo'd code (VMSCN0022 for VMSCN0222), with a title of its own.
      { code: bad, name: "typo", errors: [{ code: "PING001" }, { code: "VMSCN0022", line: 3 }] },
      // Another plugin's code: a built-in one's, and one of the plugins registered beside it.
      { code: bad, errors: [{ code: "VMSCN7501" }] },
      { code: bad, errors: [{ code: "COUNT001" }] },
      // Known codes run (and fail here on the difference, not on the code).
      { code: bad, errors: [{ code: "VMSCN5004" }] },
      { code: bad, errors: [{ code: "VMSCN0222" }] },
      { code: bad, errors: [{ code: "VMSCN6006" }, { code: "VMSCN0301" }] },
    ],
  });
  const unknown = (label: string, i: number, code: string, whose = "") =>
    `${label}: errors[${i}] expects code "${code}", which is not one of plugin "ping"'s codes, a kernel code (VMSCN5xxx, VMSCN6xxx) or a language diagnostic code (VMSCN0xxx)${whose}; plugin "ping" declares PING001`;
  t.same(r, [
    unknown('invalid[0] ("typo")', 1, "VMSCN0022"),
    unknown('invalid[1] (scenario "p")', 0, "VMSCN7501", ' (it is plugin "tps"\'s: a suite expects the codes of the plugin it tests)'),
    unknown('invalid[2] (scenario "p")', 0, "COUNT001", ' (it is plugin "counting"\'s: a suite expects the codes of the plugin it tests)'),
    'error 1 (PING001 3:3 VM "web" is not running) has code PING001, expected VMSCN5004',
    'error 1 (PING001 3:3 VM "web" is not running) has code PING001, expected VMSCN0222',
    'should have 2 errors but had 1:\n  PING001 3:3 VM "web" is not running',
  ]);
  t.equal(ran, 3, "the three cases with unknown codes did not run");
  // A plugin without codes says so (ping, not registered here, is no owner to name); a count of errors is not checked; neither are valid cases.
  const quiet = definePlugin({ name: "quiet", version: "1.0.0", kernel: "^1", register() {} });
  const q = await record(new PluginTester(), quiet, { invalid: [{ code: sc(`  at 1 s: ping web`, "q"), errors: [{ code: "PING001" }] }, { code: sc(`  at 1 s: ping wbe`, "q"), errors: 1 }] });
  t.equal(await outcome(q[0]!), `invalid[0] (scenario "q"): errors[0] expects code "PING001", which is not one of plugin "quiet"'s codes, a kernel code (VMSCN5xxx, VMSCN6xxx) or a language diagnostic code (VMSCN0xxx); plugin "quiet" declares no codes`);
  t.equal(await outcome(q[1]!), undefined);
});

t.test("options: other plugins, files to import, cwd", async (t) => {
  const needsPing = definePlugin({ name: "ping-user", version: "1.0.0", kernel: "^1", requires: ["ping"], register() {} });
  const dir = t.testdir({ "platform.vmscn": `host a { cpus 2  memory 1 GiB }\nvm web on a { vcpus 1  memory 16 MiB }\n` });
  const tester = new PluginTester({ plugins: [ping], files: { "virtual.vmscn": "host b { cpus 1  memory 1 GiB }\n" }, cwd: dir, checkInvariants: false });
  const ok = await record(tester, "ping-user", needsPing, {
    valid: [
      { code: `import "platform.vmscn"\nimport "virtual.vmscn"\nscenario "i" {\n  at 0 s: start web\n  at 1 s: ping web\n  run until 2 s\n}\n`, report: { "hosts.b.cpus": 1, "ping.web": 1 }, filename: "main.vmscn" },
    ],
    invalid: [{ code: `import "missing.vmscn"\nscenario "m" {\n}\n`, errors: [{ code: "VMSCN0217", line: 1, column: 8 }] }],
  });
  for (const test of ok) t.equal(await outcome(test), undefined, test.path.at(-1)!);
  // A plugin whose register throws: the case reports it where the plugins are named.
  const broken = definePlugin({ name: "broken", version: "1.0.0", kernel: "^1", register() { throw new Error("no config"); } });
  const b = await record(new PluginTester(), "broken", broken, { invalid: [{ code: sc(`  run until 1 s`), errors: [{ code: "VMSCN0218", message: /plugin "broken" failed in hook "register" \(at 0 s\): no config/ }] }] });
  t.equal(await outcome(b[0]!), undefined);
  // Errors in an imported file fail the case, named by file.
  const imported = await record(new PluginTester({ files: { "bad.vmscn": "host a { cpus }\n" }, cwd: dir }), "ping", ping, { invalid: [{ code: `import "bad.vmscn"\nscenario "x" {\n}\n`, errors: 1 }] });
  t.equal(await outcome(imported[0]!), undefined);
});

t.test("mistakes in the cases are TestCaseErrors that say what is allowed", async (t) => {
  const bad = async (cases: unknown) => {
    try {
      await new PluginTester().run("ping", ping, cases as never);
    } catch (e) {
      t.type(e, TestCaseError);
      return (e as Error).message;
    }
    return "accepted (and registered with the running framework: a bug in this test)";
  };
  const code = sc(`  run until 1 s`);
  t.equal(await bad(null), "the cases must be an object { valid: [...], invalid: [...] }");
  t.equal(await bad({ valid: [code], invalids: [] }), 'the cases object has unknown field "invalids"; the fields are valid, invalid');
  t.equal(await bad({}), "there are no cases: give at least one valid or invalid case");
  t.equal(await bad({ valid: code }), '"valid" must be an array of cases');
  t.equal(await bad({ valid: [42] }), "valid[0] must be the scenario's text or an object { code, ... }");
  t.equal(await bad({ valid: [{ code, errors: [] }] }), 'valid[0] has unknown field "errors"; the fields are code, name, only, seed, filename, report');
  t.equal(await bad({ valid: [{ code, reprot: {}, nmae: "x" }] }), 'valid[0] has unknown fields "reprot", "nmae"; the fields are code, name, only, seed, filename, report');
  t.equal(await bad({ valid: [{ name: "x" }] }), 'valid[0] needs "code": the scenario\'s text, as a string');
  t.equal(await bad({ valid: [{ code, name: 1 }] }), 'valid[0]: "name" must be a string');
  t.equal(await bad({ valid: [{ code, only: "yes" }] }), 'valid[0]: "only" must be true or false');
  t.equal(await bad({ valid: [{ code, seed: 1.5 }] }), 'valid[0]: "seed" must be an integer');
  t.equal(await bad({ valid: [{ code, filename: "x.txt" }] }), 'valid[0]: "filename" must be a file name ending in .vmscn');
  t.equal(await bad({ valid: [{ code, report: 3 }] }), 'valid[0]: "report" must be an object of path: value (like { "balloon.web.reclaimed": 1024 }) or a function (report) => void');
  t.equal(await bad({ valid: [code, { code }] }), "valid[1] is a duplicate of valid[0]; remove one of them");
  t.equal(await bad({ valid: [{ code, report: { a: 1, b: 2 } }, { report: { b: 2, a: 1 }, code }] }), "valid[1] is a duplicate of valid[0]; remove one of them");
  t.equal(await bad({ valid: [{ code, report: (r: unknown) => r }, { code, report: (r: unknown) => r }] }), "valid[1] is a duplicate of valid[0]; remove one of them");
  t.equal(await bad({ invalid: [code] }), "invalid[0] must be an object { code, errors: [...] }");
  t.equal(await bad({ invalid: [{ code }] }), 'invalid[0] needs "errors": the errors it must raise, like [{ code: "VMSCN0222", line: 3, column: 12 }]');
  t.equal(await bad({ invalid: [{ code, errors: [] }] }), 'invalid[0]: "errors" is empty; an invalid case expects at least one error (a case without errors belongs in valid)');
  t.equal(await bad({ invalid: [{ code, errors: 0 }] }), 'invalid[0]: "errors" as a count must be at least 1 (a case without errors belongs in valid)');
  t.equal(await bad({ invalid: [{ code, errors: ["VMSCN0222"] }] }), 'invalid[0].errors[0] must be an object like { code: "VMSCN0222", line: 3, column: 12 }');
  t.equal(await bad({ invalid: [{ code, errors: [{ code: "X", col: 3 }] }] }), 'invalid[0].errors[0] has unknown field "col"; the fields are code, line, column, message');
  t.equal(await bad({ invalid: [{ code, errors: [{ line: 3 }] }] }), 'invalid[0].errors[0] needs "code", like "VMSCN0222"');
  t.equal(await bad({ invalid: [{ code, errors: [{ code: "X", line: 0 }] }] }), 'invalid[0].errors[0]: "line" must be a whole number from 1');
  t.equal(await bad({ invalid: [{ code, errors: [{ code: "X", message: 3 }] }] }), 'invalid[0].errors[0]: "message" must be a string or a regular expression');
  t.equal(await bad({ invalid: [{ code, errors: [{ code: "X", message: /a/ }] }, { code, errors: [{ code: "X", message: /a/ }] }] }), "invalid[1] is a duplicate of invalid[0]; remove one of them");
  t.equal(checkCases({ invalid: [{ code, errors: [{ code: "X", message: /a/ }] }, { code, errors: [{ code: "X", message: /b/ }] }] }).length, 2, "different patterns are different cases");
  // A valid case and an invalid one with the same code are not duplicates of each other.
  t.same(checkCases({ valid: [code], invalid: [{ code, errors: 1 }] }).map((c) => c.kind), ["valid", "invalid"]);
});

t.test("the plugin and the options are checked too", async (t) => {
  t.throws(() => new PluginTester().run("x", { name: "x" } as unknown as Plugin, { valid: ["x"] }), { code: "VMSCN6005" });
  t.throws(() => new PluginTester({ plugin: [] } as never), { name: "TestCaseError", message: 'PluginTester has no option "plugin"; the options are plugins, files, checkInvariants, cwd' });
  t.throws(() => new PluginTester({ a: 1, b: 2 } as never), { message: 'PluginTester has no options "a", "b"; the options are plugins, files, checkInvariants, cwd' });
  t.throws(() => new PluginTester(null as never), { message: "PluginTester's options must be an object" });
  t.throws(() => new PluginTester({ plugins: ping as never }), { message: `PluginTester's "plugins" must be an array of plugins` });
  t.throws(() => new PluginTester({ plugins: [{} as Plugin] }), { code: "VMSCN6005" });
});

t.test("frameworks: globals, tap, node:test, and by hand", async (t) => {
  t.equal(globalFramework({}), undefined);
  t.equal(globalFramework({ describe: () => {}, it: 1 }), undefined);
  const it = Object.assign(() => {}, { only: () => {} });
  const g = globalFramework({ describe: () => {}, it })!;
  t.equal(g.name, "globals");
  t.equal(g.itOnly, it.only);
  const plain = globalFramework({ describe: () => {}, it: () => {} })!;
  t.equal(plain.itOnly, plain.it, "it itself when there is no it.only");
  t.equal(underTap({ TAP_CHILD_ID: "3" }), true);
  t.equal(underTap({}), false);
  const node = nodeTestFramework();
  t.equal(node.name, "node:test");
  t.equal(typeof node.describe, "function");
  t.equal((await detectFramework({}, {})).name, "node:test");
  t.equal((await detectFramework({}, { describe: () => {}, it: () => {} })).name, "globals");
  t.equal((await detectFramework({ TAP_CHILD_ID: "1" }, {})).name, "tap");

  // The tap adapter on a recording tap: describes nest, its close their group, only is passed on.
  const log: string[] = [];
  const fake = (name: string): TapTest => ({
    test(title: string, a: unknown, b?: unknown): unknown {
      const fn = (typeof a === "function" ? a : b) as (t: TapTest) => unknown;
      const opts = typeof a === "function" ? {} : (a as { only?: boolean });
      log.push(`${name} > ${title}${opts.only ? " (only)" : ""}`);
      return fn(fake(`${name} > ${title}`));
    },
    end() {
      log.push(`${name} end`);
    },
  });
  const tap = tapFramework(fake("root"));
  let ran = 0;
  tap.describe("plugin", () => {
    tap.describe("valid", () => {
      void tap.it("a", () => void ran++);
      void tap.itOnly("b", async () => void ran++);
    });
  });
  await new Promise((r) => setImmediate(r));
  t.same(log, ["root > plugin", "root > plugin > valid", "root > plugin > valid > a", "root > plugin > valid > b (only)", "root > plugin > valid end", "root > plugin end"]);
  t.equal(ran, 2);
  t.throws(() => tap.describe("broken", () => {
    throw new Error("in describe");
  }), /in describe/);

  // By hand: describe and it set on the class are used without detecting anything.
  const names: string[] = [];
  PluginTester.describe = (name, fn) => {
    names.push(name);
    fn();
  };
  PluginTester.it = (name) => void names.push(name);
  t.equal(PluginTester.itOnly, undefined);
  await new PluginTester().run("by-hand", ping, { valid: [{ code: sc("  run until 1 s"), only: true }] });
  PluginTester.describe = undefined;
  PluginTester.it = undefined;
  t.same(names, ["by-hand", "valid", 'valid[0]: scenario "p"'], "itOnly falls back to it");
  t.equal(PluginTester.describe, undefined);
});

t.test("every built-in plugin has a PluginTester suite: plugins/<name>/tester.test.ts", async (t) => {
  const root = new URL("../../", import.meta.url);
  for (const plugin of builtinPlugins) {
    const file = new URL(`plugins/${plugin.name}/tester.test.ts`, root);
    t.ok(existsSync(file), `plugins/${plugin.name}/tester.test.ts exists`);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    t.match(text, `new PluginTester().run("${plugin.name}", `, `it runs PluginTester on plugin "${plugin.name}"`);
    t.match(text, /from "\.\/index\.js"/, "on the plugin's default export");
  }
});
