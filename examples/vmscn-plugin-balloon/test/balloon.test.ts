// The balloon driver, tested through whole scenarios with PluginTester. Runs under node's test
// runner (`npm test` here) and under tap (vmscn's own suite runs this file too).
//
// The platform: host a has 40 MiB (10240 frames), so the default watermarks are 10% = 1024
// and 20% = 2048 free frames. VM web has 16 MiB (4096 pages), all written at creation (4096
// frames); db has 8 MiB. `exhaust a { leave 2 MiB }` leaves 512 frames free: under the low
// watermark, so the balloons must bring free memory back to 2048 frames: 1536 pages.
import { PluginTester } from "vmscn/testing";
import balloon from "../src/index.js";
import { split } from "../src/policy.js";

const platform = `
  host a { cpus 4  memory 40 MiB }
  host b { cpus 4  memory 40 MiB }
  link a <-> b { bandwidth 10 Gbit/s }
  vm web on a { vcpus 1  memory 16 MiB  initial random 100% }
  at 0 s: start web`;

const scenario = (body: string, name = "balloon") => `scenario "${name}" {${platform}
${body}
}
`;

// A case's `report` may also be a function; this one checks the proportional split by hand.
if (split(1536, [2048, 1024]).join() !== "1024,512" || split(5, [1, 1, 1]).join() !== "2,2,1" || split(3, [0, 0]).join() !== "0,0") {
  throw new Error("split does not share pages in proportion");
}

