// Parse errors as sentences a user understands, with codes VMSCN0101-0104.
//
// chevrotain builds an error's message at the moment it fails, knowing only the expected
// tokens and the rule. The provider below records exactly that (as JSON in the message);
// `syntaxDiagnostics` then writes the sentence with the whole token vector at hand: which
// block a missing "}" belongs to and where it opened, whether the scenario already ended,
// what the previous token was.
import { EOF, type IParserErrorMessageProvider, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import { diag, type Diagnostic, type DslCode } from "../diagnostics.js";
import type { Loc } from "../ast.js";
import { allTokens, Colon, Comma, K, LCurly, Name, NumberLit, RCurly, STATEMENT_KEYWORDS, Str, TOP_KEYWORDS } from "../tokens.js";
import { isReal, tokenLoc } from "./loc.js";
import { closest, suggestUnit } from "./suggest.js";

type ErrorKind = "mismatch" | "noViable" | "earlyExit" | "notAll";

interface RawError {
  kind: ErrorKind;
  /** Names of the token types that would have been accepted. */
  expected: string[];
  rule: string;
}

const firstTokens = (paths: TokenType[][]): string[] => paths.filter((p) => p.length > 0).map((p) => p[0]!.name);

export const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, ruleName }) => JSON.stringify({ kind: "mismatch", expected: [expected.name], rule: ruleName } satisfies RawError),
  buildNotAllInputParsedMessage: ({ ruleName }) => JSON.stringify({ kind: "notAll", expected: ["EOF"], rule: ruleName } satisfies RawError),
  buildNoViableAltMessage: ({ expectedPathsPerAlt, ruleName }) =>
    JSON.stringify({ kind: "noViable", expected: expectedPathsPerAlt.flatMap(firstTokens), rule: ruleName } satisfies RawError),
  buildEarlyExitMessage: ({ expectedIterationPaths, ruleName }) =>
    JSON.stringify({ kind: "earlyExit", expected: firstTokens(expectedIterationPaths), rule: ruleName } satisfies RawError),
};

// ---- vocabulary for messages -----------------------------------------------------------

const TOKEN_BY_NAME = new Map<string, TokenType>(allTokens.map((t) => [t.name, t]));

/** Tokens after which a missing piece means the statement was cut short (VMSCN0103). */
const STARTERS = new Set<TokenType>([...STATEMENT_KEYWORDS, ...TOP_KEYWORDS].map((w) => K[w]));
const SCENARIO_ONLY = new Set<TokenType>(["at", "expect", "run", "seed", "tick"].map((w) => K[w as keyof typeof K]));

function q(s: string): string {
  return `"${s}"`;
}

/** `"a", "b" or "c"` (two words at least). */
function list(words: readonly string[]): string {
  const qs = words.map(q);
  return `${qs.slice(0, -1).join(", ")} or ${qs[qs.length - 1]}`;
}

/** How a token reads in a sentence: `"cpu"`, `the string "x"`, `the end of the file`. */
function showToken(t: IToken | undefined): string {
  if (t === undefined || t.tokenType === EOF) return "the end of the file";
  if (t.tokenType === Str || t.tokenType.CATEGORIES?.includes(Str)) return `the string ${t.image}`;
  return q(t.image);
}

/** `unexpected "x"`, `unexpected string "x"` (never the end of the file: that is a missing piece). */
function unexpected(t: IToken): string {
  if (t.tokenType === Str || t.tokenType.CATEGORIES?.includes(Str)) return `unexpected string ${t.image}`;
  return `unexpected ${q(t.image)}`;
}

/** How a token reads after "after": the string's own quotes are enough. */
function showPrevious(t: IToken | undefined): string {
  if (t === undefined) return "the start of the file";
  return t.tokenType === Str ? t.image : q(t.image);
}

// Value rules: what they take, and a typical value (by the keyword before it, or a default).
const VALUE_KINDS: Record<string, { what: string; example: string }> = {
  countValue: { what: "a number", example: "16" },
  sizeValue: { what: "a quantity", example: "64 GiB" },
  bandwidthValue: { what: "a bandwidth", example: "10 Gbit/s" },
  timeValue: { what: "a time", example: "10 s" },
  percentValue: { what: "a percentage", example: "25%" },
  rateValue: { what: "a rate", example: "20000 pages/s" },
  numberValue: { what: "a number", example: "0.9" },
};

