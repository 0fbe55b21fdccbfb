// `vmscn/testing`: what a plugin author tests a plugin with.
// tsyringe (under the kernel) needs the Reflect polyfill first, whatever the test file imported.
import "reflect-metadata";
export { PluginTester, type PluginTesterOptions } from "./plugin-tester.js";
export { TestCaseError, type ExpectedError, type InvalidCase, type ReportAssertion, type TestCases, type ValidCase } from "./cases.js";
export type { Describe, It } from "./framework.js";
