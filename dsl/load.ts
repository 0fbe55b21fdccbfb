// Reads a scenario file and the files it imports, and lays their statements out in order:
// an import is replaced by the imported file's statements, so a suite can share a platform.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { FileNode, Loc, ScenarioBlock, Statement, UsePluginStmt } from "./ast.js";
import { diag, type Diagnostic } from "./diagnostics.js";
import { parseSource } from "./parse.js";

export interface LoadedProgram {
  main: FileNode;
  /** Source text by path, for code frames. */
  sources: Map<string, string>;
  scenario: ScenarioBlock | undefined;
  /** Every statement in order, imports expanded. */
  statements: Statement[];
  plugins: UsePluginStmt[];
  diagnostics: Diagnostic[];
}

export type ReadFile = (path: string) => string;

export class SourceUnreadable extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot read ${path}: ${(cause as Error).message ?? String(cause)}`);
  }
}

export function loadProgram(path: string, read: ReadFile = (p) => readFileSync(p, "utf8")): LoadedProgram {
  const sources = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  const parsed = new Map<string, FileNode>();

  const parseFile = (p: string): FileNode => {
    const text = read(p);
    sources.set(p, text);
    const r = parseSource(text, p);
    diagnostics.push(...r.diagnostics);
    parsed.set(p, r.file);
    return r.file;
  };

  let main: FileNode;
  try {
    main = parseFile(path);
  } catch (err) {
    throw new SourceUnreadable(path, err);
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
        let file: FileNode;
        try {
          file = parsed.get(target) ?? parseFile(target);
        } catch (err) {
          diagnostics.push(diag("VMSCN0217", `cannot import "${s.path.value}": ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, s.path.loc, "validate", `paths are relative to ${shortName(from)}`));
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
