// The compression plugin through whole scenarios, with PluginTester. It has no verb of its own:
// its users are the checkpoint's `compression` option and the migration's `compress` and
// `xbzrle`, and its figures are the report's `compression.<session>` (README.md). The modelled
// CPU costs are per uncompressed byte: zlib level 1 8 ns, level 6 24 ns, Snappy 2 ns; zlib
// decompresses at 2.5 ns, Snappy at 1 ns.
//
// Its own codes (VMSCN7401 unknown codec, VMSCN7402 bad level, VMSCN7403 bad XBZRLE option)
// are the service's answers to a plugin's wrong request; a scenario cannot make one, since the
// users' option schemas and checks refuse such values first (VMSCN0213, VMSCN0212, VMSCN0222:
// the invalid cases below).
import { PluginTester } from "../../app/testing/index.js";
import compression from "./index.js";

const MiB = 1024 * 1024;

const store = (vm: string) => `  host a { cpus 4  memory 64 MiB }
  datastore san { on a  bandwidth 500 MB/s }
  vm web on a { vcpus 1  memory 4 MiB ${vm} }
  at 0 s: start web`;

const pair = `  host a { cpus 16  memory 64 MiB }
  host b { cpus 16  memory 64 MiB }
  link a <-> b { bandwidth 1 Gbit/s }
  vm web on a { vcpus 2  memory 16 MiB  initial compressible 100% at 75% }
  at 0 s: start web`;

const scenario = (name: string, platform: string, body: string): string => `scenario "${name}" {\n${platform}\n${body}\n}\n`;

