// Node module hooks: map `./x.js` to `./x.ts` when only the .ts exists, and transpile .ts
// with esbuild `transform` (inline source map, so coverage lines are accurate).
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

// The public entry points, for code in this repository that imports vmscn by name but sits
// outside its package (examples/vmscn-plugin-*: their own package.json, no node_modules): when
// Node cannot find the package, the sources stand in for the build.
const PUBLIC = { vmscn: "../../core/api.ts", "vmscn/testing": "../../app/testing/index.ts" };

export async function resolve(specifier, context, next) {
  if (Object.hasOwn(PUBLIC, specifier)) {
    try {
      return await next(specifier, context);
    } catch (err) {
      if (err?.code !== "ERR_MODULE_NOT_FOUND") throw err;
      return { url: new URL(PUBLIC[specifier], import.meta.url).href, shortCircuit: true, format: "module" };
    }
  }
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
