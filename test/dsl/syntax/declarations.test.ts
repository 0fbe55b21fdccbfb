import t from "tap";
import type { DatastoreDecl, HostDecl, LinkDecl, VmDecl } from "../../../dsl/ast.js";
import { firstStatement, LANGUAGE_EXAMPLE, parseOk, scenarioBody } from "./helpers.js";

const q = (value: number, unit?: string) => ({ kind: "quantity", value, unit });

t.test("the example of docs/language.md parses completely", (t) => {
  const f = parseOk(
    t,
    LANGUAGE_EXAMPLE,
    "web.vmscn",
  );
  t.equal(f.path, "web.vmscn");
  t.same(f.frontMatter.features, ["precopy", "zipf"]);
  t.equal(f.topLevel.length, 0);
  t.equal(f.scenarios.length, 1);
  const s = f.scenarios[0]!;
  t.equal(s.name.value, "precopy-web");
  t.same(
    s.body.map((x) => x.type),
    ["seed", "host", "host", "link", "datastore", "vm", "action", "scripted", "run", "expect", "expect"],
  );
  t.match(s.loc, { file: "web.vmscn", line: 3, column: 1, endLine: 26, endColumn: 1 });
  t.equal(f.loc.start, 0);
  t.end();
});

t.test("host: cpus, memory, nic, rdma", (t) => {
  const h = firstStatement<HostDecl>(t, "  host a { cpus 16  memory 64 GiB  nic 25 Gbit/s  rdma }");
  t.equal(h.type, "host");
  t.equal(h.name.text, "a");
  t.match(h.cpus, q(16));
  t.equal(h.cpus!.unit, undefined);
  t.match(h.memory, q(64, "GiB"));
  t.match(h.nic, q(25, "Gbit/s"));
  t.ok(h.rdma);
  t.same(h.problems, []);
  // Locations: line 2 of the wrapped text, columns of the first and last characters.
  t.same(h.loc, { file: "t.vmscn", line: 2, column: 3, endLine: 2, endColumn: 56, start: 17, end: 71 });
  t.same(h.name.loc, { file: "t.vmscn", line: 2, column: 8, endLine: 2, endColumn: 8, start: 22, end: 23 });
  t.match(h.memory!.loc, { line: 2, column: 28, endColumn: 33 });
  t.match(h.rdma!.loc, { line: 2, column: 51, endColumn: 54 });
  t.end();
});

t.test("a host with no properties, and a declaration spanning lines", (t) => {
  const [a, b] = scenarioBody(t, "host a {}\nhost b {\n  cpus\n  8\n}") as HostDecl[];
  t.same(a!.problems, []);
  t.equal(a!.cpus, undefined);
  t.match(b!.cpus, q(8));
  t.match(b!.loc, { line: 3, endLine: 6 });
  t.end();
});

t.test("link: endpoints, bandwidth, latency; a<->b without blanks", (t) => {
  const l = firstStatement<LinkDecl>(t, "link a<->b { bandwidth 10 Gbit/s  latency 50 us }");
  t.equal(l.type, "link");
  t.equal(l.a.text, "a");
  t.equal(l.b.text, "b");
  t.match(l.bandwidth, q(10, "Gbit/s"));
  t.match(l.latency, q(50, "us"));
  const l2 = firstStatement<LinkDecl>(t, "link host-1 <-> host-2 { bandwidth 1 Mbit/s }");
  t.equal(l2.a.text, "host-1");
  t.equal(l2.b.text, "host-2");
  t.equal(l2.latency, undefined);
  t.end();
});

t.test("datastore: shared-by, on, bandwidth, latency, iops", (t) => {
  const [san, local] = scenarioBody(
    t,
    `datastore san   { shared-by a, b, c  bandwidth 1 GB/s  latency 100 us  iops 20000 }
datastore local { on a  bandwidth 500 MB/s }`,
  ) as DatastoreDecl[];
  t.equal(san!.type, "datastore");
  t.equal(san!.name.text, "san");
  t.same(
    san!.sharedBy!.map((n) => n.text),
    ["a", "b", "c"],
  );
  t.match(san!.bandwidth, q(1, "GB/s"));
  t.match(san!.latency, q(100, "us"));
  t.match(san!.iops, q(20000));
  t.equal(san!.on, undefined);
  t.equal(local!.on!.text, "a");
  t.match(local!.bandwidth, q(500, "MB/s"));
  t.equal(local!.sharedBy, undefined);
  t.end();
});

