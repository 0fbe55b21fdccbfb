// Grammar-aware fuzzing of the classes the token-mutation fuzzers never reached: numeric
// extremes (1e309, -0, 2^53+1, tiny fractions, values at and past the kernel's limits),
// prototype keys (`__proto__`, `constructor`, ...) as names, words and glued to numbers, long
// flat expressions, and line ends, byte-order marks and encodings. The bundled scenarios are
// the seeds. The invariant: `check` never throws and never gives an internal error, and every
// input that passes `check` runs (a bounded share of simulated time, invariants checked)
// without a crash. Seeded, so a failure reproduces.
//
// CI runs a few hundred; VMSCN_FUZZ_LONG=1 runs 100,000 checks and 10,000 runs, for hours:
// `VMSCN_FUZZ_LONG=1 npx tap --timeout=0 --disable-coverage test/dsl/fuzz-extremes.test.ts`
// (VMSCN_FUZZ_CHECKS / VMSCN_FUZZ_RUNS set other counts, VMSCN_FUZZ_SEED another seed).
import "reflect-metadata";
import t from "tap";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { RandomStreams, type Random } from "../../core/sim/random.js";
import { VmscnError } from "../../core/errors.js";
import { UNITS } from "../../core/units.js";
import { DSL_CODES } from "../../dsl/diagnostics.js";
import { lex } from "../../dsl/lexer.js";
import { compile } from "../../dsl/compile.js";
import { evaluateExpects } from "../../dsl/expect.js";
import { check } from "../../app/pipeline.js";
import type { Plan } from "../../dsl/plan.js";

const LONG = process.env["VMSCN_FUZZ_LONG"] === "1";
const CHECKS = Number(process.env["VMSCN_FUZZ_CHECKS"] ?? (LONG ? 100_000 : 300));
const RUNS = Number(process.env["VMSCN_FUZZ_RUNS"] ?? (LONG ? 10_000 : 40));
const SEED = Number(process.env["VMSCN_FUZZ_SEED"] ?? 20270105);
const ROOT = resolve(import.meta.dirname, "../../scenarios");
// The long mode runs for hours: no timeout of its own (CI keeps tap's per-file one).
if (LONG) t.setTimeout(0);

/** A fuzzed run stops after this much simulated time, or this many events: each run stays short. */
const RUN_NS = 3e9;
const RUN_EVENTS = 400_000;

/** Codes a run may legitimately end with (a full host, a deadlock the scenario builds, ...); others are crashes. */
const CRASH_CODES = new Set(["VMSCN5003", "VMSCN5011", "VMSCN5014", "VMSCN6006"]);

const PROTO_KEYS = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf", "__defineGetter__", "prototype", "toLocaleString", "propertyIsEnumerable"];

/** Numbers that are not what they seem: too large for a double, negative zero, past 2^53, subnormal, tiny. */
const EXTREME_NUMBERS = [
  "1e309",
  "1.7976931348623157e308",
  "1e308",
  "99999999999999999999",
  "18446744073709551616",
  "9007199254740993",
  "9007199254740992",
  "9007199254740991",
  "4294967296",
  "2147483648",
  "2147483647",
  "1e21",
  "1e12",
  "5e-324",
  "1e-320",
  "0.000000001",
  "0.5",
  "1.5",
  "0",
  "0.0",
  "00",
  "1_000_000_000_000",
  "1e0",
  "1E-9",
];

/** Values at (or just inside) the limits of docs/language.md: most pass check, and must run. */
const BOUNDARY_VALUES = ["9007199.254740991 s", "9007199254740991 ns", "104 min", "1.1 ms", "0.3 us", "1 ns", "0 s", "8 TiB", "8192 GiB", "4 KiB", "1 page", "4096", "1 bit/s", "1 GiB", "1 PiB", "1048576000 pages/s", "0 pages/s", "1 pages/s", "100%", "0%", "1e-7%", "1", "2", "4096 B"];

/** Text that looks like a number to a person but not to the lexer. */
const NOT_NUMBERS = ["NaN", "Infinity", "-Infinity", "-0", "- 0", "+1", "0x10", "1e", "1e+", ".5", "1.", "1..2", "2^53"];

const UNIT_NAMES = Object.keys(UNITS);

function pick<T>(r: Random, xs: readonly T[]): T {
  return xs[r.int(xs.length)]!;
}

function scenarioFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? scenarioFiles(p) : n.endsWith(".vmscn") ? [p] : [];
    });
}

function tokens(text: string): string[] {
  return lex(text, "x").tokens.map((tok) => tok.image);
}

const isNumeric = (s: string) => /^[0-9]/.test(s);
const unitOf = (s: string) => /^[0-9][0-9_.eE+-]*\s*(.*)$/.exec(s)?.[1] ?? "";

/** The names a scenario declares (after `host`, `vm`, `datastore`). */
function declaredNames(toks: readonly string[]): string[] {
  const out = new Set<string>();
  for (let i = 0; i + 1 < toks.length; i++) if (toks[i] === "host" || toks[i] === "vm" || toks[i] === "datastore") out.add(toks[i + 1]!);
  return [...out].filter((n) => /^[A-Za-z_]/.test(n));
}

/** A long flat expression: a chain of `n` operators, sometimes inside parentheses. */
function flatExpression(r: Random, n: number): string {
  const kind = r.int(4);
  const parts: string[] = [];
  if (kind === 0) for (let i = 0; i <= n; i++) parts.push("1");
  else if (kind === 1) for (let i = 0; i <= n; i++) parts.push("true");
  else for (let i = 0; i <= n; i++) parts.push(pick(r, ["1", "2 s", "run.events", "(1)", "4 GiB"]));
  const op = kind === 1 ? " and " : kind === 3 ? () => pick(r, [" + ", " - ", " * ", " / "]) : " + ";
  let s = parts[0]!;
  for (let i = 1; i < parts.length; i++) s += (typeof op === "string" ? op : op()) + parts[i];
  return kind === 1 ? s : `${r.int(2) === 0 ? `(${s})` : s} > 0`;
}

const STATEMENT = new Set(["at", "expect", "run", "seed", "tick", "host", "link", "datastore", "vm", "}"]);

/** Indices of numeric tokens; three times out of four only those outside `expect` lines (they reach the kernel). */
function numericTokens(r: Random, toks: readonly string[]): number[] {
  const all: number[] = [];
  const kernel: number[] = [];
  let inExpect = false;
  toks.forEach((s, i) => {
    if (STATEMENT.has(s)) inExpect = s === "expect";
    if (!isNumeric(s)) return;
    all.push(i);
    if (!inExpect) kernel.push(i);
  });
  return r.int(4) === 0 || kernel.length === 0 ? all : kernel;
}

/** One mutant of a scenario's tokens, and the transforms of its whole text. */
function mutate(r: Random, toks: readonly string[]): string {
  let out = [...toks];
  const numeric = () => numericTokens(r, out);
  for (let n = 1 + r.int(3); n > 0; n--) {
    const op = r.int(20);
    if (op < 6) {
      // a numeric extreme, in its unit, another unit, or none
      const at = pick(r, numeric());
      if (at === undefined) continue;
      const unit = r.int(10) < 7 ? unitOf(out[at]!) : r.int(2) === 0 ? pick(r, UNIT_NAMES) : "";
      out[at] = `${pick(r, EXTREME_NUMBERS)}${unit === "" ? "" : r.int(2) === 0 ? ` ${unit}` : unit}`;
    } else if (op < 10) {
      // a value at the limits: most pass, and then must run
      const at = pick(r, numeric());
      if (at !== undefined) out[at] = pick(r, BOUNDARY_VALUES);
    } else if (op < 13) {
      // a declared name renamed everywhere to a prototype key: still a valid scenario
      const name = pick(r, declaredNames(out));
      const key = pick(r, PROTO_KEYS);
      if (name !== undefined && !out.includes(key)) out = out.map((s) => (s === name ? key : s));
    } else if (op < 15) {
      // a prototype key glued to a number (`4constructor`), or for a unit
      const at = pick(r, numeric());
      if (at !== undefined) out[at] = `${/^[0-9.]+/.exec(out[at]!)?.[0] ?? "4"}${r.int(2) === 0 ? "" : " "}${pick(r, PROTO_KEYS)}`;
    } else if (op < 16) {
      // a prototype key as any word: a verb, an option, a property, a reference
      const words = out.map((s, i) => [s, i] as const).filter(([s]) => /^[a-z]/.test(s));
      if (words.length > 0) out[pick(r, words)[1]] = pick(r, PROTO_KEYS);
    } else if (op < 18) {
      // a long flat expression, just under or well over the limit
      const close = out.lastIndexOf("}");
      const n = r.int(3) === 0 ? 990 + r.int(20) : 1000 + r.int(r.int(2) === 0 ? 200 : 8000);
      out.splice(close < 0 ? out.length : close, 0, "expect", flatExpression(r, n));
    } else if (op < 19) {
      out.splice(r.int(out.length + 1), 0, pick(r, NOT_NUMBERS));
    } else {
      // a prototype key where a report path or a reference's argument is read
      const close = out.lastIndexOf("}");
      const key = pick(r, PROTO_KEYS);
      const e = pick(r, [`${key}.state == "running"`, `vm(${key}).state == "running"`, `host(${key}).memory.used >= 0`, `${key} == 1`, `run.${key} == 1`, `migration(${key}).status == "completed"`]);
      out.splice(close < 0 ? out.length : close, 0, "expect", e);
    }
  }
  const eol = pick(r, [" ", " ", "\n", "\r\n", "\r"]);
  let text = out.join(eol);
  const whole = r.int(40);
  if (whole === 0) text = `\uFEFF${text}`;
  else if (whole === 1) text = [...text].map((c) => `${c}\0`).join("");
  else if (whole === 2) text = `\uFFFD\uFFFD${[...text].map((c) => `${c}\0`).join("")}`;
  else if (whole === 3) text = `${text}\n${String.fromCharCode(...Array.from({ length: 64 }, () => r.int(256)))}`;
  return text;
}

