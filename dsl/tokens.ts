// The tokens of the scenario language (docs/language.md, "Lexical structure").
//
// Keywords are soft: each keyword token also belongs to the `Name` category, so the parser
// accepts it wherever a name is expected (a VM may be called `memory`, `web.memory` is a
// path). Narrower categories keep the grammar LL(1) where a word could also begin the next
// construct: `AtomWord` (a word inside an action: statement keywords end the action),
// `VerbWord` (the same plus `link`, a kernel verb) and `ExprWord` (the head of a reference:
// `not` is the operator). `NotBrace` lets the parser skip an unknown statement's braces.
import { createToken, Lexer, type TokenType } from "chevrotain";
import { UNITS } from "../core/units.js";

// ---- categories -------------------------------------------------------------------------

export const Name = createToken({ name: "Name", pattern: Lexer.NA, label: "a name" });
export const AtomWord = createToken({ name: "AtomWord", pattern: Lexer.NA, label: "a word" });
export const VerbWord = createToken({ name: "VerbWord", pattern: Lexer.NA, label: "a verb" });
export const ExprWord = createToken({ name: "ExprWord", pattern: Lexer.NA, label: "a reference" });
export const CmpOp = createToken({ name: "CmpOp", pattern: Lexer.NA, label: "a comparison" });
export const AddOp = createToken({ name: "AddOp", pattern: Lexer.NA, label: '"+" or "-"' });
export const MulOp = createToken({ name: "MulOp", pattern: Lexer.NA, label: '"*" or "/"' });
/** Every token but "{" and "}": the contents of a block the parser skips as a whole. */
export const NotBrace = createToken({ name: "NotBrace", pattern: Lexer.NA, label: "anything but a brace" });

// ---- trivia -----------------------------------------------------------------------------

export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n\f\v\uFEFF\u00A0]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
// Front matter is read from the source text itself (front-matter.ts), so comments are skipped.
export const Comment = createToken({
  name: "Comment",
  pattern: /(?:#|\/\/)[^\r\n]*/,
  group: Lexer.SKIPPED,
  line_breaks: false,
  start_chars_hint: ["#", "/"],
});

// ---- literals ---------------------------------------------------------------------------

const NUMBER = String.raw`\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?`;
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Units a quantity may carry: core/units.ts, plus `µs` (both micro signs) for `us`. */
export const UNIT_NAMES: readonly string[] = Object.keys(UNITS);
export const UNIT_ALIASES: Readonly<Record<string, string>> = { "µs": "us", "μs": "us" };
// Longest first, so `pages/s` wins over `pages` and `ms` over `s`.
const unitAlternatives = [...UNIT_NAMES, ...Object.keys(UNIT_ALIASES)]
  .filter((u) => u !== "%")
  .sort((a, b) => b.length - a.length)
  .map(escapeRe)
  .join("|");

const DIGITS = "0123456789".split("");

/**
 * A number, optional blanks (not line breaks) and a unit that is not followed by an identifier
 * character: `64 GiB`, `300ms`, `10 Gbit/s`, `25%`, `5 pages`.
 */
export const Quantity = createToken({
  name: "Quantity",
  categories: [NotBrace],
  pattern: new RegExp(`${NUMBER}[ \\t]*(?:(?:${unitAlternatives})(?![A-Za-z0-9_-])|%)`),
  label: 'a quantity such as "64 GiB"',
  line_breaks: false,
  start_chars_hint: DIGITS,
});

/**
 * A number glued to letters that are not a unit (`300msec`): reported as VMSCN0003, then
 * parsed as a quantity so that one typo does not cascade into parse errors. The lookahead
 * keeps an exponent (`1e5`) out of it.
 */
export const BadQuantity = createToken({
  name: "BadQuantity",
  pattern: new RegExp(`${NUMBER}(?![eE][+-]?\\d+(?![A-Za-z_]))[A-Za-zµμ][A-Za-z0-9_-]*(?:/[A-Za-z]+)?`),
  categories: [Quantity, NotBrace],
  line_breaks: false,
  start_chars_hint: DIGITS,
});

export const NumberLit = createToken({
  name: "NumberLit",
  categories: [NotBrace],
  pattern: new RegExp(NUMBER),
  label: "a number",
  line_breaks: false,
  start_chars_hint: DIGITS,
});

export const Str = createToken({
  name: "Str",
  categories: [NotBrace],
  pattern: /"(?:[^"\\\r\n]|\\.)*"/,
  label: "a string",
  line_breaks: false,
  start_chars_hint: ['"'],
});

/** A string that reaches the end of its line: VMSCN0002, then parsed as a string. */
export const UnterminatedStr = createToken({
  name: "UnterminatedStr",
  pattern: /"(?:[^"\\\r\n]|\\.)*\\?/,
  categories: [Str, NotBrace],
  line_breaks: false,
  start_chars_hint: ['"'],
});

