// `sequential over P%` and an activity's pace (`paced`, `catch-up`): syntax, the plan they
// make, and the diagnostics of what they refuse.
import "reflect-metadata";
import t from "tap";
import type { VmDecl } from "../../dsl/ast.js";
import { parseSource } from "../../dsl/parse.js";
import { scenarioBody } from "./syntax/helpers.js";
import { check, diagnosticsOf, files, scenario } from "./validate/helpers.js";

const q = (value: number, unit?: string) => ({ kind: "quantity", value, unit });

t.test("the AST: a sequential working set and a pace after any pattern", (t) => {
  const [vm] = scenarioBody(
    t,
    `vm web on a { workload {
  writes 5000 pages/s sequential over 25% paced
  reads 100 pages/s uniform catch-up
  writes 10 pages/s zipf 0.9 over 10% catch-up
  writes 1 pages/s sequential
  disk writes 1 MB/s sequential over 5% paced
} }`,
  ) as VmDecl[];
  const w = vm!.workload!;
  t.match(w.activities, [
    { op: "write", rate: q(5000, "pages/s"), pattern: { kind: "sequential", over: q(25, "%") }, pace: { value: "paced", loc: { line: 3, column: 43 } } },
    { op: "read", pattern: { kind: "uniform" }, pace: { value: "catch-up" } },
    { op: "write", pattern: { kind: "zipf", skew: q(0.9), over: q(10, "%") }, pace: { value: "catch-up" } },
    { op: "write", pattern: { kind: "sequential" } },
  ]);
  t.equal(w.activities[3]!.pattern.over, undefined);
  t.equal(w.activities[3]!.pace, undefined);
  t.match(w.disk, [{ op: "write", pattern: { kind: "sequential", over: q(5, "%") }, pace: { value: "paced" } }]);
  t.end();
});

t.test("the new words are soft keywords, and `sequential over` needs its percentage", (t) => {
  const [h, v] = scenarioBody(t, "host paced { cpus 1 }\nvm catch-up on paced { }") as VmDecl[];
  t.equal((h as unknown as VmDecl).name.text, "paced");
  t.equal(v!.name.text, "catch-up");
  t.equal(v!.host.text, "paced");
  const r = parseSource('scenario "s" {\n  vm v on a { workload { writes 1 pages/s sequential over } }\n}\n', "t.vmscn");
  t.same(
    r.diagnostics.map((d) => `${d.code} ${d.loc.line}:${d.loc.column}`),
    ["VMSCN0103 2:59"],
  );
  t.match(r.diagnostics[0]!.message, /expected a percentage such as "25%" after "over"/);
  t.end();
});

t.test("the plan: `over` as a fraction and the pace, left out where not written", async (t) => {
  const c = await check(
    files({
      "t.vmscn": scenario(`  vm db on a { vcpus 1  memory 64 MiB  workload {
    writes 5000 pages/s sequential over 25% catch-up
    writes 10 pages/s sequential paced
    reads 10 pages/s uniform
  } }`),
    }),
  );
  t.same(c.diagnostics, []);
  const db = c.plan!.vms.find((v) => v.name === "db")!;
  t.same(db.workload!.activities, [
    { op: "write", rate: 5000, pattern: { kind: "sequential", over: 0.25 }, pace: "catch-up" },
    { op: "write", rate: 10, pattern: { kind: "sequential" }, pace: "paced" },
    { op: "read", rate: 10, pattern: { kind: "uniform" } },
  ]);
});

t.test("a sequential working set follows zipf's range rules; disk IO takes neither `over` nor a pace", async (t) => {
  const ds = await diagnosticsOf(
    scenario(`  vm db on a { vcpus 1  memory 64 MiB  disk san 1 GiB  workload {
    writes 1 pages/s sequential over 0%
    writes 1 pages/s sequential over 150%
    writes 1 pages/s sequential over 5 s
    writes 1 pages/s zipf 0.9 over 0%
    disk writes 1 MB/s sequential over 10%
    disk reads 1 MB/s uniform catch-up
  } }`),
  );
  t.same(
    ds.map((d) => `${d.code} ${d.line}:${d.column} ${d.message}${d.hint ? ` | ${d.hint}` : ""}`),
    [
      'VMSCN0212 9:38 the sequential working set of the writes of VM "db" must be at least 1e-9 (got 0 %)',
      'VMSCN0212 10:38 the sequential working set of the writes of VM "db" must be at most 1 (got 150 %)',
      'VMSCN0210 11:38 the sequential working set of the writes of VM "db" needs a percentage, such as 25%, but 5 s is a time',
      'VMSCN0212 12:36 the zipf working set of the writes of VM "db" must be at least 1e-9 (got 0 %)',
      'VMSCN0213 13:40 the disk writes of VM "db" sweep the whole disk: "over" is for guest memory activities | remove "over 10%"',
      'VMSCN0213 14:31 the disk reads of VM "db" take no pace: guest disk IO issues its rate while the VM runs, up to its queue depth, and drops what it cannot | "paced" and "catch-up" are for guest memory activities; remove "catch-up"',
    ],
  );
});
