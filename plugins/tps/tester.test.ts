// The tps plugin through whole scenarios, with PluginTester: the `tps` verb's settings, KSM's
// counters in closed form (README.md, "Convergence"), and the diagnostics of the verb.
//
// The platform: two VMs of 4 MiB (P = 1024 pages) from one image, so N·P = S = 2048 pages. At
// pages-to-scan B = 1000 a full scan is ⌈S / B⌉ = 3 batches (1000, 1000, 48); pages merge in
// the second scan, the last in batch 2·3 − 1 = 5, at 50 ms with sleep 10 ms.
import { PluginTester } from "../../app/testing/index.js";
import tps from "./index.js";

const twoVms = `  host a { cpus 8  memory 64 MiB }
  vm vm1 on a { vcpus 1  memory 4 MiB  initial image "debian" 100% }
  vm vm2 on a { vcpus 1  memory 4 MiB  initial image "debian" 100% }`;

// Each VM: image pages, then zero pages written over its pages 0..99 at 1 ms.
const zeroes = `  host a { cpus 8  memory 64 MiB }
  vm vm1 on a { vcpus 1  memory 4 MiB  initial image "debian" 100%  workload { content zero 100% } }
  vm vm2 on a { vcpus 1  memory 4 MiB  initial image "debian" 100%  workload { content zero 100% } }
  at 0 s: start vm1
  at 0 s: start vm2
  at 1 ms: vm1 writes pages 0..99
  at 1 ms: vm2 writes pages 0..99`;

const scenario = (name: string, platform: string, body: string): string => `scenario "${name}" {\n${platform}\n${body}\n}\n`;

