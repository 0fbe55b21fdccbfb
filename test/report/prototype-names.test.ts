// Names that are also Object.prototype's: a host or VM called `__proto__`, `constructor` or
// `toString` is an entry like any other in every name-keyed section of the report (the kernel's
// and the plugins'), in the JSON text and in the summary.
import "reflect-metadata";
import t, { type Test } from "tap";
import { stableStringify } from "../../core/report/json.js";
import { summarize } from "../../cli/summary.js";
import { files, run } from "../dsl/validate/helpers.js";

const VMS = `scenario "proto-vms" {
  host a { cpus 8  memory 1 GiB  rdma  nodes 8 }
  host b { cpus 8  memory 1 GiB  rdma  nodes 8 }
  link a <-> b { bandwidth 1024 MB/s  latency 10 us }
  datastore san { shared-by a, b  bandwidth 1 GB/s }
  vm __proto__ on a { vcpus 1  memory 4 MiB  device-state 0 B  initial image "app" 100%  disk san 1 GiB }
  vm constructor on a { vcpus 1  memory 4 MiB  device-state 0 B  initial image "app" 100% }
  vm toString on a { vcpus 1  memory 4 MiB  device-state 0 B  initial image "app" 100% }
  at 0 s: start __proto__
  at 0 s: start constructor
  at 0 s: start toString
  at 10 ms: tps on a { pages-to-scan 1000  sleep 10 ms }
  at 100 ms: fork constructor
  at 200 ms: clone constructor to b
  at 300 ms: migrate __proto__ to b { transport rdma }
  at 400 ms: migrate constructor to b { compress zlib }
  at 500 ms: migrate toString to b { transport rdma }
  run until 1 s
}
`;

const HOSTS = `scenario "proto-hosts" {
  host __proto__ { cpus 8  memory 1 GiB  rdma }
  host constructor { cpus 8  memory 1 GiB  rdma }
  link __proto__ <-> constructor { bandwidth 1024 MB/s  latency 10 us }
  datastore hasOwnProperty { shared-by __proto__, constructor  bandwidth 1 GB/s }
  vm web on __proto__ { vcpus 1  memory 4 MiB  device-state 0 B  initial image "app" 100%  disk hasOwnProperty 1 GiB }
  vm db on __proto__ { vcpus 1  memory 4 MiB  device-state 0 B  initial image "app" 100% }
  at 0 s: start web
  at 0 s: start db
  at 10 ms: tps on __proto__ { pages-to-scan 1000  sleep 10 ms }
  at 10 ms: tps on constructor
  at 300 ms: migrate web to constructor { transport rdma }
  run until 1 s
}
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function own(t: Test, table: unknown, keys: string[], what: string): void {
  t.ok(table !== null && typeof table === "object", `${what} is a table`);
  for (const k of keys) t.ok(Object.hasOwn(table as object, k), `${what} has an entry "${k}"`);
  t.same(Object.keys(table as object).sort(), [...keys].sort(), `${what}: exactly those entries`);
}

t.test("VMs named __proto__, constructor and toString: every section keyed by VM has their entries", async (t) => {
  const r = await run(files({ "t.vmscn": VMS }));
  t.same(r.diagnostics, []);
  t.equal(r.error, undefined);
  const rep = r.report as Any;
  t.same(rep.actions.map((a: Any) => a.state), ["done", "done", "done", "done", "done", "done", "done", "done", "done"]);
  own(t, rep.vms, ["__proto__", "constructor", "toString", "constructor-child1", "constructor-clone1"], "vms");
  t.match(rep.vms.__proto__, { host: "b", state: "running", memory: 4 * 2 ** 20 });
  t.match(rep.vms.constructor, { host: "b", state: "running" });
  own(t, rep.migration, ["__proto__", "constructor", "toString"], "migration");
  t.match(rep.migration.__proto__, { status: "completed", source: "a", destination: "b" });
  own(t, rep.rdma, ["__proto__", "toString"], "rdma");
  t.match(rep.rdma.__proto__, { transport: "rdma", source: "a", destination: "b" });
  own(t, rep.fork, ["constructor", "constructor-child1"], "fork");
  t.match(rep.fork.constructor, { role: "parent", requests: 1 });
  own(t, rep.clone, ["constructor", "constructor-clone1"], "clone");
  t.match(rep.clone.constructor, { role: "parent", requests: 1 });
  own(t, rep.compression, ["migrate:constructor"], "compression");
  t.ok(Object.hasOwn(rep.files, "san/__proto__-disk0.vmdk"), "files");

  // The JSON text has the keys, and reading it back gives them as own keys.
  const text = stableStringify(rep);
  t.match(text, /\n {4}"__proto__": \{\n/);
  const back = JSON.parse(text);
  for (const s of ["vms", "migration", "rdma"]) t.ok(Object.hasOwn(back[s], "__proto__"), `${s} in the JSON text`);
  t.equal(back.vms.constructor.host, "b");

  // The summary's rows.
  const lines = summarize(rep).split("\n");
  for (const vm of ["__proto__", "constructor", "toString"]) t.ok(lines.some((l) => new RegExp(`^${vm}\\s+b\\s+running`).test(l)), `the summary has a row for VM ${vm}`);
  t.notMatch(summarize(rep), /function|\[object Object\]|native code/);
});

t.test("hosts and a datastore named __proto__, constructor, hasOwnProperty: the host, link, datastore and KSM sections have them", async (t) => {
  const r = await run(files({ "t.vmscn": HOSTS }));
  t.same(r.diagnostics, []);
  t.equal(r.error, undefined);
  const rep = r.report as Any;
  own(t, rep.hosts, ["__proto__", "constructor"], "hosts");
  t.same(rep.hosts.__proto__.worlds.filter((w: string) => !w.includes("#")), ["db"]);
  t.match(rep.hosts.constructor, { up: true, cpus: 8, rdma: true });
  own(t, rep.links, ["__proto__<->constructor"], "links");
  own(t, rep.datastores, ["hasOwnProperty"], "datastores");
  own(t, rep.ksm, ["__proto__", "constructor"], "ksm");
  t.match(rep.ksm.__proto__, { run: 1 });
  t.match(rep.rdma.web, { source: "__proto__", destination: "constructor" });
  own(t, rep.rdma.web["ksm-before"], ["__proto__", "constructor"], "rdma ksm-before");
  t.match(rep.vms.web, { host: "constructor" });
  const back = JSON.parse(stableStringify(rep));
  t.ok(Object.hasOwn(back.hosts, "__proto__"));
  t.equal(back.hosts.__proto__.cpus, 8);
  const lines = summarize(rep).split("\n");
  t.ok(lines.some((l) => /^__proto__\s+yes\s+8/.test(l)), "the summary has a row for host __proto__");
  t.ok(lines.some((l) => /^constructor\s+yes\s+8/.test(l)), "the summary has a row for host constructor");
});
