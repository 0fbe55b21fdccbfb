// The clone API plugin through whole scenarios, with PluginTester: the VM clone command's
// launch latency in closed form (README.md, "Capture and load costs"), on-demand memory, a
// fan-out, the launch options, the cluster presumptions checked before the run (VMSCN0222)
// and at run time (the plugin's VMSCN72xx), and the option schema.
//
// The worked example: a 1-vCPU VM of 4 MiB (1024 pages, all written), 10 Gbit/s (1.25 B/ns)
// with 50 µs latency. Capsule = 4096 B CPU state + 524288 B device state + 1024 × 8 B =
// 536576 B; capture = 200 µs exit + 536576 B / 2 GB/s = 468288 ns; the capsule on the wire
// ⌈536576 / 1.25⌉ = 429261 ns + 50 µs; the image 4 MiB in 3355444 ns + 50 µs; load = 1 ms +
// 1024 pages / 5e8 per s = 1002048 ns.
import { PluginTester } from "../../app/testing/index.js";
import cloneApi from "./index.js";

const pair = (a = "", b = "") => `  host a { cpus 4  memory 64 MiB${a} }
  host b { cpus 4  memory 64 MiB${b} }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }`;

const web = (more = "") => `  vm web on a { vcpus 1  memory 4 MiB  initial random 100%${more} }`;

const scenario = (name: string, lines: readonly string[], body: string): string => `scenario "${name}" {\n${lines.join("\n")}\n${body}\n}\n`;

const start = "  at 0 s: start web";