const codes = new Set(Object.keys(DSL_CODES));

interface Stats {
  checks: number;
  clean: number;
  runs: number;
  runFailures: number;
}

/** Checks one mutant; runs it when it passes. Returns a description of what went wrong, if anything. */
async function one(path: string, text: string, stats: Stats, wantRun: boolean): Promise<string | undefined> {
  const read = (p: string): string => (p === path ? text : readFileSync(p, "utf8"));
  let c;
  try {
    c = await check(path, { read, maxMemoryBytes: 1024 * 2 ** 20, checkInvariants: true });
  } catch (err) {
    return `check threw: ${(err as Error).stack ?? String(err)}`;
  }
  stats.checks++;
  for (const d of c.diagnostics) {
    const inText = d.loc.file !== path || (d.loc.start >= 0 && d.loc.end <= text.length && d.loc.line >= 1 && d.loc.column >= 1);
    if (!codes.has(d.code) || !inText || /internal error/.test(d.message) || d.message.length === 0) return `bad diagnostic ${d.code} at ${d.loc.line}:${d.loc.column}: ${d.message.slice(0, 300)}`;
  }
  if (c.failedPhase !== undefined || !c.plan || !c.kernel) return undefined;
  stats.clean++;
  const bad = planProblem(c.plan);
  if (bad !== undefined) return `check passed a value the kernel cannot take: ${bad}`;
  if (!wantRun) return undefined;
  stats.runs++;
  const k = c.kernel;
  let events = 0;
  k.scheduler.progress = () => {
    events += 65_536;
    if (events >= RUN_EVENTS) k.scheduler.stop();
  };
  try {
    compile(c.plan, k);
    k.run(Math.min(c.plan.until ?? RUN_NS, RUN_NS));
    const report = k.report(c.plan.name) as unknown as Record<string, unknown>;
    JSON.stringify(report);
    const names = {
      vms: new Set(c.plan.vms.map((v) => v.name)),
      hosts: new Set(c.plan.hosts.map((h) => h.name)),
      datastores: new Set(c.plan.datastores.map((d) => d.name)),
      links: new Set(c.plan.links.map((l) => `${l.a}<->${l.b}`)),
    };
    for (const e of evaluateExpects(c.plan.expects, report, names)) if (/internal error|\[native code\]|function /.test(e.message)) return `expectation message leaks: ${e.message}`;
  } catch (err) {
    if (err instanceof VmscnError && !CRASH_CODES.has(err.code)) {
      stats.runFailures++;
      return undefined;
    }
    return `run crashed: ${err instanceof VmscnError ? `${err.code} ${err.message}` : ((err as Error).stack ?? String(err))}`;
  }
  return undefined;
}

const MAX_T = Number.MAX_SAFE_INTEGER;
const time = (v: number | undefined) => v === undefined || (Number.isFinite(v) && v >= 0 && Math.round(v) <= MAX_T);

