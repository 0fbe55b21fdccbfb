// The lazy checkpoint plugin through whole scenarios, with PluginTester: lazy and suspend-mode
// saves, the block layout (memory blocks of `block-pages` pages, IO blocks of `io-blocks`
// memory blocks), blocks encoded up front, restores, the timer, the refusals and failures with
// the plugin's own codes, and the verbs' checks and option schemas.
//
// The platform: a VM of 1 MiB = 256 pages, so 32 memory blocks of 8 pages in 4 IO blocks of 8.
import { PluginTester } from "../../app/testing/index.js";
import lazyCheckpoint from "./index.js";

const platform = (vms: string) => `  host a { cpus 4  memory 64 MiB }
  datastore san { on a  bandwidth 1 GB/s  latency 100 us }
${vms}`;

const web = platform(`  vm web on a { vcpus 1  memory 1 MiB  initial random 100% }
  at 0 s: start web`);

const scenario = (name: string, p: string, body: string): string => `scenario "${name}" {\n${p}\n${body}\n}\n`;

await new PluginTester().run("lazy-checkpoint", lazyCheckpoint, {
  valid: [
    // No checkpoint: no checkpoint section.
    {
      code: scenario("unused", web, "  run until 10 ms"),
      report: (r) => {
        if ("checkpoint" in r) throw new Error("a run without checkpoint has a checkpoint section");
      },
    },
    // A lazy save of an idle guest: no vCPU touches a traced block, so the background thread
    // saves all 32 blocks into the second part; the restore brings back every page, verified.
    {
      code: scenario("lazy-idle", web, `  at 1 s: checkpoint web to san
  at 2 s: suspend web
  at 2 s: restore web from san { verify }
  run until 3 s
  expect checkpoint(web).save.status == "completed"
  expect checkpoint(web).save.mode == "lazy"
  expect checkpoint(web).save.memory-blocks == 32
  expect checkpoint(web).save.blocks-vcpu == 0
  expect checkpoint(web).save.blocks-background == 32
  expect checkpoint(web).save.io-blocks == 4
  expect checkpoint(web).save.io-blocks-first-part == 0
  expect checkpoint(web).save.io-blocks-second-part == 4
  expect checkpoint(web).save.pages-content == 256
  expect checkpoint(web).restore.status == "completed"
  expect checkpoint(web).restore.verified-pages == 256
  expect web.state == "running"`),
      report: { "checkpoint.web.saves": 1, "checkpoint.web.save.file": "san/web.ckpt", "checkpoint.web.save.io-memory-map.io0": "0,1,2,3,4,5,6,7", "checkpoint.web.save.trace": "access" },
    },
    // The layout: 16 pages a memory block (16 blocks), 2 memory blocks an IO block (8 IO blocks).
    scenario("layout", web, `  at 1 s: checkpoint web to san { block-pages 16  io-blocks 2 }
  run until 2 s
  expect checkpoint(web).save.memory-blocks == 16
  expect checkpoint(web).save.io-blocks == 8
  expect checkpoint(web).save.io-memory-map.io0 == "0,1"`),
    // Blocks whose pages are all untouched are encoded up front: no IO block holds them, and
    // they restore as zero pages without a read. Pages 0..63 fill 8 blocks: one IO block.
    scenario("zero-blocks-up-front", platform(`  vm web on a { vcpus 1  memory 1 MiB }
  at 0 s: start web`), `  at 0.5 s: web writes pages 0..63
  at 1 s: checkpoint web to san
  at 2 s: suspend web
  at 2 s: restore web from san
  run until 3 s
  expect checkpoint(web).save.blocks-zero == 24
  expect checkpoint(web).save.pages-untouched == 192
  expect checkpoint(web).save.memory-io-map.mb8 == "zero"
  expect checkpoint(web).save.io-blocks == 1
  expect checkpoint(web).restore.io-reads == 1
  expect checkpoint(web).restore.blocks-zero == 24
  expect web.pages.present == 64
  expect web.pages.unbacked == 192`),
    // Suspend mode: no traces; the background thread saves every block into the first part,
    // the most accessed first (pages 200..255 are blocks 25..31); the VM runs again afterwards.
    scenario("suspend-mode", web, `  at 1 s: checkpoint web to san { mode suspend  access-window 100 ms }
  at 1.01 s: web reads pages 200..255
  run until 3 s
  expect checkpoint(web).save.status == "completed"
  expect checkpoint(web).save.blocks-vcpu == 0
  expect checkpoint(web).save.trace-faults == 0
  expect checkpoint(web).save.blocks-background == 32
  expect checkpoint(web).save.io-blocks-first-part == 4
  expect checkpoint(web).save.io-blocks-second-part == 0
  expect checkpoint(web).save.accessed-pages == 56
  expect checkpoint(web).save.io-memory-map.io0 == "25,26,27,28,29,30,31,0"
  expect checkpoint(web).save.downtime == checkpoint(web).save.total-time - 100 ms
  expect web.state == "running"`),
    // after suspended: the VM stays suspended once the save is done.
    scenario("suspend-after", web, `  at 1 s: checkpoint web to san { mode suspend  after suspended }
  run until 2 s
  expect checkpoint(web).save.status == "completed"
  expect web.state == "suspended"`),
    // A timer: three saves a second apart, each to its own numbered file.
    scenario("timer", web, `  at 1 s: checkpoint web to san { every 1 s  count 3 }
  run until 4 s
  expect checkpoint(web).saves == 3
  expect checkpoint(web).save.file == "san/web-3.ckpt"
  expect checkpoint(web).save.checkpoint-time == 3 s
  expect checkpoint(web).save.status == "completed"
  expect files("san/web-1.ckpt").writes > 0`),
    // A restore into a VM never started, from a file another VM's save wrote.
    scenario("restore-other-vm", platform(`  vm web on a { vcpus 1  memory 1 MiB  initial random 100% }
  vm twin on a { vcpus 1  memory 1 MiB }
  at 0 s: start web`), `  at 1 s: checkpoint web to san { file "image.ckpt" }
  at 2 s: restore twin from san { file "image.ckpt"  verify }
  run until 3 s
  expect checkpoint(twin).restore.status == "completed"
  expect checkpoint(twin).restore.verified-pages == 256
  expect twin.state == "running"`),
  ],
  invalid: [
    // Refused when the action runs: a second save while the first is under way (VMSCN7308),
    // a restore of a running VM (VMSCN5004); the first save completes.
    {
      code: scenario("busy", web, `  at 1 s: checkpoint web to san
  at 1.0001 s: checkpoint web to san { file "again.ckpt" }
  at 2 s: restore web from san
  run until 3 s
  expect checkpoint(web).save.status == "completed"
  expect checkpoint(web).saves == 1`),
      errors: [
        { code: "VMSCN7308", line: 7, column: 3, message: 'VM "web" has a checkpoint save under way (file "san/web.ckpt")' },
        { code: "VMSCN5004", line: 8, column: 3, message: 'cannot restore VM "web": it is running (a restore needs it created or suspended; suspend it first)' },
      ],
    },
    // A checkpoint of a 1 MiB guest restored into a 2 MiB VM (VMSCN7304, after its header is read).
    {
      code: scenario("size-mismatch", platform(`  vm web on a { vcpus 1  memory 1 MiB  initial random 100% }
  vm big on a { vcpus 1  memory 2 MiB  initial random 100% }
  at 0 s: start web`), `  at 1 s: checkpoint web to san
  at 2 s: restore big from san { file "web.ckpt" }
  run until 3 s
  expect big.state == "created"
  expect big.pages.present == 512`),
      errors: [{ code: "VMSCN7304", line: 8, column: 3, message: 'checkpoint file "san/web.ckpt" holds a guest of 256 pages (1 MiB; header offset 40) and VM "big" has 512 pages (2 MiB)' }],
    },
    // A file that does not exist (VMSCN7306); the VM is left as it was.
    {
      code: scenario("missing-file", platform(`  vm web on a { vcpus 1  memory 1 MiB  initial random 100% }`), `  at 1 s: restore web from san { file "nothing.ckpt" }
  run until 2 s
  expect web.state == "created"
  expect web.pages.present == 256`),
      errors: [{ code: "VMSCN7306", line: 5, column: 3 }],
    },
    // A save that needs more room than max-size fails as on a full disk (VMSCN7307); the VM goes on.
    {
      code: scenario("max-size", web, `  at 1 s: checkpoint web to san { max-size 512 KiB }
  run until 2 s
  expect checkpoint(web).save.status == "failed"
  expect checkpoint(web).save.failure-code == "VMSCN7307"
  expect web.state == "running"`),
      errors: [{ code: "VMSCN7307", line: 6, column: 3, message: /^no space left for checkpoint file "san\/web\.ckpt"/ }],
    },
    // The verbs' checks before the run (VMSCN0222, at the argument or option concerned).
    {
      code: scenario("checks", `  host a { cpus 4  memory 64 MiB }
  host b { cpus 4  memory 64 MiB }
  datastore san { on a  bandwidth 1 GB/s }
  vm web on a { vcpus 1  memory 1 MiB }
  vm lone on b { vcpus 1  memory 1 MiB }`, `  at 1 s: checkpoint lone
  at 1 s: checkpoint web to san { mode suspend  background-threads 0 }
  at 1 s: checkpoint web to san { compression snappy  level 3 }
  at 1 s: checkpoint web to san { count 3 }
  at 2 s: restore web from san { file "a.ckpt"  path "b.ckpt" }`),
      errors: [
        { code: "VMSCN0222", line: 7, column: 22, message: 'VM "lone" has no disk and host "b" reaches no datastore: the checkpoint file has nowhere to go' },
        { code: "VMSCN0222", line: 8, column: 49, message: "a suspend-mode save needs at least one background thread (no vCPU runs to save blocks)" },
        { code: "VMSCN0222", line: 9, column: 55, message: "option level is zlib's; this save uses snappy" },
        { code: "VMSCN0222", line: 10, column: 35, message: "count 3 needs a period: every" },
        { code: "VMSCN0222", line: 11, column: 49, message: "give the file by name on the datastore (file) or by path (path), not both" },
      ],
    },
    {
      code: scenario("unreachable", `  host a { cpus 4  memory 64 MiB }
  host b { cpus 4  memory 64 MiB }
  datastore san { on a  bandwidth 1 GB/s }
  vm lone on b { vcpus 1  memory 1 MiB }`, `  at 1 s: restore lone from san`),
      errors: [{ code: "VMSCN0222", line: 6, column: 29, message: 'host "b" of VM "lone" cannot reach datastore "san"' }],
    },
    // The option schemas and the arguments.
    {
      code: scenario("schema", web, `  at 1 s: checkpoint web to san { mode fast }
  at 1 s: checkpoint web to san { block-pages 0 }
  at 1 s: checkpoint web to san { every 10 }
  at 1 s: checkpoint web to san { max-size 1 KiB }
  at 1 s: checkpoint web to san { throttle 0% }
  at 1 s: checkpoint web to san { pages 8 }
  at 1 s: checkpoint web to nas
  at 1 s: restore web from san { verify 3 }`),
      errors: [
        { code: "VMSCN0213", line: 6, column: 40 },
        { code: "VMSCN0212", line: 7, column: 47 },
        { code: "VMSCN0210", line: 8, column: 41 },
        { code: "VMSCN0212", line: 9, column: 44 },
        { code: "VMSCN0212", line: 10, column: 44 },
        { code: "VMSCN0208", line: 11, column: 35 },
        { code: "VMSCN0203", line: 12, column: 29 },
        { code: "VMSCN0213", line: 13, column: 41 },
      ],
    },
  ],
});
