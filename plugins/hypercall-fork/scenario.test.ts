// fork and clone through the scenario language: the validation-time checks (VMSCN0222 at the
// argument or option concerned, naming the run-time code) and the guest's fork hypercall.
import "reflect-metadata";
import t from "tap";
import { check, files, run } from "../../test/dsl/validate/helpers.js";

const platform = (extra: string, body: string) => `scenario "t" {
  host a { cpus 4  memory 64 MiB  nodes 3 }
  host b { cpus 4  memory 64 MiB  nodes 2 }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }
  vm web on a { vcpus 1  memory 4 MiB  initial random 100%  guest "g1"  usage "web" }
${extra}
  at 0 s: start web
${body}
}
`;

/** The VMSCN0222 diagnostics of a scenario: [message, the text they point at]. */
async function problems(text: string): Promise<[string, string][]> {
  const c = await check(files({ "t.vmscn": text }));
  const lines = text.split("\n");
  return c.diagnostics.map((d) => {
    t.equal(d.code, "VMSCN0222", d.message);
    return [d.message, lines[d.loc.line - 1]!.slice(d.loc.column - 1, d.loc.endColumn)];
  });
}

t.test("fork: validation-time checks point at the argument or option concerned", async (t) => {
  const cases: [string, string, RegExp, string][] = [
    ["", "  at 1 s: fork web { children 3 }", /host "a" has 2 free nodes for 3 child VMs of "web" as the scenario declares its VMs \(VMSCN7101\)/, "children"],
    ["", "  at 1 s: fork web { children 2 }", /./, ""],
    ["  vm w on a { vcpus 1  memory 4 MiB  guest \"g1\"  usage \"web\" }", "  at 1 s: fork web into web", /cannot receive its own runtime image \(VMSCN7105\)/, "web"],
    ["  vm w on a { vcpus 1  memory 4 MiB  guest \"g1\"  usage \"web\" }", "  at 1 s: fork web to b into w", /VM "w" is declared on host "a", not "b"/, "b"],
    ["  vm w on a { vcpus 1  memory 4 MiB  guest \"g1\"  usage \"web\" }", "  at 1 s: fork web into w { children 2 }", /receives one image; children is 2/, "children"],
    ["  vm w on a { vcpus 2  memory 4 MiB  guest \"g1\"  usage \"web\" }", "  at 1 s: fork web into w", /\(presumption 2\) \(VMSCN7102\)/, "w"],
    ["  vm w on a { vcpus 1  memory 4 MiB  guest \"g2\"  usage \"web\" }", "  at 1 s: fork web into w", /\(presumption 3\) \(VMSCN7103\)/, "w"],
    ["  vm w on b { vcpus 1  memory 4 MiB  guest \"g1\"  usage \"db\" }", "  at 1 s: fork web into w", /\(presumption 4\) \(VMSCN7206\)/, "w"],
    ["  vm db on a { vcpus 1  memory 4 MiB  usage \"db\" }", "  at 1 s: fork web", /VM "db" on host "a" has usage "db".*\(VMSCN7104\)/, "fork"],
    ["", "  at 1 s: fork web to b { children 3 }", /host "b" has 2 free nodes for 3 clones of "web" .*\(VMSCN7201\)/, "b"],
    ["", "  at 1 s: fork web { children 9  placement auto }", /./, ""],
  ];
  for (const [extra, body, re, at] of cases) {
    const ps = await problems(platform(extra, body));
    if (at === "") {
      t.same(ps, [], body);
      continue;
    }
    t.equal(ps.length, 1, body);
    t.match(ps[0]?.[0], re, body);
    t.equal(ps[0]?.[1], at, `${body}: points at ${at}`);
  }
  t.end();
});

t.test("a VMM API of another name on the named next host", async (t) => {
  const text = platform("", "  at 1 s: fork web to b").replace('host b { cpus 4  memory 64 MiB  nodes 2 }', 'host b { cpus 4  memory 64 MiB  nodes 2  vmm "xen-4" }');
  const ps = await problems(text);
  t.match(ps, [[/complies with VMM API "xen-4", host "a" with "default".*\(VMSCN7202\)/, "b"]]);
  t.end();
});