await new PluginTester().run("balloon", balloon, {
  valid: [
    // A run without the verb has no balloon section.
    {
      code: scenario(`  run until 1 s`, "unused"),
      report: (r) => {
        if ("balloon" in r) throw new Error("a run without balloons has a balloon section");
      },
    },
    // No pressure: the balloon never inflates.
    {
      code: scenario(`  at 0 s: balloon a\n  run until 1 s`, "idle"),
      report: { "balloon.web": { host: "a", size: 0, peak: 0, reclaimed: 0, deflated: 0, refaults: 0 } },
    },
    // Pressure at 1.05 s; the scan at 1.1 s inflates web by 1536 pages, its coldest: web wrote
    // pages 0..1023 at 0.55 s (after tracking began at 0 s), so 1024..2559 go.
    {
      code: scenario(`  at 0 s: balloon a
  at 550 ms: web writes pages 0..1023
  at 1050 ms: exhaust a { leave 2 MiB }
  run until 2 s
  expect balloon(web).size == 1536
  expect host(a).memory.free == 2048 pages`, "reclaim"),
      report: {
        "balloon.web.reclaimed": 1536,
        "balloon.web.peak": 1536,
        "balloon.web.deflated": 0,
        "balloon.web.refaults": 0,
        "balloon.web.host": "a",
        "vms.web.pages.unbacked": 1536,
      },
    },
    // The guest writes 100 pages it gave up: they leave the balloon at once (refaults) and take
    // frames again; free memory (1948) stays between the watermarks, so nothing else moves.
    {
      code: scenario(`  at 0 s: balloon a
  at 1050 ms: exhaust a { leave 2 MiB }
  at 1500 ms: web writes pages 0..99
  run until 2 s`, "refault"),
      report: { "balloon.web.size": 1436, "balloon.web.refaults": 100, "balloon.web.reclaimed": 1536, "hosts.a.frames.used": 10240 - 1948 },
    },
    // The other tenant leaves at 2.05 s: free memory (7680 frames) is far over the high
    // watermark, so the next scan deflates the whole balloon; the pages return empty.
    {
      code: scenario(`  at 0 s: balloon a
  at 1050 ms: exhaust a { leave 2 MiB }
  at 2050 ms: relieve a
  run until 3 s`, "deflate"),
      report: { "balloon.web": { host: "a", size: 0, peak: 1536, reclaimed: 1536, deflated: 1536, refaults: 0 } },
    },
    // Two VMs share the effort in proportion to what each balloon may take (half of each VM):
    // web 2048, db 1024, so 1024 and 512 of the 1536 pages.
    {
      code: scenario(`  vm db on a { vcpus 1  memory 8 MiB  initial random 100% }
  at 0 s: start db
  at 0 s: balloon a
  at 1050 ms: exhaust a { leave 2 MiB }
  run until 2 s`, "two-vms"),
      report: { "balloon.web.reclaimed": 1024, "balloon.db.reclaimed": 512 },
    },
    // The rate caps each scan: 5000 pages/s × 100 ms = 500 pages, so 1536 pages take 4 scans.
    {
      code: scenario(`  at 0 s: balloon a { rate 5000 pages/s }
  at 1050 ms: exhaust a { leave 2 MiB }
  run until 1250 ms
  expect balloon(web).size == 1000`, "rate"),
    },
    // The cap: a balloon takes at most max of its VM (10% of 4096 pages = 409).
    {
      code: scenario(`  at 0 s: balloon a { max 10% }
  at 1050 ms: exhaust a { leave 2 MiB }
  run until 2 s`, "cap"),
      report: { "balloon.web.size": 409 },
    },
    // A VM that migrates to a host without balloons gets its pages back (deflated).
    {
      code: scenario(`  at 0 s: balloon a
  at 1050 ms: exhaust a { leave 2 MiB }
  at 1500 ms: migrate web to b
  run until 5 s`, "migrate"),
      report: { "balloon.web.deflated": 1536, "balloon.web.size": 0, "balloon.web.host": "b", "vms.web.host": "b" },
    },
    // To a host with balloons too, the balloon goes along: the pages arrived empty, stay in it
    // and are trapped again (a write to 10 of them refaults on b). On b, free memory (10240 −
    // 5120 taken − 2560 of web's) is between the watermarks, so nothing else moves.
    {
      code: scenario(`  at 0 s: balloon a
  at 0 s: balloon b { low 10%  high 30% }
  at 1050 ms: exhaust a { leave 2 MiB }
  at 1050 ms: exhaust b { leave 20 MiB }
  at 1500 ms: migrate web to b
  at 3 s: web writes pages 0..9
  run until 4 s`, "migrate-kept"),
      report: { "balloon.web": { host: "b", size: 1526, peak: 1536, reclaimed: 1536, deflated: 0, refaults: 10 }, "hosts.b.frames.used": 5120 + 2560 + 10 },
    },
    // A VM that stops, or whose host crashes, gives its balloon back; a crashed host's policy rests.
    {
      code: scenario(`  at 0 s: balloon a
  at 1050 ms: exhaust a { leave 2 MiB }
  at 1500 ms: stop web
  run until 2 s`, "stop"),
      report: { "balloon.web.deflated": 1536, "balloon.web.size": 0, "vms.web.state": "stopped" },
    },
    {
      code: scenario(`  at 0 s: balloon a
  at 1050 ms: exhaust a { leave 2 MiB }
  at 1500 ms: crash a
  run until 2 s`, "crash"),
      report: { "balloon.web.deflated": 1536, "balloon.web.reclaimed": 1536, "hosts.a.up": false },
    },
  ],
  invalid: [
    // The verb's own check: watermarks in the wrong order, at the option.
    {
      code: scenario(`  at 0 s: balloon a { low 30%  high 20% }`),
      errors: [{ code: "VMSCN0222", line: 7, column: 32, message: "the high watermark (20%) must be above the low watermark (30%)" }],
    },
    // Validation from the option schema, for free: a value out of range, a wrong dimension.
    {
      code: scenario(`  at 0 s: balloon a { max 150%  interval 5 }`),
      errors: [{ code: "VMSCN0212", line: 7, column: 27 }, { code: "VMSCN0210", line: 7, column: 42 }],
    },
    // The plugin's own code: a second policy on one host fails that action only (at its line).
    {
      code: scenario(`  at 0 s: balloon a
  at 1 s: balloon a { low 5% }
  run until 2 s`),
      errors: [{ code: "BALLOON001", line: 8, column: 3, message: /host "a" already has a balloon policy \(since 0 s\)/ }],
    },
  ],
});