const EXAMPLES: Record<string, string> = {
  cpus: "16",
  vcpus: "4",
  iops: "20000",
  seed: "42",
  memory: "64 GiB",
  "device-state": "512 KiB",
  nic: "25 Gbit/s",
  latency: "50 us",
  boot: "20 s",
  init: "5 s",
  "app-launch": "10 s",
  nodes: "3",
  tick: "1 ms",
  zero: "20%",
  random: "50%",
  compressible: "30%",
  within: "5%",
};

// Descriptions of an expected token type in a given rule (`rule:TokenName`); other token
// types are described by their labels (tokens.ts).
const EXPECTED_IN_RULE: Record<string, string> = {
  "hostDecl:Name": "a host name",
  "linkDecl:Name": "a host name",
  "datastoreDecl:Name": "a datastore name",
  "datastoreProperty:Name": "a host name",
  "vmProperty:Name": 'a datastore name, as in "disk san 40 GiB"',
  "atom:Name": "a host name",
  "refArg:Name": "a name",
  "reference:Name": 'a name, as in "web.host"',
  "scenarioBlock:Str": 'the scenario\'s name as a string such as "my-test"',
  "importStmt:Str": 'a file name as a string such as "platform.vmscn"',
  "usePluginStmt:Str": 'a plugin as a string such as "./plugins/balloon.ts"',
  "mixPart:Str": 'an image name as a string such as "debian-12"',
  "vmProperty:Str:mac": 'a MAC address as a string such as "02:00:00:00:01:0a"',
  "vmProperty:Str:guest": 'the guest configuration as a string such as "debian-12/nginx-1.24"',
  "vmProperty:Str:usage": 'the VM\'s usage as a string such as "web"',
  "hostProperty:Str:vmm": 'the VMM API as a string such as "kvm-1.2"',
  "hostProperty:Str:hypercalls": 'the hypercall interface as a string such as "kvm-hc-1"',
  "workloadProperty:Str": 'a trace file name as a string such as "web.trace"',
  "actionStmt:VerbWord": 'a verb such as "start" or "migrate"',
  "vmDecl:Kw_on": '"on" and the host the VM runs on',
  "pattern:Kw_over": '"over", as in "zipf 0.9 over 25%"',
  "cmpExpr:Kw_of": '"of", as in "x within 5% of y"',
};

const A_VALUE = 'a value (a number, a quantity, a string, a reference such as "web.host", or "(")';

// What a rule expects when none of its alternatives fits.
const RULE_CHOICES: Record<string, string> = {
  runTarget: 'a time such as "120 s" or "done"',
  mixPart: 'a content part ("zero", "image", "random" or "compressible")',
  pattern: 'an access pattern ("uniform", "sequential" or "zipf")',
  pace: '"paced" or "catch-up"',
  refArg: 'a name, a link such as "a<->b", or a string',
  primary: A_VALUE,
  unaryExpr: A_VALUE,
  notExpr: A_VALUE,
  contentMix: 'a content part ("zero", "image", "random" or "compressible")',
};

function describeExpected(rule: string, expected: string[], previous: IToken | undefined): string {
  const kind = VALUE_KINDS[rule];
  if (kind !== undefined) {
    const prevWord = previous?.image ?? "";
    let example = (Object.hasOwn(EXAMPLES, prevWord) ? EXAMPLES[prevWord] : undefined) ?? kind.example;
    if (rule === "percentValue" && prevWord === "at") example = "50%";
    if (rule === "timeValue" && prevWord === "at") example = "10 s";
    return `${kind.what} such as ${q(example)}`;
  }
  if (rule === "vmDecl" && expected.length === 1 && expected[0] === Name.name) return previous?.image === "vm" ? "a VM name" : "a host name";
  const choice = RULE_CHOICES[rule];
  if (choice !== undefined && expected.length !== 1) return choice;
  const prev = previous?.image ?? "";
  const descriptions = [...new Set(expected.map((name) => EXPECTED_IN_RULE[`${rule}:${name}:${prev}`] ?? EXPECTED_IN_RULE[`${rule}:${name}`] ?? TOKEN_BY_NAME.get(name)?.LABEL ?? name))];
  if (descriptions.length === 0) return choice ?? "something else";
  return descriptions.length === 1 ? descriptions[0]! : `${descriptions.slice(0, -1).join(", ")} or ${descriptions[descriptions.length - 1]}`;
}

// ---- blocks ---------------------------------------------------------------------------

