// parseSource must return diagnostics, never throw, on any input: random token sequences and
// random mutations of realistic scenarios. Seeded, so a failure reproduces.
import t, { type Test } from "tap";
import { RandomStreams, type Random } from "../../../core/sim/random.js";
import { DSL_CODES } from "../../../dsl/diagnostics.js";
import { lex } from "../../../dsl/lexer.js";
import { parseSource } from "../../../dsl/parse.js";
import { LANGUAGE_EXAMPLE } from "./helpers.js";

const SAMPLES = [
  LANGUAGE_EXAMPLE,
  `# negative: {phase: run, code: VMSCN5002}
import "platform.vmscn"
use plugin "./plugins/balloon.ts"
datastore local { on a  bandwidth 500 MB/s }
scenario "full-host" {
  tick 1 ms
  vm db on a {
    vcpus 2  memory 8 GiB  device-state 512 KiB  mac "02:00:00:00:01:0a"
    initial compressible 60% at 40%, random 40%
    workload { writes 500 pages/s sequential  trace "db.trace" }
  }
  at 0 s: start db
  at 30 s: suspend db
  at 40 s: link a<->b down
  at 41 s: recover a
  at 45 s: db reads page 7 on vcpu 1
  run until done
  expect migration(db).ram.transferred < 1.5 * db.memory
  expect host(a).memory.used within 5% of 4 GiB
  expect vm(db).state == "running" and transfers.failed == 0 or not (run.events >= -1)
  expect link(a<->b).bytes / 2 != 3 - 4
}
`,
  `scenario "fork" { host h { cpus 8 memory 32 GiB nic 25 Gbit/s } vm p on h { vcpus 1 memory 1 GiB }
  at 1.5e3 ms: fork p count 3 { share true  hosts h, h  name "child" } at 2 min: stop p
  expect fork(p).launch-latency <= 0.5 s expect checkpoint("x y").size > 20_000 B }
`,
];

/** The lexer's pieces of a text, for token-level mutations. */
function pieces(text: string): string[] {
  return lex(text, "x").tokens.map((tok) => tok.image);
}

const VOCABULARY = [
  ...new Set([
    ...SAMPLES.flatMap(pieces),
    "{",
    "}",
    "(",
    ")",
    ":",
    "..",
    "<->",
    ",",
    ".",
    "not",
    "within",
    "of",
    "300msec",
    '"unterminated',
    "@",
    "#",
    "//",
    "scenario",
    "import",
    "use",
    "plugin",
    "\n",
    "=",
    "µs",
    "1e",
    "\\",
  ]),
];

function pick<T>(r: Random, xs: readonly T[]): T {
  return xs[r.int(xs.length)]!;
}

function mutateTokens(r: Random, toks: string[]): string {
  const out = [...toks];
  const n = 1 + r.int(4);
  for (let i = 0; i < n && out.length > 0; i++) {
    const at = r.int(out.length);
    switch (r.int(4)) {
      case 0:
        out.splice(at, 1);
        break;
      case 1:
        out.splice(at, 0, out[at]!);
        break;
      case 2: {
        const other = r.int(out.length);
        [out[at], out[other]] = [out[other]!, out[at]!];
        break;
      }
      default:
        out.splice(at, 0, pick(r, VOCABULARY));
    }
  }
  return out.join(r.int(3) === 0 ? "\n" : " ");
}

function mutateChars(r: Random, text: string): string {
  let s = text;
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) {
    const at = r.int(s.length + 1);
    switch (r.int(4)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + 1 + r.int(3));
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at, at + 1 + r.int(5)) + s.slice(at);
        break;
      case 2: {
        const other = r.int(s.length + 1);
        const [a, b] = at < other ? [at, other] : [other, at];
        s = s.slice(0, a) + s.charAt(b) + s.slice(a + 1, b) + s.charAt(a) + s.slice(b + 1);
        break;
      }
      default:
        s = s.slice(0, at) + pick(r, ['"', "{", "}", "\n", "(", ")", ":", ".", "%", "-", "#", " ", "é", "\t", "5", "x"]) + s.slice(at);
    }
  }
  return s;
}