await new PluginTester().run("clone-api", cloneApi, {
  valid: [
    // No clone: no clone section.
    {
      code: scenario("unused", [pair(), web(), start], "  run until 10 ms"),
      report: (r) => {
        if ("clone" in r) throw new Error("a run without clone has a clone section");
      },
    },
    // Eager: the whole image crosses before the clone starts; the parent rewriting every page
    // right after the capture changes nothing the clone gets (copy-on-write keeps the image).
    {
      code: scenario("eager", [pair(), web("  boot 30 s"), start], `  at 1 s: clone web to b
  at 1.001 s: web writes pages 0..1023
  run until 2 s
  expect clone(web-clone1).status == "running"
  expect clone(web-clone1).to == "b"
  expect clone(web-clone1).capsule-bytes == 536576
  expect clone(web-clone1).pages-sent == 1024
  expect clone(web-clone1).bytes-sent == 1024 * 4096 + 536576
  expect link(a<->b).bytesAB == 1024 * 4096 + 536576
  expect clone(web-clone1).arrived-digest == clone(web-clone1).image-digest
  expect clone(web-clone1).launch-latency == 468288 ns + 429261 ns + 50 us + 3355444 ns + 50 us + 1002048 ns
  expect clone(web-clone1).cold-launch == 30 s
  expect vm(web).accesses.cowBreaks == 1024
  expect host(a).frames.used == 1024
  expect host(b).frames.used == 1024`),
      report: { "clone.web-clone1.role": "clone", "clone.web-clone1.parent": "web", "clone.web-clone1.origin": "clone", "clone.web-clone1.capture-time": 468288, "clone.web-clone1.load-time": 1002048, "clone.web.role": "parent" },
    },
    // The micro-hypervisor model and other launch costs: capture = 300 µs sync + 100 µs seal +
    // 536576 B / 1 GB/s; load = 2 ms + 1024 pages / 5e8 per s.
    scenario("launch-options", [pair(), web(), start], `  at 1 s: clone web to b { host-model micro-hypervisor  copy-rate 1 GB/s  load-time 2 ms }
  run until 2 s
  expect clone(web-clone1).capture-time == 300 us + 100 us + 536576 ns
  expect clone(web-clone1).load-time == 2 ms + 2048 ns
  expect clone(web-clone1).launch-latency == 400 us + 536576 ns + 429261 ns + 50 us + 3355444 ns + 50 us + 2 ms + 2048 ns`),
    // On demand, into a declared worker: it starts once the capsule is there, and each distinct
    // page it touches faults and is fetched once: 150 pages.
    scenario("on-demand", [pair(), web(), "  vm w on b { vcpus 1  memory 4 MiB }", start], `  at 1 s: clone web into w { memory on-demand }
  at 2 s: w reads pages 0..99
  at 3 s: w writes pages 50..149
  at 4 s: w reads pages 0..149
  run until 5 s
  expect clone(w).status == "fetching"
  expect clone(w).declared == true
  expect clone(w).depends-on-source == true
  expect clone(w).launch-latency == 468288 ns + 429261 ns + 50 us + 1002048 ns
  expect clone(w).on-demand.faults == 150
  expect clone(w).on-demand.pages-left == 1024 - 150
  expect clone(w).bytes-sent == 536576 + 150 * 4096
  expect host(b).frames.used == 150`),
    // A fan-out: six workers, first fit in ring order (b then c, three nodes each); six capsules
    // share a's NIC, then each next host's VMM loads its three clones one after another.
    scenario("fan-out", [
      "  host a { cpus 4  memory 64 MiB  nodes 3 }",
      "  host b { cpus 4  memory 64 MiB  nodes 3 }",
      "  host c { cpus 4  memory 64 MiB  nodes 3 }",
      "  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }",
      "  link a <-> c { bandwidth 10 Gbit/s  latency 50 us }",
      web("  boot 20 s  init 5 s  app-launch 10 s"),
      start,
    ], `  at 40 s: clone web { workers 6  memory on-demand }
  run until 41 s
  expect clone(web).workers == 6
  expect clone(web).running == 6
  expect clone(web-clone1).to == "b"
  expect clone(web-clone3).to == "b"
  expect clone(web-clone4).to == "c"
  expect clone(web).all-running-time == 468288 ns + 2575565 ns + 50 us + 3 * 1002048 ns
  expect clone(web-clone6).cold-launch == 35 s`),
  ],
  invalid: [
    // The verb's check before the run (VMSCN0222, at the argument or option, naming the code
    // the run would raise): the parent's own host, another VMM API, a worker with another VM
    // interface, the parent as its own worker, more than one image into a worker, a worker on
    // another host than the one named.
    {
      code: scenario("checks", [pair("", `  vmm "xen-4.1"`), "  host c { cpus 4  memory 64 MiB }", "  link a <-> c { bandwidth 10 Gbit/s }", web(), "  vm big on c { vcpus 1  memory 8 MiB }", "  vm w on c { vcpus 1  memory 4 MiB }"], `  at 1 s: clone web to a
  at 1 s: clone web to b
  at 1 s: clone web into big
  at 1 s: clone web into web
  at 1 s: clone web into w { workers 2 }
  at 1 s: clone web to a into w`),
      errors: [
        { code: "VMSCN0222", line: 10, column: 24, message: 'a clone goes to a next host, and "a" is VM "web"\'s own host' },
        { code: "VMSCN0222", line: 11, column: 24, message: /^host "b" complies with VMM API "xen-4\.1", host "a" with "default": .* \(VMSCN7202\)$/ },
        { code: "VMSCN0222", line: 12, column: 26, message: /VM "big" has 1 vCPUs and 8 MiB of memory, VM "web" 1 and 4 MiB: .* \(VMSCN7204\)$/ },
        { code: "VMSCN0222", line: 13, column: 26, message: 'VM "web" cannot receive its own runtime image' },
        { code: "VMSCN0222", line: 14, column: 30, message: "a declared worker VM receives one image; workers is 2" },
        { code: "VMSCN0222", line: 15, column: 24, message: 'VM "w" is declared on host "c", not "a"' },
      ],
    },
    // At run time, by the placement policy: no next host with a free node (VMSCN7201), only a
    // host with another VMM API (VMSCN7202) or hypercall interface (VMSCN7203).
    {
      code: scenario("no-room", [pair("", "  nodes 2"), web(), start], `  at 1 s: clone web { workers 3 }
  run until 2 s`),
      errors: [{ code: "VMSCN7201", line: 7, column: 3 }],
    },
    {
      code: scenario("vmm-api", [pair(`  vmm "kvm-1.2"`, `  vmm "xen-4.1"`), web(), start], `  at 1 s: clone web
  run until 2 s`),
      errors: [{ code: "VMSCN7202", line: 7, column: 3 }],
    },
    {
      code: scenario("hypercall-interface", [pair(`  hypercalls "kvm-hc-1"`, `  hypercalls "kvm-hc-2"`), web(), start], `  at 1 s: clone web
  run until 2 s`),
      errors: [{ code: "VMSCN7203", line: 7, column: 3 }],
    },
    // The next host runs VMs of another guest configuration (VMSCN7205) or usage (VMSCN7206).
    {
      code: scenario("guest-configuration", [pair(), web(`  guest "debian-12"`), `  vm old on b { vcpus 1  memory 4 MiB  guest "debian-11" }`, start], `  at 1 s: clone web
  run until 2 s`),
      errors: [{ code: "VMSCN7205", line: 8, column: 3 }],
    },
    {
      code: scenario("usage", [pair(), web(`  usage "web"`), `  vm db on b { vcpus 1  memory 4 MiB  usage "db" }`, start], `  at 1 s: clone web
  run until 2 s`),
      errors: [{ code: "VMSCN7206", line: 8, column: 3 }],
    },
    // The link fails while the image crosses: the clone fails after the command (VMSCN7208);
    // the parent runs on and the source frees the image.
    {
      code: scenario("link-down", [pair(), web(), start], `  at 1 s: clone web to b
  at 1.002 s: link a<->b down
  run until 2 s
  expect clone(web-clone1).status == "failed"
  expect vm(web).state == "running"
  expect host(b).frames.used == 0`),
      errors: [{ code: "VMSCN7208", line: 7, column: 3, message: /^1 of 1 clone of "web" failed: web-clone1: / }],
    },
    // A declared worker that was started cannot receive an image (VMSCN7209).
    {
      code: scenario("worker-started", [pair(), web(), "  vm w on b { vcpus 1  memory 4 MiB }", start, "  at 0 s: start w"], `  at 1 s: clone web into w
  run until 2 s`),
      errors: [{ code: "VMSCN7209", line: 9, column: 3, message: 'VM "w" cannot receive a runtime image: it is running (a worker must be declared and never started)' }],
    },
    // The option schema and the arguments.
    {
      code: scenario("schema", [pair(), web(), start], `  at 1 s: clone web { workers 0 }
  at 1 s: clone web { memory lazy }
  at 1 s: clone web { copy-rate 5 }
  at 1 s: clone web { load-time 2 MiB }
  at 1 s: clone web { children 2 }
  at 1 s: clone web to z`),
      errors: [
        { code: "VMSCN0212", line: 7, column: 31 },
        { code: "VMSCN0213", line: 8, column: 30 },
        { code: "VMSCN0210", line: 9, column: 33 },
        { code: "VMSCN0210", line: 10, column: 33 },
        { code: "VMSCN0208", line: 11, column: 23 },
        { code: "VMSCN0201", line: 12, column: 24 },
      ],
    },
  ],
});
