// --shard i/n: parsing with clear errors, and disjoint shards that cover the suite.
import t from "tap";
import { UsageError } from "../../../cli/args.js";
import { parseShard, selectShard } from "../../../cli/shard.js";

t.test("parsing", (t) => {
  t.same(parseShard("1/4"), { index: 1, count: 4 });
  t.same(parseShard(" 4 / 4 "), { index: 4, count: 4 });
  t.same(parseShard("1/1"), { index: 1, count: 1 });
  const bad: [string, string][] = [
    ["3/2", "--shard 3/2: i must be between 1 and n"],
    ["0/2", "--shard 0/2: i must be between 1 and n"],
    ["1/0", "--shard 1/0: n must be at least 1"],
    ["0/0", "--shard 0/0: n must be at least 1"],
    ["2", "--shard 2: expected i/n, for example --shard 1/4"],
    ["a/b", "--shard a/b: expected i/n, for example --shard 1/4"],
    ["-1/2", "--shard -1/2: expected i/n, for example --shard 1/4"],
    ["1.5/2", "--shard 1.5/2: expected i/n, for example --shard 1/4"],
    ["", "--shard : expected i/n, for example --shard 1/4"],
    ["1/99999999999999999999", "--shard 1/99999999999999999999: n must be at least 1"],
  ];
  for (const [text, message] of bad) t.throws(() => parseShard(text), new UsageError(message), text);
  let thrown: unknown;
  try {
    parseShard("3/2");
  } catch (e) {
    thrown = e;
  }
  t.ok(thrown instanceof UsageError, "a usage error: exit code 2");
  t.end();
});

t.test("file k of the sorted list goes to shard (k mod n) + 1", (t) => {
  const files = ["c.vmscn", "a.vmscn", "e.vmscn", "b.vmscn", "d.vmscn", "B.vmscn"];
  // Sorted by code units: "B" < "a".
  t.same(selectShard(files, undefined), ["B.vmscn", "a.vmscn", "b.vmscn", "c.vmscn", "d.vmscn", "e.vmscn"]);
  t.same(selectShard(files, { index: 1, count: 4 }), ["B.vmscn", "d.vmscn"]);
  t.same(selectShard(files, { index: 2, count: 4 }), ["a.vmscn", "e.vmscn"]);
  t.same(selectShard(files, { index: 3, count: 4 }), ["b.vmscn"]);
  t.same(selectShard(files, { index: 4, count: 4 }), ["c.vmscn"]);
  t.same(selectShard(files, { index: 1, count: 1 }), selectShard(files, undefined));
  t.same(selectShard(["x", "x", "y"], { index: 2, count: 2 }), ["y"], "a file given twice counts once");
  t.same(selectShard([], { index: 1, count: 3 }), []);
  t.end();
});

t.test("shards are disjoint, cover everything, and do not depend on input order", (t) => {
  const files = Array.from({ length: 103 }, (_, i) => `conformance/${String((i * 37) % 103).padStart(3, "0")}-case.vmscn`);
  for (const n of [1, 2, 3, 7, 103, 200]) {
    const shards = Array.from({ length: n }, (_, i) => selectShard(files, { index: i + 1, count: n }));
    const all = shards.flat();
    t.equal(all.length, files.length, `n=${n}: every file once`);
    t.same([...all].sort(), [...files].sort(), `n=${n}: the whole suite`);
    const sizes = shards.map((s) => s.length);
    t.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n}: sizes differ by at most one`);
    t.same(selectShard([...files].reverse(), { index: 1, count: n }), shards[0], `n=${n}: input order does not matter`);
  }
  t.end();
});