interface BlockKind {
  /** What goes inside, for "expected ... or "}"". */
  contents: string;
  /** Words that may start an entry, for "did you mean". */
  words: readonly string[];
}

const BLOCKS: Record<string, BlockKind> = {
  scenarioBlock: {
    contents: `a statement (${list(STATEMENT_KEYWORDS)})`,
    words: STATEMENT_KEYWORDS,
  },
  hostDecl: { contents: 'a host property ("cpus", "memory", "nic", "rdma", "nodes", "vmm" or "hypercalls")', words: ["cpus", "memory", "nic", "rdma", "nodes", "vmm", "hypercalls"] },
  linkDecl: { contents: 'a link property ("bandwidth" or "latency")', words: ["bandwidth", "latency"] },
  datastoreDecl: {
    contents: 'a datastore property ("shared-by", "on", "bandwidth", "latency" or "iops")',
    words: ["shared-by", "on", "bandwidth", "latency", "iops"],
  },
  vmDecl: {
    contents: 'a VM property ("vcpus", "memory", "disk", "device-state", "mac", "boot", "init", "app-launch", "guest", "usage", "initial" or "workload")',
    words: ["vcpus", "memory", "disk", "device-state", "mac", "boot", "init", "app-launch", "guest", "usage", "initial", "workload"],
  },
  workloadBlock: { contents: 'an activity ("writes" or "reads"), "content" or "trace"', words: ["writes", "reads", "content", "trace"] },
  optionBlock: { contents: "an option", words: [] },
  anyBlock: { contents: "anything", words: [] },
};

export interface SyntaxContext {
  file: string;
  text: string;
  tokens: IToken[];
  /** Computed on first use by braceParents. */
  parents?: Int32Array;
  /** Indices of the `scenario` keywords, computed on first use. */
  scenarios?: number[];
}

