// A small argument parser: `--flag`, `--opt value`, `--opt=value`, repeated options, positionals.
import { statSync } from "node:fs";
import { resolve } from "node:path";

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string[]>;
  flags: Set<string>;
}

export class UsageError extends Error {}

export function parseArgs(argv: string[], withValue: readonly string[], flags: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { positionals: [], options: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--") || a === "-") {
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (flags.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.flags.add(name);
    } else if (withValue.includes(name)) {
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      out.options.set(name, [...(out.options.get(name) ?? []), value]);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return out;
}

export function one(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

/**
 * `--max-memory 8GiB` (or bytes): the memory a run may take. Default: 80% of this machine's
 * memory, so a scenario too big is refused before it runs (VMSCN0223).
 */
export function maxMemory(args: ParsedArgs, totalBytes: number): number {
  const text = one(args, "max-memory");
  if (text === undefined) return Math.floor(totalBytes * 0.8);
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?\s*$/.exec(text);
  const scale: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
  if (!m) throw new UsageError(`--max-memory needs a size such as 8GiB or 512MiB (got ${text})`);
  return Math.floor(Number(m[1]) * scale[m[2] ?? "B"]!);
}

/** `--allow-read DIR` (repeatable): folders a scenario may read besides its own, as absolute paths. */
export function allowRead(args: ParsedArgs, cwd = process.cwd()): string[] {
  return (args.options.get("allow-read") ?? []).map((dir) => {
    const abs = resolve(cwd, dir);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      throw new UsageError(`--allow-read needs a folder, and ${dir} does not exist`);
    }
    if (!isDir) throw new UsageError(`--allow-read needs a folder, and ${dir} is not one`);
    return abs;
  });
}
