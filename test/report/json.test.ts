import t from "tap";
import { buildReport, stableStringify } from "../../core/report/json.js";
import { VmscnError } from "../../core/errors.js";
import { nameTable } from "../../core/report/table.js";

t.test("keys are sorted recursively; arrays keep their order", (t) => {
  const value = { b: 1, a: { d: [3, 1, 2], c: { z: true, y: null } } };
  t.equal(
    stableStringify(value),
    `{
  "a": {
    "c": {
      "y": null,
      "z": true
    },
    "d": [
      3,
      1,
      2
    ]
  },
  "b": 1
}`,
  );
  t.equal(stableStringify(value, 0), `{"a":{"c":{"y":null,"z":true},"d":[3,1,2]},"b":1}`);
  t.equal(stableStringify({ a: [1, { y: 2, x: 1 }] }, 4), `{\n    "a": [\n        1,\n        {\n            "x": 1,\n            "y": 2\n        }\n    ]\n}`);
  t.end();
});

t.test("objects built in different insertion orders give the same bytes", (t) => {
  const one: Record<string, unknown> = {};
  const two: Record<string, unknown> = {};
  const keys = ["ram", "status", "downtime", "total-time", "setup-time", "10", "2", "Z", "a"];
  for (const k of keys) one[k] = { x: k.length, w: [k] };
  for (const k of [...keys].reverse()) two[k] = { w: [k], x: k.length };
  const a = stableStringify(one);
  t.equal(a, stableStringify(two));
  // Integer-like keys sort as strings too, not first as JavaScript enumerates them.
  const topKeys = [...a.matchAll(/^ {2}"([^"]+)":/gm)].map((m) => m[1]);
  t.same(topKeys, ["10", "2", "Z", "a", "downtime", "ram", "setup-time", "status", "total-time"]);
  t.equal(stableStringify(new Map([["b", 1], ["a", 2]])), stableStringify(new Map([["a", 2], ["b", 1]])));
  t.end();
});

t.test("numbers: integers as integers, floats shortest, non-finite as null", (t) => {
  t.equal(stableStringify([1, 1.0, -0, 0.1, 1.5e-7, 2 ** 53, 1e21, -1e22, 123456789.125], 0), "[1,1,0,0.1,1.5e-7,9007199254740992,1000000000000000000000,-10000000000000000000000,123456789.125]");
  t.equal(stableStringify({ nan: NaN, inf: Infinity, ninf: -Infinity }, 0), `{"inf":null,"nan":null,"ninf":null}`);
  t.equal(stableStringify(NaN), "null");
  t.equal(stableStringify(12n), "12");
  t.end();
});

t.test("typed arrays, Maps, Sets, toJSON and values JSON leaves out", (t) => {
  t.equal(stableStringify(new Float64Array([1, 2.5, NaN]), 0), "[1,2.5,null]");
  t.equal(stableStringify(new Uint8Array([7, 8]), 0), "[7,8]");
  t.equal(stableStringify(new BigInt64Array([5n]), 0), "[5]");
  t.equal(stableStringify(new Uint32Array(0), 2), "[]");
  t.equal(stableStringify(new Map<unknown, unknown>([[2, "two"], ["1", { b: 1, a: 2 }]]), 0), `{"1":{"a":2,"b":1},"2":"two"}`);
  t.equal(stableStringify(new Set(["b", "a"]), 0), `["b","a"]`);
  t.equal(stableStringify({ when: { toJSON: (key: string) => `key ${key}` } }, 0), `{"when":"key when"}`);
  t.equal(stableStringify({ a: undefined, f: () => 1, s: Symbol("s"), b: 1 }, 0), `{"b":1}`);
  t.equal(stableStringify([undefined, () => 1], 0), "[null,null]");
  t.equal(stableStringify(undefined), "null");
  t.equal(stableStringify({}), "{}");
  t.equal(stableStringify([]), "[]");
  t.equal(stableStringify("a\"b\n"), `"a\\"b\\n"`);
  t.equal(stableStringify(false), "false");
  t.end();
});

t.test("a cycle is a TypeError; shared (non-cyclic) objects are fine", (t) => {
  const shared = { x: 1 };
  t.equal(stableStringify({ a: shared, b: shared }, 0), `{"a":{"x":1},"b":{"x":1}}`);
  const loop: Record<string, unknown> = { a: 1 };
  loop.self = { again: loop };
  t.throws(() => stableStringify(loop), new TypeError('stableStringify: the value contains a cycle (at key "again")'));
  t.end();
});

t.test("buildReport puts the schema and kernel versions in the header", (t) => {
  const report = buildReport({
    scenario: "scenarios/examples/precopy.vmscn",
    seed: 7,
    simulatedTimeNs: 12_500_000_000,
    sections: { migration: { status: "completed", downtime: 31 }, ksm: { pages_shared: 3 } },
  });
  t.same(report, {
    schema: "vmscn.report/2",
    kernel: "1.0.0",
    scenario: "scenarios/examples/precopy.vmscn",
    seed: 7,
    simulatedTimeNs: 12_500_000_000,
    migration: { status: "completed", downtime: 31 },
    ksm: { pages_shared: 3 },
  });
  t.equal(
    stableStringify(report, 0),
    `{"kernel":"1.0.0","ksm":{"pages_shared":3},"migration":{"downtime":31,"status":"completed"},"scenario":"scenarios/examples/precopy.vmscn","schema":"vmscn.report/2","seed":7,"simulatedTimeNs":12500000000}`,
  );
  const err = t.throws(() => buildReport({ scenario: "s", seed: 1, simulatedTimeNs: 0, sections: { seed: 3 } })) as unknown as VmscnError;
  t.equal(err.code, "VMSCN6008");
  t.equal(err.message, 'report section "seed" has the name of a report header field (schema, kernel, scenario, seed, simulatedTimeNs); rename the metric group');
  t.end();
});

t.test("a table keyed by names such as __proto__, constructor or toJSON keeps them all, as JSON.stringify does", (t) => {
  const table = nameTable<unknown>([
    ["__proto__", { host: "a" }],
    ["constructor", { host: "b" }],
    ["toJSON", { host: "c" }],
    ["web", 1],
  ]);
  const text = stableStringify(table, 0);
  t.equal(text, '{"__proto__":{"host":"a"},"constructor":{"host":"b"},"toJSON":{"host":"c"},"web":1}');
  // The same keys as the built-in stringifier, which emits an own __proto__ too.
  t.same(Object.keys(JSON.parse(JSON.stringify(table))).sort(), Object.keys(JSON.parse(text)).sort());
  t.ok(Object.hasOwn(JSON.parse(text), "__proto__"));
  // A Map and an own property made by defineProperty on a plain object are written alike.
  t.equal(stableStringify(new Map([["__proto__", 1]]), 0), '{"__proto__":1}');
  const plain = Object.defineProperty({}, "__proto__", { value: 2, enumerable: true });
  t.equal(stableStringify(plain, 0), '{"__proto__":2}');
  t.equal(Object.getPrototypeOf(nameTable()), null, "no prototype: nothing inherited answers a name");
  t.equal(nameTable()["constructor"], undefined);
  t.end();
});