await new PluginTester().run("compression", compression, {
  valid: [
    // No user: no compression section.
    {
      code: scenario("unused", store(""), "  run until 10 ms"),
      report: (r) => {
        if ("compression" in r) throw new Error("a run without a codec has a compression section");
      },
    },
    // A zlib level 1 checkpoint of a compressible guest: 128 blocks of 8 pages, 8 ns per byte
    // to compress, 2.5 ns per byte to decompress at the restore, byte-identical.
    {
      code: scenario("checkpoint-zlib", store(" initial compressible 100% at 75%"), `  at 1 s: checkpoint web to san { compression zlib  level 1 }
  at 2 s: suspend web
  at 2 s: restore web from san { verify }
  run until 3 s
  expect compression("checkpoint:web").codec == "zlib"
  expect compression("checkpoint:web").level == 1
  expect compression("checkpoint:web").pages == 1024
  expect compression("checkpoint:web").bytes-in == 4 MiB
  expect compression("checkpoint:web").compress-time == 8 * 4 MiB / 1 B
  expect compression("checkpoint:web").bytes-out < 0.4 * 4 MiB
  expect compression("restore:web").decompress-time == 2.5 * 4 MiB / 1 B
  expect checkpoint(web).restore.verified-pages == 1024`),
      report: { "compression.checkpoint:web.blocks": 128, "compression.checkpoint:web.stored": 0, "compression.restore:web.decoded": 128, "compression.restore:web.pages": 0 },
    },
    // The default level of zlib is 6: 24 ns per byte.
    scenario("checkpoint-zlib-6", store(" initial compressible 100% at 75%"), `  at 1 s: checkpoint web to san { compression zlib }
  run until 2 s
  expect compression("checkpoint:web").level == 6
  expect compression("checkpoint:web").compress-time == 24 * 4 MiB / 1 B`),
    // Random pages do not compress: every block is kept raw, the output as large as the input.
    scenario("incompressible", store(" initial random 100%"), `  at 1 s: checkpoint web to san { compression snappy }
  run until 2 s
  expect compression("checkpoint:web").stored == 128
  expect compression("checkpoint:web").bytes-out == 4 MiB
  expect compression("checkpoint:web").compress-time == 2 * 4 MiB / 1 B`),
    // Zero and untouched pages are encoded up front: only the 100 written pages reach the codec.
    // They fill blocks 0..12 (block 12 has 4 untouched pages); the 115 other blocks are all
    // untouched and never reach the session.
    {
      code: scenario("untouched-up-front", store(""), `  at 100 ms: web writes pages 0..99
  at 1 s: checkpoint web to san { compression snappy }
  run until 2 s
  expect compression("checkpoint:web").bytes-in == 100 * 4 KiB
  expect checkpoint(web).save.pages-content == 100`),
      report: {
        "compression.checkpoint:web.blocks": 13,
        "compression.checkpoint:web.pages": 104,
        "compression.checkpoint:web.untouched-pages": 4,
        "compression.checkpoint:web.compress-time": 2 * 100 * 4096,
        "compression.checkpoint:web.bytes-out": 100 * 4096,
        "compression.checkpoint:web.bytes-saved": 4 * 4096,
        "compression.checkpoint:web.level": null,
        "checkpoint.web.save.blocks-zero": 115,
      },
    },
    // Pre-copy with zlib (QEMU's defaults: level 1, 8 compress and 2 decompress threads): 8
    // batches of 512 pages, each compressed (512 × 4096 B × 8 ns / 8 = 2.097 ms), sent, and
    // decompressed (512 × 4096 B × 2.5 ns / 2 = 2.621 ms) in turn; each page has a 12-byte header.
    {
      code: scenario("migrate-zlib", pair, `  at 1 s: migrate web to b { compress zlib }
  run until 3 s
  expect migration(web).status == "completed"
  expect migration(web).compression.pages == 4096
  expect migration(web).compression.cpu-time == 4096 * 4096 * 8
  expect migration(web).compression.decompress-time == 4096 * 4096 * 2.5
  expect migration(web).ram.transferred == migration(web).compression.compressed-size + 4096 * 12
  expect migration(web).rounds.r1.duration == 8 * (2097152 + 2621440) + migration(web).ram.transferred / 125000000 * 1 s
  expect compression("migrate:web").bytes-out == migration(web).compression.compressed-size`),
      report: { "compression.migrate:web.codec": "zlib", "compression.migrate:web.level": 1, "compression.migrate:web.bytes-in": 16 * MiB, "migration.web.compression.threads": 8 },
    },
    // Snappy with 4 compress threads and 1 decompress thread: 1.049 ms and 2.097 ms per batch.
    scenario("migrate-snappy", pair, `  at 1 s: migrate web to b { compress snappy  compress-threads 4  decompress-threads 1 }
  run until 3 s
  expect migration(web).compression.codec == "snappy"
  expect migration(web).compression.cpu-time == 4096 * 4096 * 2
  expect migration(web).compression.decompress-time == 4096 * 4096
  expect migration(web).rounds.r1.duration == 8 * (1048576 + 2097152) + migration(web).ram.transferred / 125000000 * 1 s`),
  ],
  invalid: [
    // The checkpoint's options: an unknown codec, a level out of range, a level Snappy does not take.
    {
      code: scenario("checkpoint-options", store(""), `  at 1 s: checkpoint web to san { compression lz4 }
  at 1 s: checkpoint web to san { compression zlib  level 10 }
  at 2 s: checkpoint web to san { compression snappy  level 3 }
  run until 3 s`),
      errors: [
        { code: "VMSCN0213", line: 6, column: 47 },
        { code: "VMSCN0212", line: 7, column: 59 },
        { code: "VMSCN0222", line: 8, column: 55, message: "option level is zlib's; this save uses snappy" },
      ],
    },
    // The migration's: options that would do nothing are refused at the option (VMSCN0222).
    {
      code: scenario("migrate-options", pair, `  at 1 s: migrate web to b { compress snappy  compress-level 3 }
  at 1 s: migrate web to b { compress-threads 4 }
  at 1 s: migrate web to b { xbzrle-cache-size 1 MiB }
  at 1 s: migrate web to b with demand-paging { compress zlib }
  run until 3 s`),
      errors: [
        { code: "VMSCN0222", line: 7, column: 47, message: "compress-level is zlib's level; this migration's codec is snappy" },
        { code: "VMSCN0222", line: 8, column: 30, message: "compress-threads needs a codec (compress zlib or compress snappy)" },
        { code: "VMSCN0222", line: 9, column: 30, message: "xbzrle-cache-size needs xbzrle" },
        { code: "VMSCN0222", line: 10, column: 49 },
      ],
    },
    // The schema: a codec the migration does not know, a level over 9, a cache smaller than a page.
    {
      code: scenario("migrate-schema", pair, `  at 1 s: migrate web to b { compress lz4 }
  at 1 s: migrate web to b { compress zlib  compress-level 12 }
  at 1 s: migrate web to b { xbzrle  xbzrle-cache-size 1 KiB }
  run until 3 s`),
      errors: [
        { code: "VMSCN0213", line: 7, column: 39 },
        { code: "VMSCN0212", line: 8, column: 60 },
        { code: "VMSCN0212", line: 9, column: 56 },
      ],
    },
  ],
});