export const Identifier = createToken({
  name: "Identifier",
  pattern: /[A-Za-z_][A-Za-z0-9_-]*/,
  categories: [Name, AtomWord, VerbWord, ExprWord, NotBrace],
  label: "a name",
});

// ---- keywords ---------------------------------------------------------------------------

/** Words that begin a statement of the scenario block: with TOP_KEYWORDS, they end an action's atoms. */
export const STATEMENT_KEYWORDS = ["at", "expect", "run", "seed", "tick", "host", "link", "datastore", "vm"] as const;
/** Statements of the file level. */
export const TOP_KEYWORDS = ["scenario", "import", "use"] as const;

const KEYWORD_WORDS = [
  ...STATEMENT_KEYWORDS,
  ...TOP_KEYWORDS,
  "plugin",
  "until",
  "done",
  "cpus",
  "memory",
  "nic",
  "rdma",
  "nodes",
  "vmm",
  "hypercalls",
  "bandwidth",
  "latency",
  "shared-by",
  "on",
  "iops",
  "vcpus",
  "disk",
  "device-state",
  "mac",
  "boot",
  "init",
  "app-launch",
  "guest",
  "usage",
  "initial",
  "workload",
  "writes",
  "reads",
  "content",
  "write-size",
  "write-offset",
  "trace",
  "zero",
  "image",
  "random",
  "compressible",
  "uniform",
  "sequential",
  "zipf",
  "over",
  "paced",
  "catch-up",
  "and",
  "or",
  "not",
  "within",
  "of",
] as const;

export type Keyword = (typeof KEYWORD_WORDS)[number];

function keywordCategories(word: string): TokenType[] {
  const cats = [Name, NotBrace];
  const statement = (STATEMENT_KEYWORDS as readonly string[]).includes(word) || (TOP_KEYWORDS as readonly string[]).includes(word);
  if (!statement) cats.push(AtomWord);
  // `link a<->b down` is a kernel verb; the other statement keywords cannot be verbs.
  if (!statement || word === "link") cats.push(VerbWord);
  if (word !== "not") cats.push(ExprWord);
  return cats;
}

/** Token type of each keyword, by its text: `K.host`, `K["shared-by"]`. */
export const K: Readonly<Record<Keyword, TokenType>> = Object.fromEntries(
  KEYWORD_WORDS.map((word) => [
    word,
    createToken({
      name: `Kw_${word.replace(/-/g, "_")}`,
      pattern: new RegExp(escapeRe(word)),
      longer_alt: Identifier,
      categories: keywordCategories(word),
      label: `"${word}"`,
      line_breaks: false,
      start_chars_hint: [word[0]!],
    }),
  ]),
) as Record<Keyword, TokenType>;

// ---- punctuation and operators ----------------------------------------------------------

const punct = (name: string, pattern: string, categories?: TokenType[]): TokenType =>
  createToken({
    name,
    pattern: new RegExp(escapeRe(pattern)),
    label: `"${pattern}"`,
    line_breaks: false,
    start_chars_hint: [pattern[0]!],
    categories: pattern === "{" || pattern === "}" ? (categories ?? []) : [...(categories ?? []), NotBrace],
  });

export const LinkArrow = punct("LinkArrow", "<->");
export const DotDot = punct("DotDot", "..");
export const LCurly = punct("LCurly", "{");
export const RCurly = punct("RCurly", "}");
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const Comma = punct("Comma", ",");
export const Colon = punct("Colon", ":");
export const Dot = punct("Dot", ".");
export const EqEq = punct("EqEq", "==", [CmpOp]);
export const NotEq = punct("NotEq", "!=", [CmpOp]);
export const LessEq = punct("LessEq", "<=", [CmpOp]);
export const GreaterEq = punct("GreaterEq", ">=", [CmpOp]);
export const Less = punct("Less", "<", [CmpOp]);
export const Greater = punct("Greater", ">", [CmpOp]);
export const Plus = punct("Plus", "+", [AddOp]);
export const Minus = punct("Minus", "-", [AddOp]);
export const Star = punct("Star", "*", [MulOp]);
export const Slash = punct("Slash", "/", [MulOp]);

// Longer keywords first: `pages`-like prefixes and `vcpus` must not lose to a shorter keyword.
const keywordTokens = [...KEYWORD_WORDS].sort((a, b) => b.length - a.length).map((w) => K[w]);

/** In matching order: the lexer takes the first pattern that matches. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  Quantity,
  BadQuantity,
  NumberLit,
  Str,
  UnterminatedStr,
  ...keywordTokens,
  Identifier,
  LinkArrow,
  DotDot,
  LCurly,
  RCurly,
  LParen,
  RParen,
  Comma,
  Colon,
  Dot,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  Plus,
  Minus,
  Star,
  Slash,
  // Categories (pattern NA): never matched by the lexer, but both lexer and parser must know them.
  Name,
  AtomWord,
  VerbWord,
  ExprWord,
  CmpOp,
  AddOp,
  MulOp,
  NotBrace,
];