await new PluginTester().run("tps", tps, {
  valid: [
    // A run without the verb has no ksm section.
    {
      code: scenario("unused", twoVms, "  run until 10 ms"),
      report: (r) => {
        if ("ksm" in r) throw new Error("a run without tps has a ksm section");
      },
    },
    // Converged in batch 5 (50 ms): one frame per image page, the other VM's pages share it.
    {
      code: scenario("converged", twoVms, `  at 0 s: tps on a { pages-to-scan 1000  sleep 10 ms }
  run until 50 ms
  expect ksm(a).full_scans == 2
  expect ksm(a).pages_shared == 1024
  expect ksm(a).pages_sharing == 1024
  expect ksm(a).pages_unshared == 0
  expect ksm(a).pages_volatile == 0
  expect host(a).memory.used == 1024 pages`),
      report: { "ksm.a.memory_saved": 1024 * 4096, "ksm.a.pages_scanned": 2 * 2048, "ksm.a.run": 1, "ksm.a.pages_to_scan": 1000, "ksm.a.sleep_millisecs": 10 },
    },
    // One batch short (40 ms): batch 4 scanned vm1's pages 1000..1023 (into the unstable tree)
    // and vm2's pages 0..975 (merged with vm1's); vm1's pages 976..1023 wait unshared.
    scenario("not-yet", twoVms, `  at 0 s: tps on a { pages-to-scan 1000  sleep 10 ms }
  run until 40 ms
  expect ksm(a).full_scans == 1
  expect ksm(a).pages_shared == 976
  expect ksm(a).pages_sharing == 976
  expect ksm(a).pages_unshared == 48
  expect host(a).memory.used == (2048 - 976) * 4096`),
    // The defaults: 100 pages every 20 ms, so 21 batches a scan; merged in batch 41, at 820 ms.
    {
      code: scenario("defaults", twoVms, `  at 0 s: tps on a
  run until 820 ms
  expect ksm(a).pages_sharing == 1024
  expect ksm(a).full_scans == 2`),
      report: { "ksm.a.pages_to_scan": 100, "ksm.a.sleep_millisecs": 20, "ksm.a.scope": "across-vms", "ksm.a.zero_pages": "merge", "ksm.a.remote_pages": "local", "ksm.a.use_zero_pages": 0 },
    },
    scenario("defaults-one-short", twoVms, `  at 0 s: tps on a
  run until 819 ms
  expect ksm(a).pages_sharing == 1024 - 48`),
    // A write to a shared page breaks copy-on-write for the writer; tps off stops the scanner
    // but merged pages stay merged and writes still break them.
    {
      code: scenario("cow-break-off", twoVms, `  at 0 s: start vm1
  at 0 s: tps on a { pages-to-scan 1000  sleep 10 ms }
  at 100 ms: tps off a
  at 200 ms: vm1 writes pages 0..9
  run until 300 ms
  expect ksm(a).run == 0
  expect ksm(a).cow_breaks == 10
  expect vm(vm1).accesses.cowBreaks == 10
  expect ksm(a).pages_shared == 1024
  expect ksm(a).pages_sharing == 1024 - 10
  expect host(a).memory.used == (1024 + 10) * 4096`),
      report: { "ksm.a.full_scans": 3 },
    },
    // scope within-vm: each VM merges its own 100 zero pages into one frame; no image page is
    // shared across the VMs, so each VM's 924 image pages wait in the unstable tree.
    scenario("within-vm", zeroes, `  at 10 ms: tps on a { pages-to-scan 1000  sleep 10 ms  scope within-vm }
  run until 200 ms
  expect ksm(a).scope == "within-vm"
  expect ksm(a).pages_shared == 2
  expect ksm(a).pages_sharing == 2 * 99
  expect ksm(a).pages_unshared == 2 * 924
  expect host(a).memory.used == (2048 - 198) * 4096`),
    // use-zero-pages: the 200 zero pages are unmapped; the image pages merge.
    scenario("use-zero-pages", zeroes, `  at 10 ms: tps on a { pages-to-scan 1000  sleep 10 ms  zero-pages use-zero-pages }
  run until 200 ms
  expect ksm(a).use_zero_pages == 1
  expect ksm(a).ksm_zero_pages == 200
  expect ksm(a).pages_shared == 924
  expect ksm(a).pages_sharing == 924
  expect ksm(a).memory_saved == (924 + 200) * 4096
  expect vm(vm1).pages.unbacked == 100
  expect host(a).memory.used == 924 pages`),
    // keep: zero pages are never merged (nor kept in a tree).
    scenario("keep-zero-pages", zeroes, `  at 10 ms: tps on a { pages-to-scan 1000  sleep 10 ms  zero-pages keep }
  run until 200 ms
  expect ksm(a).zero_pages == "keep"
  expect ksm(a).ksm_zero_pages == 0
  expect ksm(a).pages_shared == 924
  expect ksm(a).pages_sharing == 924
  expect ksm(a).pages_unshared == 0
  expect host(a).memory.used == (924 + 200) * 4096`),
    // tps on again re-configures the running scanner: every setting is what the action says.
    {
      code: scenario("reconfigure", twoVms, `  at 0 s: tps on a { pages-to-scan 1000  sleep 10 ms }
  at 5 ms: tps on a { remote-pages ignore }
  run until 10 ms`),
      report: { "ksm.a.pages_to_scan": 100, "ksm.a.sleep_millisecs": 20, "ksm.a.remote_pages": "ignore", "ksm.a.run": 1 },
    },
  ],
  invalid: [
    // The option schema: out of range, the wrong dimension, a bare number, an unknown enum value, an unknown option.
    {
      code: scenario("options", twoVms, `  at 0 s: tps on a { pages-to-scan 0 }
  at 0 s: tps on a { sleep 7200 s }
  at 0 s: tps on a { sleep 10 MiB }
  at 0 s: tps on a { sleep 10 }
  at 0 s: tps on a { scope everywhere }
  at 0 s: tps on a { pages 10 }
  run until 10 ms`),
      errors: [
        { code: "VMSCN0212", line: 5, column: 36 },
        { code: "VMSCN0212", line: 6, column: 28 },
        { code: "VMSCN0210", line: 7, column: 28 },
        { code: "VMSCN0210", line: 8, column: 28 },
        { code: "VMSCN0213", line: 9, column: 28 },
        { code: "VMSCN0208", line: 10, column: 22, message: /"pages"/ },
      ],
    },
    // The arguments: a state that is neither on nor off, a host that does not exist.
    {
      code: scenario("args", twoVms, `  at 0 s: tps maybe a
  at 0 s: tps on b
  run until 10 ms`),
      errors: [
        { code: "VMSCN0213", line: 5, column: 15 },
        { code: "VMSCN0201", line: 6, column: 18 },
      ],
    },
    // The plugin's own code: a host that is down cannot scan; the action fails at its line.
    {
      code: scenario("host-down", twoVms, `  at 0 s: crash a
  at 1 ms: tps on a
  run until 10 ms`),
      errors: [{ code: "VMSCN7501", line: 6, column: 3, message: 'cannot turn page sharing on on host "a": the host is down' }],
    },
  ],
});
