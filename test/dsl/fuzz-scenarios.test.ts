// Grammar-aware fuzzing of every bundled scenario (examples and conformance files): token
// mutations run through the whole front end (parse, imports, plugins, validation, the verbs'
// own checks). Only diagnostics may come out: never a throw, and every diagnostic has a known
// code and a location inside the text. Seeded, so a failure reproduces.
import "reflect-metadata";
import t from "tap";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { RandomStreams, type Random } from "../../core/sim/random.js";
import { DSL_CODES } from "../../dsl/diagnostics.js";
import { lex } from "../../dsl/lexer.js";
import { check } from "../../app/pipeline.js";

const ROOT = resolve(import.meta.dirname, "../../scenarios");
const PER_FILE = process.env["VMSCN_LONG"] === "1" ? 500 : 50;

function scenarioFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? scenarioFiles(p) : n.endsWith(".vmscn") ? [p] : [];
  });
}

function pick<T>(r: Random, xs: readonly T[]): T {
  return xs[r.int(xs.length)]!;
}

/**
 * Deletes, duplicates, swaps or inserts tokens (from the whole corpus' vocabulary), or swaps
 * a token for another of its kind (a number or quantity for a number, a word for a word), which
 * keeps the grammar and reaches validation and the verbs' own checks.
 */
function mutate(r: Random, toks: readonly string[], vocabulary: readonly string[]): string {
  const out = [...toks];
  const numeric = vocabulary.filter((v) => /^[0-9]/.test(v));
  const words = vocabulary.filter((v) => /^[a-z]/.test(v));
  for (let i = 1 + r.int(3); i > 0 && out.length > 0; i--) {
    const at = r.int(out.length);
    const op = r.int(6);
    if (op >= 4) out[at] = pick(r, /^[0-9]/.test(out[at]!) ? numeric : /^[a-z]/.test(out[at]!) ? words : vocabulary);
    else if (op === 0) out.splice(at, 1);
    else if (op === 1) out.splice(at, 0, out[at]!);
    else if (op === 2) {
      const o = r.int(out.length);
      [out[at], out[o]] = [out[o]!, out[at]!];
    } else out.splice(at, 0, pick(r, vocabulary));
  }
  return out.join(" ");
}

function tokens(text: string): string[] {
  return lex(text, "x").tokens.map((tok) => tok.image);
}

const codes = new Set(Object.keys(DSL_CODES));

t.test("mutated scenarios only ever give well-formed diagnostics", async (t) => {
  const paths = scenarioFiles(ROOT);
  t.ok(paths.length >= 20, `${paths.length} scenario files`);
  const texts = new Map(paths.map((p) => [p, readFileSync(p, "utf8")]));
  // Front matter is not tokenised by the lexer; mutants keep the body only.
  const bodies = new Map(paths.map((p) => [p, tokens(texts.get(p)!.replace(/^(#.*\n)+/, ""))]));
  const vocabulary = [...new Set([...bodies.values()].flat())];
  const r = new RandomStreams(20261122).stream("fuzz:scenarios");
  let tried = 0;
  let clean = 0;
  for (const path of paths) {
    for (let i = 0; i < PER_FILE; i++) {
      const text = mutate(r, bodies.get(path)!, vocabulary);
      const read = (p: string): string => (p === path ? text : readFileSync(p, "utf8"));
      let c;
      try {
        c = await check(path, { read });
      } catch (err) {
        t.fail(`check threw on a mutant of ${path}: ${String(err)}\n${text}`);
        return;
      }
      tried++;
      if (c.diagnostics.length === 0) clean++;
      for (const d of c.diagnostics) {
        const inText = d.loc.file !== path || (d.loc.start >= 0 && d.loc.end <= text.length && d.loc.line >= 1 && d.loc.column >= 1);
        if (!codes.has(d.code) || !inText || d.message.length === 0) {
          t.fail(`bad diagnostic ${d.code} at ${d.loc.line}:${d.loc.column} "${d.message}" on a mutant of ${path}:\n${text}`);
          return;
        }
      }
    }
  }
  t.equal(tried, paths.length * PER_FILE, `${tried} mutants checked, ${clean} of them clean`);
});