function randomTokens(r: Random): string {
  const n = r.int(60);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(r, VOCABULARY));
  return out.join(pick(r, [" ", "\n", ""]));
}

const codes = new Set(Object.keys(DSL_CODES));

/** Parses `text` and checks that its diagnostics and every location are well formed. */
function checkOne(t: Test, text: string, stats: { parses: number; clean: number }): boolean {
  let r: ReturnType<typeof parseSource>;
  try {
    r = parseSource(text, "fuzz.vmscn");
  } catch (e) {
    t.fail(`parseSource threw on ${JSON.stringify(text)}: ${String(e)}`);
    return false;
  }
  stats.parses++;
  if (r.diagnostics.length === 0) stats.clean++;
  for (const d of r.diagnostics) {
    if (!codes.has(d.code) || d.message.includes("internal error") || !/^[A-Za-z"(]/.test(d.message)) {
      t.fail(`bad diagnostic ${d.code} "${d.message}" on ${JSON.stringify(text)}`);
      return false;
    }
  }
  const bad = badLoc(r, text.length);
  if (bad !== undefined) {
    t.fail(`bad location ${JSON.stringify(bad)} on ${JSON.stringify(text)}`);
    return false;
  }
  return true;
}

/** The first `loc` (in the AST or a diagnostic) that is not inside the text, if any. */
function badLoc(value: unknown, length: number): unknown {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== "object") continue;
    const o = v as Record<string, unknown>;
    if (typeof o.file === "string" && typeof o.line === "number") {
      const l = o as { line: number; column: number; endLine: number; endColumn: number; start: number; end: number };
      const ok =
        Number.isInteger(l.line) && l.line >= 1 && l.column >= 1 && l.endLine >= l.line && l.start >= 0 && l.start <= l.end && l.end <= length;
      if (!ok) return l;
      continue;
    }
    for (const k in o) stack.push(o[k]);
  }
  return undefined;
}

t.test("the samples parse without diagnostics", (t) => {
  for (const s of SAMPLES) t.same(parseSource(s, "sample.vmscn").diagnostics, []);
  t.end();
});

t.test("random mutations of realistic scenarios only ever give diagnostics", (t) => {
  const r = new RandomStreams(20240601).stream("fuzz:mutations");
  const stats = { parses: 0, clean: 0 };
  const tokenized = SAMPLES.map(pieces);
  for (let i = 0; i < 1500; i++) {
    const k = r.int(SAMPLES.length);
    if (!checkOne(t, mutateTokens(r, tokenized[k]!), stats)) break;
    if (!checkOne(t, mutateChars(r, SAMPLES[k]!), stats)) break;
  }
  t.equal(stats.parses, 3000);
  // most mutations break something; a few survive (a duplicated word in a list, a swap of two equal tokens)
  t.ok(stats.clean < stats.parses / 2, `${stats.clean} of ${stats.parses} mutants parse cleanly`);
  t.end();
});

t.test("random token sequences only ever give diagnostics", (t) => {
  const r = new RandomStreams(7).stream("fuzz:sequences");
  const stats = { parses: 0, clean: 0 };
  for (let i = 0; i < 2000; i++) if (!checkOne(t, randomTokens(r), stats)) break;
  t.equal(stats.parses, 2000);
  t.end();
});

t.test("mutants of a scenario wrapped around random tokens", (t) => {
  const r = new RandomStreams(99).stream("fuzz:wrapped");
  const stats = { parses: 0, clean: 0 };
  for (let i = 0; i < 500; i++) {
    const text = `scenario "w" {\n${randomTokens(r)}\n}\n${r.int(2) === 0 ? randomTokens(r) : ""}`;
    if (!checkOne(t, text, stats)) break;
  }
  t.equal(stats.parses, 500);
  t.end();
});
