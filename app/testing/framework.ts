// Which test framework PluginTester registers its cases with. Like ESLint's RuleTester, the
// tester only needs `describe` and `it`; they can be set by hand (PluginTester.describe = ...),
// and otherwise come from the framework that is running the file: mocha-style globals, tap
// (when the tap runner started this process), or node's built-in test runner.
import { createRequire } from "node:module";

/** Registers a group of tests; `fn` registers the group's tests synchronously. */
export type Describe = (name: string, fn: () => void) => unknown;
/** Registers one test; `fn` throws (or rejects) when the test fails. */
export type It = (name: string, fn: () => void | Promise<void>) => unknown;

export interface Framework {
  readonly name: string;
  readonly describe: Describe;
  readonly it: It;
  readonly itOnly: It;
}

/** The part of tap's Test that the adapter uses. */
export interface TapTest {
  test(name: string, fn: (t: TapTest) => unknown): unknown;
  test(name: string, options: { only?: boolean }, fn: (t: TapTest) => unknown): unknown;
  end(): unknown;
}

/**
 * describe/it on top of tap's `t.test`: a describe is a subtest whose children are registered
 * while its function runs, an `it` is a subtest that fails with whatever its function throws.
 */
export function tapFramework(root: TapTest): Framework {
  const stack: TapTest[] = [root];
  const current = (): TapTest => stack[stack.length - 1]!;
  const describe: Describe = (name, fn) =>
    current().test(name, (t) => {
      stack.push(t);
      try {
        fn();
      } finally {
        stack.pop();
      }
      // Ends once the subtests registered above have run.
      t.end();
    });
  const test =
    (only: boolean): It =>
    (name, fn) =>
      current().test(name, only ? { only: true } : {}, async () => {
        await fn();
      });
  return { name: "tap", describe, it: test(false), itOnly: test(true) };
}

interface NodeTest {
  describe: Describe;
  it: It & { only: It };
}

/** node:test's describe/it, loaded only when used (loading it under tap would be harmless, but pointless). */
export function nodeTestFramework(): Framework {
  const require = createRequire(import.meta.url);
  const nodeTest = require("node:test") as NodeTest;
  return { name: "node:test", describe: nodeTest.describe, it: nodeTest.it, itOnly: nodeTest.it.only };
}

interface Globals {
  describe?: unknown;
  it?: unknown;
}

/** Mocha, Jest and Vitest (with globals) define describe and it on the global object. */
export function globalFramework(g: Globals = globalThis as Globals): Framework | undefined {
  if (typeof g.describe !== "function" || typeof g.it !== "function") return undefined;
  const it = g.it as It & { only?: It };
  return { name: "globals", describe: g.describe as Describe, it, itOnly: typeof it.only === "function" ? it.only : it };
}

/** Whether the tap runner started this process (it sets TAP_CHILD_ID in its test processes). */
export function underTap(env: NodeJS.ProcessEnv = process.env): boolean {
  return env["TAP_CHILD_ID"] !== undefined;
}

/**
 * The framework of the running test file: globals if defined, tap if its runner started the
 * process (imported here, so that the tap a test file imports is the same module), else
 * node:test. Async only because tap is an ES module that must be imported.
 */
export async function detectFramework(env: NodeJS.ProcessEnv = process.env, g: Globals = globalThis as Globals): Promise<Framework> {
  const globals = globalFramework(g);
  if (globals) return globals;
  if (underTap(env)) {
    const tap = (await import("tap")) as unknown as { t: TapTest };
    return tapFramework(tap.t);
  }
  return nodeTestFramework();
}
