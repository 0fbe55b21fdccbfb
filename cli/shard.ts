// `vmscn test --shard i/n`: splits a suite over n machines (CI jobs, batch tasks). Every machine
// sorts the same file list the same way and keeps every n-th file, so shards are disjoint, cover
// the suite, and differ in size by at most one file.
import { UsageError } from "./args.js";

export interface Shard {
  /** 1-based: the first shard is 1/n. */
  readonly index: number;
  readonly count: number;
}

/** Parses `i/n`; anything else is a UsageError quoting the option as given. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UsageError(`--shard ${text}: expected i/n, for example --shard 1/4`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new UsageError(`--shard ${text}: n must be at least 1`);
  if (!Number.isSafeInteger(index) || index < 1 || index > count) throw new UsageError(`--shard ${text}: i must be between 1 and n`);
  return { index, count };
}

/** Code-unit order: the same on every machine, whatever its locale (names are unique here). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : 1;
}

/**
 * The files of `shard`, in sorted order: file k of the sorted list (0-based) goes to shard
 * (k mod n) + 1. Duplicates count once. Without a shard, all of them.
 */
export function selectShard(files: readonly string[], shard: Shard | undefined): string[] {
  const sorted = [...new Set(files)].sort(byCodeUnits);
  if (shard === undefined) return sorted;
  return sorted.filter((_, k) => k % shard.count === shard.index - 1);
}
