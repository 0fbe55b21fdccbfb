// Host and VM attributes the expedited-launch plugins (hypercall-fork, clone-api) read: a
// host's nodes, VMM API and hypercall interface; a VM's cold-launch parts, guest
// configuration and usage. Parsed, validated, planned and given to the kernel.
import "reflect-metadata";
import t from "tap";
import type { HostDecl, VmDecl } from "../../dsl/ast.js";
import { firstStatement, parseOk } from "./syntax/helpers.js";
import { check, diagnosticsOf, files, run } from "./validate/helpers.js";

t.test("host: nodes, vmm, hypercalls", (t) => {
  const h = firstStatement<HostDecl>(t, 'host a { cpus 16  memory 64 GiB  nodes 3  vmm "kvm-1.2"  hypercalls "kvm-hc-1" }');
  t.match(h.nodes, { kind: "quantity", value: 3, unit: undefined });
  t.equal(h.vmm!.value, "kvm-1.2");
  t.equal(h.hypercalls!.value, "kvm-hc-1");
  t.match(h.vmm!.loc, { line: 2, column: 47 });
  t.same(h.problems, []);
  t.end();
});

t.test("vm: init, app-launch, guest, usage", (t) => {
  const v = firstStatement<VmDecl>(t, 'vm web on a { vcpus 1  memory 1 GiB  boot 20 s  init 5 s  app-launch 10 s  guest "debian-12/nginx"  usage "web" }');
  t.match(v.boot, { value: 20, unit: "s" });
  t.match(v.init, { value: 5, unit: "s" });
  t.match(v.appLaunch, { value: 10, unit: "s" });
  t.equal(v.guest!.value, "debian-12/nginx");
  t.equal(v.usage!.value, "web");
  t.end();
});

t.test("the new words are soft keywords: they still name things", (t) => {
  const f = parseOk(t, 'scenario "s" {\n  host nodes { cpus 1  memory 1 GiB }\n  vm usage on nodes { vcpus 1  memory 1 MiB  guest "g" }\n}\n');
  t.equal((f.scenarios[0]!.body[0] as HostDecl).name.text, "nodes");
  t.equal((f.scenarios[0]!.body[1] as VmDecl).name.text, "usage");
  t.end();
});

const platform = (host: string, vm: string) => `scenario "t" {
  host a { cpus 8  memory 1 GiB  ${host} }
  vm web on a { vcpus 1  memory 16 MiB  ${vm} }
}
`;

t.test("validation plans the attributes in base units, and the kernel keeps them", async (t) => {
  const c = await check(files({ "t.vmscn": platform('nodes 3  vmm "xen-4.1"  hypercalls "xen-hc"', 'boot 20 s  init 5 s  app-launch 10 s  guest "g1"  usage "web"') }));
  t.same(c.diagnostics, []);
  t.match(c.plan!.hosts[0], { name: "a", nodes: 3, vmm: "xen-4.1", hypercalls: "xen-hc" });
  t.match(c.plan!.vms[0], { bootNs: 20e9, initNs: 5e9, appLaunchNs: 10e9, guest: "g1", usage: "web" });
  const r = await run(files({ "t.vmscn": platform("nodes 3", "") }));
  const a = r.kernel!.cluster.host("a");
  t.equal(a.nodes, 3);
  t.equal(a.vmm, "default", "a host that declares no VMM API has the default one");
  t.equal(a.hypercalls, "default");
  t.end();
});

t.test("a host without nodes has one per CPU; nodes must be a whole number from 1", async (t) => {
  const r = await run(files({ "t.vmscn": platform("", "") }));
  t.equal(r.kernel!.cluster.host("a").nodes, 8);
  for (const bad of ["nodes 0", "nodes 2.5", "nodes 3 GiB"]) {
    const ds = await diagnosticsOf(platform(bad, ""));
    t.equal(ds.length, 1, bad);
    t.match(ds[0], { line: 2 }, bad);
    t.match(ds[0]!.message, /nodes of host "a"/, bad);
  }
  // A time is never negative: the parser already refuses "-1 s" there.
  const neg = await diagnosticsOf(platform("", "init -1 s  app-launch -2 s"));
  t.same(
    neg.map((d) => d.code),
    ["VMSCN0101", "VMSCN0101"],
  );
  t.end();
});

t.test("a string is needed after vmm, hypercalls, guest and usage, and the message says which", async (t) => {
  for (const [text, re] of [
    ['host a { cpus 1  memory 1 GiB  vmm 3 }', /the VMM API as a string such as "kvm-1.2"/],
    ['host a { cpus 1  memory 1 GiB  hypercalls x }', /the hypercall interface as a string/],
    ['vm v on a { vcpus 1  memory 1 GiB  guest 1 }', /the guest configuration as a string/],
    ['vm v on a { vcpus 1  memory 1 GiB  usage web }', /the VM's usage as a string such as "web"/],
    ['vm v on a { vcpus 1  memory 1 GiB  mac 1 }', /a MAC address as a string/],
  ] as const) {
    const ds = await diagnosticsOf(`scenario "s" {\n  ${text}\n}\n`);
    t.equal(ds[0]?.code, "VMSCN0101", text);
    t.match(ds[0]?.message, re, text);
  }
  t.end();
});
