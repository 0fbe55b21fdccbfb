// The VM fork hypercall plugin through whole scenarios, with PluginTester: child VMs that share
// every frame copy-on-write, exact COW breaks, the launch latency in closed form, the fan-out
// and auto placement (children, then clones through clone-api), the guest's hypercall (a
// refused one is the guest's answer, in the report, not a failed action), the checks before
// the run (VMSCN0222) and the plugin's VMSCN71xx at run time.
//
// With the defaults, a 1-vCPU VM of 4 MiB (1024 pages): capsule 536576 B, capture 468288 ns
// (200 µs exit + 536576 B at 2 GB/s), a load 1002048 ns (1 ms + 1024 pages at 5e8 per s).
import { PluginTester } from "../../app/testing/index.js";
import hypercallFork from "./index.js";

const host = (nodes: number) => `  host a { cpus 4  memory 64 MiB  nodes ${nodes} }`;
const web = (more = "") => `  vm web on a { vcpus 1  memory 4 MiB  initial random 100%${more} }`;
const start = "  at 0 s: start web";

const scenario = (name: string, lines: readonly string[], body: string): string => `scenario "${name}" {\n${lines.join("\n")}\n${body}\n}\n`;

await new PluginTester().run("hypercall-fork", hypercallFork, {
  valid: [
    // No fork: no fork section.
    {
      code: scenario("unused", [host(2), web(), start], "  run until 10 ms"),
      report: (r) => {
        if ("fork" in r) throw new Error("a run without fork has a fork section");
      },
    },
    // A child maps every page to the parent's frame: no new frame, and it runs after the
    // capture and one load.
    {
      code: scenario("zero-new-frames", [host(2), web("  boot 20 s  init 5 s  app-launch 10 s"), start], `  at 1 s: fork web
  run until 1.1 s
  expect fork(web-child1).frames-shared == 1024
  expect fork(web-child1).new-frames == 0
  expect fork(web-child1).cow-breaks == 0
  expect fork(web-child1).memory-saved == 4 MiB
  expect fork(web-child1).status == "running"
  expect fork(web-child1).launch-latency == 468288 ns + 1002048 ns
  expect fork(web-child1).cold-launch == 35 s
  expect fork(web-child1).bytes-sent == 0
  expect fork(web).memory-saved == 4 MiB
  expect host(a).frames.used == 1024`),
      report: { "fork.web-child1.role": "child", "fork.web-child1.parent": "web", "fork.web-child1.origin": "fork", "fork.web-child1.capsule-bytes": 536576, "fork.web.role": "parent", "fork.web.requests": 1 },
    },
    // The child writes 100 distinct pages (100 breaks, then none on rewriting them); the parent
    // then writes 50..149 and breaks only the 50 it still shares.
    scenario("cow-breaks", [host(2), web(), "  vm w on a { vcpus 1  memory 4 MiB }", start], `  at 1 s: fork web into w
  at 2 s: w writes pages 0..99
  at 2.5 s: w writes pages 0..99
  at 3 s: web writes pages 50..149
  run until 4 s
  expect fork(w).declared == true
  expect fork(w).cow-breaks == 100
  expect fork(w).new-frames == 100
  expect vm(web).accesses.cowBreaks == 50
  expect fork(web).parent-cow-breaks == 50
  expect host(a).frames.used == 1024 + 100 + 50
  expect fork(w).shared-now == 874
  expect fork(w).memory-saved == 874 * 4096`),
    // A fan-out of three children: the VMM loads them one after another.
    scenario("fan-out", [host(4), web(), start], `  at 1 s: fork web { children 3 }
  run until 1.1 s
  expect fork(web).workers == 3
  expect fork(web).children == 3
  expect fork(web).running == 3
  expect fork(web-child2).launch-latency == 468288 ns + 2 * 1002048 ns
  expect fork(web).all-running-time == 468288 ns + 3 * 1002048 ns
  expect host(a).frames.used == 1024`),
    // The guest's hypercall with placement auto: children while a has free nodes (2), then
    // clones on b (clone-api), whose images cross the link.
    scenario("hypercall-auto", [host(3), "  host b { cpus 4  memory 64 MiB  nodes 3 }", "  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }", web(), start], `  at 1 s: web hypercall fork { children 4  placement auto }
  run until 1.5 s
  expect fork(web).origin == "fork-hypercall"
  expect fork(web).children == 2
  expect fork(web).clones == 2
  expect fork(web).running == 4
  expect clone(web-clone1).to == "b"
  expect clone(web-clone2).origin == "fork-hypercall"
  expect host(a).frames.used == 1024
  expect host(b).frames.used == 2 * 1024`),
    // A refused hypercall is answered to the guest: failed in the hypercalls section, counted in
    // the parent's refusals; the worker is untouched and the parent runs on.
    {
      code: scenario("hypercall-refused", [host(3), web(`  guest "debian-12"`), `  vm w on a { vcpus 1  memory 4 MiB  guest "debian-11" }`, start], `  at 1 s: web hypercall fork { into "w" }
  run until 2 s
  expect fork(web).refusal-code == "VMSCN7103"
  expect vm(w).state == "created"
  expect vm(web).state == "running"
  expect host(a).frames.used == 1024`),
      report: { "fork.web.status": "refused", "fork.web.refusals": 1 },
    },
  ],
  invalid: [
    // Refused at run time: the nodes an earlier fork took are not free (VMSCN7101); a worker
    // that was started (VMSCN7105); a parent that is not running (VMSCN5004).
    {
      code: scenario("no-free-node", [host(3), web(), start], `  at 1 s: fork web { children 2 }
  at 2 s: fork web
  run until 3 s
  expect fork(web).running == 2`),
      errors: [{ code: "VMSCN7101", line: 6, column: 3 }],
    },
    {
      code: scenario("worker-started", [host(3), web(), "  vm w on a { vcpus 1  memory 4 MiB }", start, "  at 0 s: start w"], `  at 1 s: fork web into w
  run until 2 s`),
      errors: [{ code: "VMSCN7105", line: 7, column: 3 }],
    },
    {
      code: scenario("parent-not-running", [host(3), web()], `  at 1 s: fork web
  run until 2 s`),
      errors: [{ code: "VMSCN5004", line: 4, column: 3 }],
    },
    // The host crashes during the capture: every child fails before it ran (VMSCN7106).
    {
      code: scenario("capture-host-crash", [host(3), web(), start], `  at 1 s: fork web { children 2 }
  at 1.0001 s: crash a
  run until 2 s
  expect fork(web-child1).status == "failed"
  expect fork(web).failed == 2
  expect host(a).frames.used == 0`),
      errors: [{ code: "VMSCN7106", line: 5, column: 3, message: /^2 of 2 workers of "web" failed: / }],
    },
    // The verb's check before the run (VMSCN0222, naming the run-time code): more children than
    // the host has free nodes as declared, a worker with another VM interface, a VM of another
    // usage on the parent's host, the parent as its own worker.
    {
      code: scenario("checks", [host(3), web(`  usage "web"`), `  vm w on a { vcpus 2  memory 4 MiB  usage "web" }`], `  at 1 s: fork web { children 2 }
  at 1 s: fork web into w
  at 1 s: fork web into web`),
      errors: [
        { code: "VMSCN0222", line: 5, column: 22 },
        { code: "VMSCN0222", line: 6, column: 25, message: /\(VMSCN7102\)$/ },
        { code: "VMSCN0222", line: 7, column: 25 },
      ],
    },
    // (With no argument to point at, at the verb.)
    {
      code: scenario("usage-declared", [host(3), web(`  usage "web"`), `  vm db on a { vcpus 1  memory 4 MiB  usage "db" }`], `  at 1 s: fork web`),
      errors: [{ code: "VMSCN0222", line: 5, column: 11, message: /\(VMSCN7104\)$/ }],
    },
    // The option schema and the arguments.
    {
      code: scenario("schema", [host(3), web(), start], `  at 1 s: fork web { children 0 }
  at 1 s: fork web { placement anywhere }
  at 1 s: fork web { workers 2 }
  at 1 s: fork web { exit-time 5 }
  at 1 s: fork web to z
  at 1 s: fork nobody`),
      errors: [
        { code: "VMSCN0212", line: 5, column: 31 },
        { code: "VMSCN0213", line: 6, column: 32 },
        { code: "VMSCN0208", line: 7, column: 22 },
        { code: "VMSCN0210", line: 8, column: 32 },
        { code: "VMSCN0201", line: 9, column: 23 },
        { code: "VMSCN0202", line: 10, column: 16 },
      ],
    },
  ],
});