/** What a plan that passed check may not hold (docs/language.md, "Limits"): the run would crash or never end. */
function planProblem(plan: Plan): string | undefined {
  if (!time(plan.until)) return `run until ${plan.until}`;
  if (!time(plan.tickNs)) return `tick ${plan.tickNs}`;
  for (const a of [...plan.actions, ...plan.scripted, ...plan.hypercalls]) if (!time(a.time)) return `a time of ${a.time} ns`;
  for (const h of plan.hosts) if (!(h.memoryBytes >= 4096 && h.memoryBytes <= 2 ** 43) || !Number.isSafeInteger(h.cpus)) return `host ${h.name}: ${h.memoryBytes} B, ${h.cpus} CPUs`;
  for (const l of plan.links) if (!Number.isSafeInteger(l.latency) || !(l.bandwidth >= 1 / 8 && l.bandwidth <= MAX_T)) return `link ${l.name}: latency ${l.latency}, bandwidth ${l.bandwidth}`;
  for (const d of plan.datastores) if (!Number.isSafeInteger(d.latency) || !(d.bandwidth >= 1 / 8 && d.bandwidth <= MAX_T)) return `datastore ${d.name}: latency ${d.latency}, bandwidth ${d.bandwidth}`;
  for (const v of plan.vms) {
    if (!Number.isSafeInteger(v.memoryBytes / 4096) || v.memoryBytes < 4096 || v.vcpus > 4096) return `VM ${v.name}: ${v.memoryBytes} B, ${v.vcpus} vCPUs`;
    if ((v.disks ?? []).some((d) => !Number.isSafeInteger(d.sizeBytes) || d.sizeBytes > 2 ** 50)) return `VM ${v.name}: a disk of ${v.disks!.map((d) => d.sizeBytes).join(", ")} B`;
    if (v.deviceStateBytes !== undefined && !(Number.isSafeInteger(v.deviceStateBytes) && v.deviceStateBytes <= 2 ** 30)) return `VM ${v.name}: device state ${v.deviceStateBytes} B`;
    for (const x of [v.bootNs, v.initNs, v.appLaunchNs]) if (!time(x)) return `VM ${v.name}: a launch time of ${x} ns`;
    for (const a of v.workload?.activities ?? []) if (!Number.isFinite(a.rate) || (a.rate * (plan.tickNs ?? 1e6)) / 1e9 > 2 ** 20) return `VM ${v.name}: a rate of ${a.rate}/s`;
  }
  for (const s of plan.scripted) if (!Number.isSafeInteger(s.first) || !Number.isSafeInteger(s.count)) return `a scripted access to ${s.first}+${s.count}`;
  return undefined;
}

t.test(`numeric extremes, prototype keys and long expressions never crash check or run (${CHECKS} checks, up to ${RUNS} runs)`, { timeout: 0 }, async (t) => {
  const paths = scenarioFiles(ROOT);
  const bodies = new Map(paths.map((p) => [p, tokens(readFileSync(p, "utf8").replace(/^(#.*\n)+/, ""))]));
  const r = new RandomStreams(SEED).stream("fuzz:extremes");
  const stats: Stats = { checks: 0, clean: 0, runs: 0, runFailures: 0 };
  // The long mode goes on after a crash, so one run of hours finds every class it can reach.
  const crashes: string[] = [];
  for (let i = 0; i < CHECKS; i++) {
    const path = paths[i % paths.length]!;
    const text = mutate(r, bodies.get(path)!);
    const problem = await one(path, text, stats, stats.runs < RUNS);
    if (problem !== undefined) {
      crashes.push(`${problem}\non mutant ${i} of ${path} (seed ${SEED}):\n${text.length > 4000 ? `${text.slice(0, 4000)}...` : text}`);
      if (!LONG) break;
    }
  }
  t.same(crashes.slice(0, 20), [], `${crashes.length} crashes`);
  if (crashes.length > 0) return;
  t.equal(stats.checks, CHECKS, `${stats.checks} checks, ${stats.clean} clean; ${stats.runs} runs (${stats.runFailures} ended by a run-time refusal), no crash`);
  t.ok(stats.runs >= Math.min(RUNS, CHECKS / 10), `${stats.runs} of the mutants that passed check ran`);
  t.comment(`fuzz-extremes: ${stats.checks} checks (${stats.clean} clean), ${stats.runs} runs, 0 crashes, seed ${SEED}`);
});