t.test("vm: every property", (t) => {
  const vm = firstStatement<VmDecl>(
    t,
    `vm web on a {
  vcpus 4  memory 4 GiB
  disk san 40 GiB
  disk local 2 TiB
  device-state 512 KiB
  mac "02:00:00:00:01:0a"
  boot 20 s
  initial zero 20%, image "debian-12" 30%, random 40%, compressible 10% at 60%
  workload {
    writes 20000 pages/s zipf 0.9 over 25%
    reads  80000 pages/s uniform
    writes 500 pages/s sequential
    content compressible 100%
    trace "web.trace"
  }
}`,
  );
  t.equal(vm.type, "vm");
  t.equal(vm.name.text, "web");
  t.equal(vm.host.text, "a");
  t.match(vm.vcpus, q(4));
  t.match(vm.memory, q(4, "GiB"));
  t.same(
    vm.disks.map((d) => [d.datastore.text, d.size.value, d.size.unit]),
    [
      ["san", 40, "GiB"],
      ["local", 2, "TiB"],
    ],
  );
  t.match(vm.disks[0]!.loc, { line: 4, column: 3, endColumn: 17 });
  t.match(vm.deviceState, q(512, "KiB"));
  t.match(vm.mac, { kind: "string", value: "02:00:00:00:01:0a" });
  t.match(vm.boot, q(20, "s"));
  t.match(vm.initial!.parts, [
    { kind: "zero", percent: q(20, "%") },
    { kind: "image", image: { value: "debian-12" }, percent: q(30, "%") },
    { kind: "random", percent: q(40, "%") },
    { kind: "compressible", percent: q(10, "%"), at: q(60, "%") },
  ]);
  t.match(vm.initial!.loc, { line: 9, column: 11, endColumn: 78 });
  const w = vm.workload!;
  t.match(w.activities, [
    { op: "write", rate: q(20000, "pages/s"), pattern: { kind: "zipf", skew: q(0.9), over: q(25, "%") } },
    { op: "read", rate: q(80000, "pages/s"), pattern: { kind: "uniform" } },
    { op: "write", rate: q(500, "pages/s"), pattern: { kind: "sequential" } },
  ]);
  t.equal(w.activities[1]!.pattern.skew, undefined);
  t.match(w.content!.parts, [{ kind: "compressible", percent: q(100, "%") }]);
  t.equal(w.content!.parts[0]!.at, undefined);
  t.match(w.trace, { kind: "string", value: "web.trace" });
  t.match(w.loc, { line: 10, column: 3, endLine: 16, endColumn: 3 });
  t.same(w.problems, []);
  t.same(vm.problems, []);
  t.end();
});

t.test("a VM without properties and one with an empty workload", (t) => {
  const [a, b] = scenarioBody(t, "vm a on h {}\nvm b on h { workload {} }") as VmDecl[];
  t.same(a!.disks, []);
  t.equal(a!.workload, undefined);
  t.equal(a!.initial, undefined);
  t.same(b!.workload!.activities, []);
  t.end();
});

t.test("a property given twice is recorded as a problem, and the first value kept", (t) => {
  const [h, l, d, v] = scenarioBody(
    t,
    `host a { cpus 4 memory 1 GiB cpus 8 rdma rdma nic 1 Gbit/s nic 2 Gbit/s memory 2 GiB }
link a <-> b { bandwidth 1 Gbit/s bandwidth 2 Gbit/s latency 1 us latency 2 us }
datastore s { shared-by a shared-by b on a on b bandwidth 1 GB/s bandwidth 2 GB/s latency 1 ms latency 2 ms iops 1 iops 2 }
vm w on a {
  vcpus 1 vcpus 2 memory 1 GiB memory 2 GiB device-state 1 KiB device-state 2 KiB mac "x" mac "y"
  boot 1 s boot 2 s initial zero 100% initial random 100%
  workload { content zero 100% content random 100% trace "a" trace "b" }
  workload { }
}`,
  ) as [HostDecl, LinkDecl, DatastoreDecl, VmDecl];
  t.match(h.cpus, q(4));
  t.match(h.memory, q(1, "GiB"));
  t.same(
    h.problems.map((p) => [p.problem, p.property]),
    [
      ["duplicate", "cpus"],
      ["duplicate", "rdma"],
      ["duplicate", "nic"],
      ["duplicate", "memory"],
    ],
  );
  t.match(h.problems[0]!.loc, { line: 2, column: 30, endColumn: 35 });
  t.same(
    l.problems.map((p) => p.property),
    ["bandwidth", "latency"],
  );
  t.same(
    d.problems.map((p) => p.property),
    ["shared-by", "on", "bandwidth", "latency", "iops"],
  );
  t.same(
    d.sharedBy!.map((n) => n.text),
    ["a"],
  );
  t.same(
    v.problems.map((p) => p.property),
    ["vcpus", "memory", "device-state", "mac", "boot", "initial", "workload"],
  );
  t.same(
    v.workload!.problems.map((p) => p.property),
    ["content", "trace"],
  );
  t.end();
});

