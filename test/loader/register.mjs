// Registers the TypeScript loader: tests, benchmarks and `npm run dev` run through the
// same transpiler (esbuild) as the shipped bundle, so decorator handling is identical.
import { register } from "node:module";
register("./hooks.mjs", import.meta.url);
