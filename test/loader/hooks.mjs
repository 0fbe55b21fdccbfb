// Node module hooks: map `./x.js` to `./x.ts` when only the .ts exists, and transpile .ts
// with esbuild `transform` (inline source map, so coverage lines are accurate).
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

export async function resolve(specifier, context, next) {
  if (specifier.endsWith(".js") && (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("file:")) && context.parentURL) {
    const url = new URL(specifier, context.parentURL);
    if (url.protocol === "file:" && !existsSync(fileURLToPath(url))) {
      const ts = new URL(url.href.slice(0, -3) + ".ts");
      if (existsSync(fileURLToPath(ts))) return { url: ts.href, shortCircuit: true, format: "module" };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url.startsWith("file:") && url.endsWith(".ts")) {
    const path = fileURLToPath(url);
    const source = await readFile(path, "utf8");
    const out = await transform(source, {
      loader: "ts",
      format: "esm",
      target: "node20",
      sourcefile: path,
      sourcemap: "inline",
      tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
    });
    return { format: "module", source: out.code, shortCircuit: true };
  }
  return next(url, context);
}
