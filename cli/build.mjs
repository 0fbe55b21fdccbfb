// Builds the package (`npm run build`):
// - dist/vmscn.js: the `vmscn` command;
// - dist/index.js: the public API, `import ... from "vmscn"` (core/api.ts);
// - dist/testing.js: `import { PluginTester } from "vmscn/testing"` (app/testing/index.ts);
// - dist/types/: their type declarations (tsc), reached through package.json "exports".
//
// The three entry points are one esbuild build with code splitting, so what they share (the
// kernel, tsyringe) lives in shared chunks: a plugin package that imports "vmscn" gets the
// very classes and constants the command runs with (one VmscnError, one tsyringe), not copies.
// esbuild stays external because the command uses it at run time to compile users' .ts
// plugins; tap because PluginTester imports the test file's own tap when tap runs the file.
import { build } from "esbuild";
import { chmodSync, rmSync } from "node:fs";
import ts from "typescript";

const ENTRIES = { vmscn: "cli/main.ts", index: "core/api.ts", testing: "app/testing/index.ts" };

rmSync("dist", { recursive: true, force: true });

await build({
  entryPoints: ENTRIES,
  bundle: true,
  splitting: true,
  platform: "node",
  target: "node20",
  format: "esm",
  external: ["esbuild", "vega", "vega-lite", "tap"],
  sourcemap: true,
  outdir: "dist",
  chunkNames: "chunks/[name]-[hash]",
  // The shebang serves dist/vmscn.js (the bin); in the other files it is a comment Node skips.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __vmscnCreateRequire } from 'node:module'; const require = __vmscnCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
chmodSync("dist/vmscn.js", 0o755);

// Declarations of the public entry points (and of the internal files their types mention,
// which the package's "exports" keep out of reach: only the entries' names are importable).
const program = ts.createProgram([ENTRIES.index, ENTRIES.testing], {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ["lib.es2022.d.ts"],
  types: ["node"],
  strict: true,
  experimentalDecorators: true,
  esModuleInterop: true,
  skipLibCheck: true,
  isolatedModules: true,
  declaration: true,
  emitDeclarationOnly: true,
  rootDir: ".",
  outDir: "dist/types",
});
const emitted = program.emit();
// Only what breaks the declarations fails the build: type errors are `npm run typecheck`'s to
// report (and one in a plugin the graph reaches must not stop the package from building).
const problems = [...program.getOptionsDiagnostics(), ...program.getSyntacticDiagnostics(), ...emitted.diagnostics];
if (problems.length > 0) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => "\n" };
  process.stderr.write(ts.formatDiagnostics(problems, host));
  process.exit(1);
}