t.test("clone: validation-time checks", async (t) => {
  const cases: [string, string, RegExp, string][] = [
    ["", "  at 1 s: clone web to a", /a clone goes to a next host, and "a" is VM "web"'s own host/, "a"],
    ["  vm w on a { vcpus 1  memory 4 MiB }", "  at 1 s: clone web into w", /a clone goes to a next host/, "w"],
    ["", "  at 1 s: clone web into web", /cannot receive its own runtime image/, "web"],
    ["  vm w on b { vcpus 1  memory 4 MiB  guest \"g1\"  usage \"web\" }", "  at 1 s: clone web to a into w", /declared on host "b", not "a"/, "a"],
    ["  vm w on b { vcpus 1  memory 4 MiB  guest \"g1\"  usage \"web\" }", "  at 1 s: clone web into w { workers 2 }", /receives one image; workers is 2/, "workers"],
    ["  vm w on b { vcpus 1  memory 8 MiB  guest \"g1\"  usage \"web\" }", "  at 1 s: clone web into w", /\(VMSCN7204\)/, "w"],
    ["  vm w on b { vcpus 1  memory 4 MiB  usage \"web\" }", "  at 1 s: clone web into w", /guest configuration none, VM "web" "g1".*\(VMSCN7205\)/, "w"],
    ["  vm old on b { vcpus 1  memory 4 MiB  guest \"g0\" }", "  at 1 s: clone web to b", /VM "old" on host "b" has guest configuration "g0".*\(VMSCN7205\)/, "b"],
    ["", "  at 1 s: clone web to b { workers 3 }", /host "b" has 2 free nodes for 3 clones .*\(VMSCN7201\)/, "b"],
    ["", "  at 1 s: clone web { workers 30 }", /./, ""],
    ["", "  at 1 s: clone nobody to b", /./, "-"],
  ];
  for (const [extra, body, re, at] of cases) {
    const c = await check(files({ "t.vmscn": platform(extra, body) }));
    if (at === "-") {
      t.equal(c.diagnostics[0]?.code, "VMSCN0202", "an unknown VM is the language's error, not the verb's");
      continue;
    }
    const ps = await problems(platform(extra, body));
    if (at === "") {
      t.same(ps, [], body);
      continue;
    }
    t.equal(ps.length, 1, body);
    t.match(ps[0]?.[0], re, body);
    t.equal(ps[0]?.[1], at, `${body}: points at ${at}`);
  }
  const hc = platform("", "  at 1 s: clone web to b").replace("nodes 2 }", 'nodes 2  hypercalls "hc-2" }');
  t.match(await problems(hc), [[/offers hypercall interface "hc-2".*\(VMSCN7203\)/, "b"]]);
  t.end();
});

t.test("the guest's fork hypercall: children, a named next host, and a refusal the report keeps", async (t) => {
  const r = await run(
    files({
      "t.vmscn": platform(
        "",
        `  at 1 s: web hypercall fork { children 2 }
  at 2 s: web hypercall fork { to "b"  memory on-demand  host-model micro-hypervisor }
  at 3 s: web hypercall fork { children 5 }
  at 4 s: web hypercall fork { to "nowhere" }
  run until 5 s`,
      ),
    }),
  );
  t.same(r.diagnostics, []);
  t.equal(r.error, undefined);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const rep = r.report as any;
  t.same(
    rep.hypercalls.map((h: { state: string }) => h.state),
    ["done", "done", "failed", "failed"],
  );
  t.match(rep.hypercalls[2].failure, /^VMSCN7101 /);
  t.match(rep.hypercalls[3].failure, /^VMSCN5005 .*there is no host "nowhere"/);
  t.match(rep.fork["web-child1"], { origin: "fork-hypercall", status: "running" });
  t.match(rep.fork.web, { requests: 2, refusals: 2, "refusal-code": "VMSCN5005", workers: 1, clones: 1 });
  t.match(rep.clone["web-clone1"], { origin: "fork-hypercall", to: "b", memory: "on-demand", "host-model": "micro-hypervisor", status: "fetching" });
  t.end();
});

t.test("a child that forks in turn: its entry keeps both roles, the child's and (under as-parent) the parent's", async (t) => {
  const r = await run(
    files({
      "t.vmscn": `scenario "t" {
  host a { cpus 8  memory 64 MiB  nodes 8 }
  vm web on a { vcpus 1  memory 4 MiB  device-state 0 B }
  vm w on a { vcpus 1  memory 4 MiB  device-state 0 B }
  at 0 s: start web
  at 1 ms: web writes pages 0..99
  at 100 ms: fork web into w
  at 200 ms: fork w { children 2 }
  at 300 ms: w hypercall fork { children 9 }
  run until 1 s
}
`,
    }),
  );
  t.same(r.diagnostics, []);
  t.equal(r.error, undefined);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const fork = (r.report as any).fork;
  t.same(Object.keys(fork).sort(), ["w", "w-child1", "w-child2", "web"]);
  t.match(fork.w, { role: "child", parent: "web", declared: true, status: "running", "frames-shared": 100 });
  t.match(fork.w["as-parent"], { requests: 1, workers: 2, children: 2, running: 2, failed: 0, origin: "fork", "requested-at": 200e6 });
  // The refused hypercall counts on the parent side too.
  t.match(fork.w["as-parent"], { refusals: 1, "refusal-code": "VMSCN7101" });
  t.notOk("role" in fork.w["as-parent"], "the role is the entry's");
  t.match(fork["w-child1"], { role: "child", parent: "w", status: "running" });
  t.match(fork.web, { role: "parent", requests: 1, workers: 1 });
  t.notOk("as-parent" in fork.web, "a parent that is no child has one entry");
  t.end();
});