/** Index of token `t` in `tokens` (sorted by offset), or tokens.length for EOF. */
export function indexOf(tokens: IToken[], t: IToken): number {
  if (!isReal(t)) return tokens.length;
  let lo = 0;
  let hi = tokens.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = tokens[mid]!.startOffset;
    if (s === t.startOffset) return mid;
    if (s < t.startOffset) lo = mid + 1;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * For each token, the index of the innermost "{" still open before it (-1 if none); built
 * once per file so that locating many errors stays linear in the file's length.
 */
function braceParents(ctx: SyntaxContext): Int32Array {
  if (ctx.parents !== undefined) return ctx.parents;
  const { tokens } = ctx;
  const parents = new Int32Array(tokens.length + 1);
  let open = -1;
  for (let i = 0; i <= tokens.length; i++) {
    parents[i] = open;
    const tt = tokens[i]?.tokenType;
    if (tt === LCurly) open = i;
    else if (tt === RCurly && open >= 0) open = parents[open]!;
  }
  ctx.parents = parents;
  return parents;
}

/** Indices of the "{" still open before token `upTo`, outermost first. */
function openBraces(ctx: SyntaxContext, upTo: number): number[] {
  const parents = braceParents(ctx);
  const stack: number[] = [];
  for (let b = parents[upTo]!; b >= 0; b = parents[b]!) stack.push(b);
  return stack.reverse();
}

/** `host "a"`, `vm "web"`, `the options of "migrate"`: what the "{" at `brace` opened. */
function describeBlock(rule: string, tokens: IToken[], brace: number | undefined): string {
  const at = (i: number): IToken | undefined => (brace !== undefined && i >= 0 ? tokens[i] : undefined);
  const word = (t: IToken | undefined): string | undefined => (t !== undefined && t.tokenType !== Str && /^[A-Za-z_]/.test(t.image) ? t.image : undefined);
  switch (rule) {
    case "scenarioBlock": {
      const name = at(brace! - 1);
      return name?.tokenType === Str ? `scenario ${name.image}` : "the scenario";
    }
    case "hostDecl":
    case "datastoreDecl": {
      const kind = rule === "hostDecl" ? "host" : "datastore";
      const name = word(at(brace! - 1));
      return name !== undefined ? `${kind} ${q(name)}` : `the ${kind}`;
    }
    case "linkDecl": {
      const a = word(at(brace! - 3));
      const b = word(at(brace! - 1));
      return a !== undefined && b !== undefined ? `link ${q(`${a}<->${b}`)}` : "the link";
    }
    case "vmDecl": {
      const name = word(at(brace! - 3));
      return name !== undefined ? `vm ${q(name)}` : "the VM";
    }
    case "workloadBlock":
      return "the workload";
    case "anyBlock":
      return "the block";
    default: {
      // optionBlock: the verb follows the nearest ":" before the brace.
      for (let i = (brace ?? 0) - 1; i >= 0 && brace !== undefined && i > brace - 200; i--) {
        if (tokens[i]!.tokenType === Colon) {
          const verb = word(tokens[i + 1]);
          return verb !== undefined ? `the options of ${q(verb)}` : "the options";
        }
      }
      return "the options";
    }
  }
}

// ---- the diagnostics ------------------------------------------------------------------

const TOP_WORDS = ["scenario", "import", "use", "host", "link", "datastore", "vm"];
const TOP_CONTENTS = 'expected "scenario", "import", "use plugin" or a declaration ("host", "link", "datastore" or "vm")';

/**
 * A word that starts no statement or property where it stands (`hots a { }`, `cpu 16`),
 * parsed whole by `unknownStatement`/`unknownProperty`. `block` is the rule of the enclosing
 * block ("file" at the top level) and `what` its description (`host "a"`); at the top level,
 * `what` is the scenario that came before, if any.
 */
export function unknownWord(file: string, tokens: IToken[], word: IToken, block: string, what: string | undefined): Diagnostic {
  const loc = tokenLoc(file, word);
  const idx = indexOf(tokens, word);
  const previous = tokens[idx - 1];
  if (block === "file") {
    const guess = closest(word.image, TOP_WORDS);
    const hint = guess !== undefined ? `did you mean ${q(guess)}?` : unitHint(word, previous);
    return what !== undefined
      ? diag("VMSCN0104", `${unexpected(word)} after the end of ${what}: only "import", "use plugin" and declarations may come after it`, loc, "parse", hint)
      : diag("VMSCN0101", `${unexpected(word)}: ${TOP_CONTENTS}`, loc, "parse", hint);
  }
  const kind = BLOCKS[block]!;
  const guess = closest(word.image, kind.words);
  let hint = guess !== undefined ? `did you mean ${q(guess)}?` : unitHint(word, previous);
  if (block === "datastoreDecl" && inSharedByList(tokens, idx)) hint = SHARED_BY_HINT;
  return diag("VMSCN0101", `${unexpected(word)} in ${what}: expected ${kind.contents}`, loc, "parse", hint);
}

function decode(e: IRecognitionException): RawError {
  try {
    const raw = JSON.parse(e.message) as RawError;
    if (Array.isArray(raw.expected) && typeof raw.rule === "string") return raw;
  } catch {
    // A message not built by our provider (ERR_MSG is never used): treat it as unknown.
  }
  return { kind: "mismatch", expected: [], rule: e.context?.ruleStack?.[e.context.ruleStack.length - 1] ?? "file" };
}

const isStarter = (t: IToken): boolean => t.tokenType === EOF || STARTERS.has(t.tokenType);

/**
 * Offsets of the tokens where the parser resumed after each error: an unknown word there is
 * a consequence of that error, not a second one.
 */
export function resumeOffsets(errors: IRecognitionException[], tokens: IToken[]): Set<number> {
  const out = new Set<number>();
  for (const e of errors) {
    if (!isReal(e.token)) continue;
    out.add(e.token.startOffset);
    const resume = tokens[indexOf(tokens, e.token) + (e.resyncedTokens?.length ?? 0) + 1];
    if (resume !== undefined) out.add(resume.startOffset);
  }
  return out;
}

/** One diagnostic per token at most: later errors at the same token are consequences. */
export function syntaxDiagnostics(errors: IRecognitionException[], ctx: SyntaxContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<number>();
  for (const e of errors) {
    const d = toDiagnostic(e, ctx);
    if (seen.has(d.loc.start)) continue;
    seen.add(d.loc.start);
    out.push(d);
  }
  return out;
}

function toDiagnostic(e: IRecognitionException, ctx: SyntaxContext): Diagnostic {
  const { tokens, file } = ctx;
  const raw = decode(e);
  const actual = e.token;
  const idx = indexOf(tokens, actual);
  const previous = idx > 0 ? tokens[idx - 1] : undefined;
  const loc: Loc = isReal(actual)
    ? tokenLoc(file, actual)
    : tokens.length > 0
      ? tokenLoc(file, tokens[tokens.length - 1]!)
      : { file, line: 1, column: 1, endLine: 1, endColumn: 1, start: 0, end: 0 };
  const found = showToken(actual);
  const make = (code: DslCode, message: string, hint?: string): Diagnostic => diag(code, message, loc, "parse", hint);

  if (raw.kind === "notAll" || (raw.expected.length === 1 && raw.expected[0] === "EOF")) return fileLevel(actual, idx, ctx, make);

  if (raw.expected.includes(RCurly.name) && BLOCKS[raw.rule] !== undefined) {
    const block = BLOCKS[raw.rule]!;
    const depth = (e.context?.ruleStack ?? []).filter((r) => BLOCKS[r] !== undefined).length;
    const open = openBraces(ctx, idx);
    const brace = open.length === 0 ? undefined : open[Math.max(0, Math.min(open.length, depth) - 1)];
    const what = describeBlock(raw.rule, tokens, brace);
    const opened = brace !== undefined ? ` (opened at line ${tokens[brace]!.startLine})` : "";
    if (isStarter(actual)) {
      return make("VMSCN0102", `expected "}" to close ${what}${opened} before ${found}`);
    }
    const guess = /^[A-Za-z_]/.test(actual.image) ? closest(actual.image, block.words) : undefined;
    let hint = guess !== undefined ? `did you mean ${q(guess)}?` : unitHint(actual, previous);
    if (raw.rule === "datastoreDecl" && inSharedByList(tokens, idx)) hint = SHARED_BY_HINT;
    return make("VMSCN0101", `${unexpected(actual)} in ${what}: expected ${block.contents} or "}"`, hint);
  }

  const expected = describeExpected(raw.rule, raw.expected, previous);
  const message = `expected ${expected} after ${showPrevious(previous)}, but found ${found}`;
  if (isStarter(actual) || actual.tokenType === RCurly) return make("VMSCN0103", message);
  return make("VMSCN0101", message, unitHint(actual, previous));
}

const SHARED_BY_HINT = 'separate the hosts with commas: "shared-by a, b"';

/** Is token `idx` right after `shared-by a, b` (names and commas only)? */
function inSharedByList(tokens: IToken[], idx: number): boolean {
  for (let i = idx - 1; i >= 0; i--) {
    const tt = tokens[i]!.tokenType;
    if (tt === K["shared-by"]) return i < idx - 1;
    if (tt !== Comma && !tt.CATEGORIES?.includes(Name)) return false;
  }
  return false;
}

/** `10 Gbps`: the word after a number looks like a unit. */
function unitHint(actual: IToken, previous: IToken | undefined): string | undefined {
  if (previous === undefined || previous.tokenType !== NumberLit) return undefined;
  if (!/^[A-Za-zµμ]/.test(actual.image)) return undefined;
  const unit = suggestUnit(actual.image, false);
  return unit !== undefined ? `${q(actual.image)} is not a unit: did you mean ${q(unit)}?` : undefined;
}

/** Something at the top level that is not a top-level statement. */
function fileLevel(actual: IToken, idx: number, ctx: SyntaxContext, make: (code: DslCode, message: string, hint?: string) => Diagnostic): Diagnostic {
  const { tokens } = ctx;
  ctx.scenarios ??= tokens.flatMap((tok, i) => (tok.tokenType === K.scenario ? [i] : []));
  // the last `scenario` keyword before idx, by binary search
  let lo = 0;
  let hi = ctx.scenarios.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ctx.scenarios[mid]! < idx) lo = mid + 1;
    else hi = mid;
  }
  const last = lo > 0 ? ctx.scenarios[lo - 1]! : -1;
  const name = tokens[last + 1];
  const scenarioName = last < 0 ? undefined : name?.tokenType === Str ? `scenario ${name.image}` : "the scenario";
  const scenarioOnly = SCENARIO_ONLY.has(actual.tokenType);
  if (scenarioName !== undefined && braceParents(ctx)[idx] === -1) {
    const why = scenarioOnly
      ? `${q(actual.image)} statements belong inside the scenario block`
      : 'only "import", "use plugin" and declarations may come after it';
    return make("VMSCN0104", `${unexpected(actual)} after the end of ${scenarioName}: ${why}`);
  }
  if (scenarioOnly) {
    return make("VMSCN0101", `${q(actual.image)} is only allowed inside a scenario block`, 'write `scenario "name" { ... }` around the statements');
  }
  return make("VMSCN0101", `${unexpected(actual)}: ${TOP_CONTENTS}`);
}
