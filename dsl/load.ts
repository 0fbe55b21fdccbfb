// Reads a scenario file and the files it imports, and lays their statements out in order:
// an import is replaced by the imported file's statements, so a suite can share a platform.
// Which files may be read is the reader's business (app/fs-policy.ts); what is done with
// their text is decided here: a file that does not look like a scenario is never parsed
// into code frames, so a diagnostic cannot quote it.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { FileNode, Loc, ScenarioBlock, Statement, UsePluginStmt } from "./ast.js";
import { diag, hasErrors, type Diagnostic, type DslCode } from "./diagnostics.js";
import { parseSource } from "./parse.js";

export interface LoadedProgram {
  main: FileNode;
  /** Source text by path, for code frames: scenario files only. */
  sources: Map<string, string>;
  scenario: ScenarioBlock | undefined;
  /** Every statement in order, imports expanded. */
  statements: Statement[];
  plugins: UsePluginStmt[];
  diagnostics: Diagnostic[];
}

/** A file's text, and the real path it was read from (links resolved) when the reader knows it. */
export interface SourceText {
  text: string;
  realPath: string;
}

export type ReadFile = (path: string) => string | SourceText;

/** A file a reader will not read for a scenario (outside its folders, a FIFO, too large, ...). */
export class ReadRefused extends Error {
  constructor(
    readonly code: DslCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export class SourceUnreadable extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot read ${path}: ${(cause as Error).message ?? String(cause)}${cause instanceof ReadRefused ? ` (${cause.code})` : ""}`);
  }
}

/** Imports nest at most this deep (a platform importing a platform is 2): loading recurses. */
export const MAX_IMPORT_DEPTH = 32;

const NOT_SHOWN = "vmscn never shows the text of a file that does not look like a scenario";

/** Why `text` cannot be a scenario's (NUL characters: binary or UTF-16), or undefined. */
export function notText(text: string): string | undefined {
  if (!text.includes("\0")) return undefined;
  // UTF-16 of ASCII read as UTF-8: every other character is a NUL (after a byte-order mark,
  // which decodes as U+FEFF or two U+FFFD).
  const body = text.replace(/^(\uFEFF|\uFFFD\uFFFD)/, "").slice(0, 64);
  let le = 0;
  let be = 0;
  for (let i = 0; i + 1 < body.length; i += 2) {
    if (body[i] !== "\0" && body[i + 1] === "\0") le++;
    if (body[i] === "\0" && body[i + 1] !== "\0") be++;
  }
  const pairs = Math.floor(body.length / 2);
  if (pairs > 0 && Math.max(le, be) >= pairs * 0.9) return "it looks like UTF-16 text; vmscn reads UTF-8 (save the file as UTF-8)";
  return "it is not text (it has NUL bytes)";
}

export function loadProgram(path: string, read: ReadFile = (p) => readFileSync(p, "utf8")): LoadedProgram {
  const sources = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  const parsed = new Map<string, FileNode>();

  /** Reads and parses a file; ReadRefused when it is no scenario (its text is then dropped). */
  const parseFile = (p: string): FileNode => {
    const got = read(p);
    const text = typeof got === "string" ? got : got.text;
    const why = notText(text);
    if (why !== undefined) throw new ReadRefused("VMSCN0244", why, NOT_SHOWN);
    const r = parseSource(text, p);
    // A .vmscn file is the user's scenario and its errors are shown with their lines; any other
    // file that does not parse (/etc/passwd, a key; a link named .vmscn to one) is reported
    // without a word of its text.
    const isScenarioFile = p.endsWith(".vmscn") && (typeof got === "string" || got.realPath.endsWith(".vmscn"));
    if (hasErrors(r.diagnostics) && !isScenarioFile) {
      throw new ReadRefused("VMSCN0244", `it does not look like a scenario: it is not a .vmscn file, and it does not parse`, NOT_SHOWN);
    }
    sources.set(p, text);
    diagnostics.push(...r.diagnostics);
    parsed.set(p, r.file);
    return r.file;
  };

  let main: FileNode;
  try {
    main = parseFile(path);
  } catch (err) {
    if (!(err instanceof ReadRefused) || err.code !== "VMSCN0244") throw new SourceUnreadable(path, err);
    // Read, but no scenario: one diagnostic for the whole file, and no code frame.
    diagnostics.push(diag(err.code, `${shortName(path)}: ${err.message}`, fileLoc(path), "parse", err.hint));
    main = parseSource("", path).file;
    return { main, sources, scenario: undefined, statements: [], plugins: [], diagnostics };
  }

  const statements: Statement[] = [];
  const plugins: UsePluginStmt[] = [];
  const included = new Set<string>([path]);

  const expand = (list: readonly Statement[], from: string, stack: string[]): void => {
    for (const s of list) {
      if (s.type === "import") {
        const target = resolve(dirname(from), s.path.value);
        if (stack.includes(target)) {
          diagnostics.push(diag("VMSCN0217", `import cycle: ${[...stack, target].map((f) => shortName(f)).join(" → ")}`, s.path.loc, "validate"));
          continue;
        }
        if (included.has(target)) continue; // a diamond: the platform is already in
        // Loading recurses once per level: a chain of thousands of files would overflow the stack.
        if (stack.length > MAX_IMPORT_DEPTH) {
          diagnostics.push(diag("VMSCN0245", `cannot import "${s.path.value}": imports nest more than ${MAX_IMPORT_DEPTH} deep here`, s.path.loc, "validate", "import the shared platform files from the scenario itself instead of from each other"));
          continue;
        }
        let file: FileNode;
        try {
          file = parsed.get(target) ?? parseFile(target);
        } catch (err) {
          if (err instanceof ReadRefused) {
            diagnostics.push(diag(err.code, `cannot import "${s.path.value}": ${err.message}`, s.path.loc, "validate", err.hint));
          } else {
            diagnostics.push(diag("VMSCN0217", `cannot import "${s.path.value}": ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, s.path.loc, "validate", `paths are relative to ${shortName(from)}`));
          }
          continue;
        }
        included.add(target);
        if (file.scenarios.length > 0) {
          diagnostics.push(diag("VMSCN0217", `"${s.path.value}" has a scenario block: only platform files (declarations) can be imported`, s.path.loc, "validate"));
          continue;
        }
        expand(file.topLevel, target, [...stack, target]);
      } else if (s.type === "use-plugin") {
        plugins.push(s);
      } else {
        statements.push(s);
      }
    }
  };

  expand(main.topLevel, path, [path]);
  if (main.scenarios.length === 0) {
    diagnostics.push(diag("VMSCN0216", `${shortName(path)} has no scenario block: write scenario "name" { ... }`, main.loc, "validate"));
  }
  for (const extra of main.scenarios.slice(1)) {
    diagnostics.push(diag("VMSCN0216", `a file holds one scenario block; this second one ("${extra.name.value}") is not allowed`, extra.name.loc, "validate"));
  }
  const scenario = main.scenarios[0];
  if (scenario) expand(scenario.body, path, [path]);
  return { main, sources, scenario, statements, plugins, diagnostics };
}

function shortName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

/** A location for problems that belong to a whole file (no better place). */
export function fileLoc(file: string): Loc {
  return { file, line: 1, column: 1, endLine: 1, endColumn: 1, start: 0, end: 0 };
}
