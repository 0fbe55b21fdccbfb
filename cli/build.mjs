// Bundles the `vmscn` command to dist/vmscn.js (esbuild; esbuild itself stays external
// because the CLI uses it at run time to compile users' .ts plugins).
import { build } from "esbuild";
import { chmodSync } from "node:fs";

await build({
  entryPoints: ["cli/main.ts"],
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  external: ["esbuild", "vega", "vega-lite"],
  sourcemap: true,
  outfile: "dist/vmscn.js",
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __vmscnCreateRequire } from 'node:module'; const require = __vmscnCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
chmodSync("dist/vmscn.js", 0o755);