t.test("keywords are soft: they name things wherever a name is expected", (t) => {
  const body = scenarioBody(
    t,
    `host memory { cpus 1 }
host host { cpus 2 }
vm cpus on memory { memory 1 GiB disk workload 1 GiB }
link memory <-> host { bandwidth 1 Gbit/s }
datastore workload { shared-by memory, host }
vm expect on at { }`,
  );
  t.same(
    body.map((s) => ("name" in s ? (s.name as { text: string }).text : "")),
    ["memory", "host", "cpus", "", "workload", "expect"],
  );
  const vm = body[2] as VmDecl;
  t.equal(vm.host.text, "memory");
  t.equal(vm.disks[0]!.datastore.text, "workload");
  const link = body[3] as LinkDecl;
  t.equal(link.a.text, "memory");
  t.equal(link.b.text, "host");
  t.equal((body[5] as VmDecl).host.text, "at");
  t.end();
});

t.test("top-level declarations, imports and plugins around the scenario", (t) => {
  const f = parseOk(
    t,
    `import "platform.vmscn"            # its declarations join this scenario
use plugin "./plugins/balloon.ts"
host a { cpus 1 memory 1 GiB }
link a <-> b { bandwidth 1 Gbit/s }
datastore d { on a bandwidth 1 GB/s }
vm v on a { vcpus 1 }
scenario "s" { }
host late { cpus 1 }
`,
  );
  t.same(
    f.topLevel.map((s) => s.type),
    ["import", "use-plugin", "host", "link", "datastore", "vm", "host"],
  );
  t.match(f.topLevel[0], { type: "import", path: { kind: "string", value: "platform.vmscn" }, loc: { line: 1, column: 1, endColumn: 23 } });
  t.match(f.topLevel[1], { type: "use-plugin", spec: { value: "./plugins/balloon.ts" }, loc: { line: 2, column: 1, endColumn: 33 } });
  t.equal(f.scenarios.length, 1);
  t.same(f.scenarios[0]!.body, []);
  t.end();
});

t.test("a platform file has no scenario; a file may hold two (the validator reports it)", (t) => {
  const platform = parseOk(t, "host a { cpus 1 }\n");
  t.equal(platform.scenarios.length, 0);
  const two = parseOk(t, 'scenario "a" { }\nscenario "b" { seed 1 }\n');
  t.same(
    two.scenarios.map((s) => s.name.value),
    ["a", "b"],
  );
  const empty = parseOk(t, "");
  t.same(empty.topLevel, []);
  t.same(empty.loc, { file: "t.vmscn", line: 1, column: 1, endLine: 1, endColumn: 1, start: 0, end: 0 });
  parseOk(t, "# only a comment\n\n// and another\n");
  t.end();
});

t.test("seed and tick", (t) => {
  const [seed, tick] = scenarioBody(t, "seed 42\ntick 500 us");
  t.match(seed, { type: "seed", value: q(42), loc: { line: 2, column: 1, endColumn: 7 } });
  t.match(tick, { type: "tick", value: q(500, "us") });
  t.end();
});

t.test("run until a time or until done", (t) => {
  const [a, b] = scenarioBody(t, "run until 120 s\nrun until done");
  t.match(a, { type: "run", until: q(120, "s") });
  t.equal((b as { until: unknown }).until, undefined);
  t.match(b, { type: "run", loc: { line: 3, column: 1, endColumn: 14 } });
  t.end();
});

t.test("statements may share a line and span lines", (t) => {
  const body = scenarioBody(t, "seed 1 tick 1 ms host a { cpus 1 } run until done expect a == 1 at 1 s: start a at 2 s: stop a");
  t.same(
    body.map((s) => s.type),
    ["seed", "tick", "host", "run", "expect", "action", "action"],
  );
  t.end();
});
