// The pre-copy migration plugin through whole scenarios, with PluginTester: the document's
// worked example (exact rounds, bytes and times), demand and background paging, refusals at
// run time, the verb's checks before the run (VMSCN0222) and its option schema. It declares no
// codes of its own: it refuses with kernel codes (README.md).
//
// On the wire a page is 4104 bytes (an 8-byte header and 4096); at bandwidth 16416000 B/s that
// is 4000 pages/s, and 410400 B of device state take 25 ms.
import { PluginTester } from "../../app/testing/index.js";
import precopyMigration from "./index.js";

// 16 MiB = 4096 pages of random (non-zero) content; its disk on shared storage is re-mapped.
const worked = `  host a { cpus 4  memory 64 MiB }
  host b { cpus 4  memory 64 MiB }
  link a <-> b { bandwidth 10 Gbit/s  latency 0 us }
  datastore san { shared-by a, b  bandwidth 1 GB/s }
  vm web on a { vcpus 2  memory 16 MiB  disk san 1 GiB  device-state 410400 B  initial random 100% }
  at 0 s: start web`;

// Round 1 (4096 pages) runs from 1 s to 2.024 s, round 2 (the 1024 pages written during
// round 1) to 2.280 s; during round 2, 300 pages are written: fewer than 512, so it switches over.
const writes = `  at 1.5 s: web writes pages 0..1023
  at 2.1 s: web writes pages 0..199
  at 2.1 s: web writes pages 1024..1123`;

const three = `  host a { cpus 4  memory 64 MiB }
  host b { cpus 4  memory 64 MiB }
  host c { cpus 4  memory 64 MiB }
  link a <-> b { bandwidth 1 Gbit/s  latency 50 us }
  vm web on a { vcpus 1  memory 16 MiB  initial random 100% }
  vm db on a { vcpus 1  memory 16 MiB  initial random 100% }
  at 0 s: start web`;

const scenario = (name: string, platform: string, body: string): string => `scenario "${name}" {\n${platform}\n${body}\n}\n`;

await new PluginTester().run("precopy-migration", precopyMigration, {
  valid: [
    // Two rounds, then 300 pages while suspended (75 ms) and the device state (25 ms).
    {
      code: scenario("worked-example", worked, `  at 1 s: migrate web to b with precopy { bandwidth 16416000 B/s  threshold 512 }
${writes}
  run until 3 s
  expect migration(web).status == "completed"
  expect migration(web).round-count == 2
  expect migration(web).rounds.r1.pages == 4096
  expect migration(web).rounds.r1.dirtied == 1024
  expect migration(web).rounds.r2.pages == 1024
  expect migration(web).rounds.r2.dirtied == 300
  expect migration(web).switch-reason == "threshold"
  expect migration(web).ram.downtime-bytes == 300 * 4104
  expect migration(web).downtime == 100 ms
  expect migration(web).rounds.r1.duration == 1024 ms
  expect migration(web).rounds.r2.duration == 256 ms
  expect migration(web).total-time == 1380 ms
  expect migration(web).ram.transferred == (4096 + 1024 + 300) * 4104
  expect web.host == b
  expect host(a).memory.used == 0
  expect host(b).memory.used == 16 MiB`),
      report: { "migration.web.ram.normal": 5420, "migration.web.ram.duplicate": 0, "migration.web.ram.dirty-sync-count": 3, "migration.web.source-dependency-time": 0, "vms.web.host": "b" },
    },
    // The same, the 300 pages left for after resume (2.305 s): each read is one network page
    // fault of one page (250 µs at the cap, latency 0); only the device state while suspended.
    // The last page lands at 3.125 s: the VM depended on the source for 820 ms.
    scenario("worked-example-demand", worked, `  at 1 s: migrate web to b with precopy { bandwidth 16416000 B/s  threshold 512  after demand-paging }
${writes}
  at 3 s: web reads pages 0..199
  at 3.1 s: web reads pages 1024..1123
  run until 4 s
  expect migration(web).status == "completed"
  expect migration(web).ram.downtime-bytes == 0
  expect migration(web).downtime == 25 ms
  expect migration(web).ram.postcopy-requests == 300
  expect migration(web).demand-paging.faults == 300
  expect migration(web).ram.postcopy-bytes == 300 * 4104
  expect migration(web).demand-paging.stall-time == 300 * 250 us
  expect migration(web).source-dependency-time == 820 ms
  expect migration(web).total-time == 2125 ms
  expect host(a).memory.used == 0`),
    // A threshold above what round 2 leaves: it switches over after round 1 with the 1024 pages.
    scenario("threshold-2000", worked, `  at 1 s: migrate web to b { bandwidth 16416000 B/s  threshold 2000 }
  at 1.5 s: web writes pages 0..1023
  run until 3 s
  expect migration(web).round-count == 1
  expect migration(web).ram.downtime-bytes == 1024 * 4104
  expect migration(web).downtime == 256 ms + 25 ms
  expect migration(web).total-time == 1024 ms + 256 ms + 25 ms`),
    // max-rounds 1 stops pre-copy after round 1 whatever the threshold says.
    scenario("max-rounds", worked, `  at 1 s: migrate web to b { bandwidth 16416000 B/s  threshold 0  max-rounds 1 }
  at 1.5 s: web writes pages 0..1023
  run until 3 s
  expect migration(web).round-count == 1
  expect migration(web).switch-reason == "max-rounds"
  expect migration(web).ram.normal == 4096 + 1024`),
    // with demand-paging: no pre-copy; the background thread pulls the pages in batches of 64
    // (1 ms a page at 4104000 B/s) while the 10 pages read first come on demand.
    scenario("demand-background", `  host a { cpus 4  memory 64 MiB }
  host b { cpus 4  memory 64 MiB }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }
  vm web on a { vcpus 1  memory 4 MiB  device-state 4104 B  initial random 100% }
  vm idle on a { vcpus 1  memory 4 MiB  initial random 100% }
  at 0 s: start web
  at 0 s: start idle`, `  at 1 s: migrate web to b with demand-paging { bandwidth 4104000 B/s  batch 64  after background }
  at 1.1 s: web reads pages 1000..1009
  at 1.2 s: web reads pages 1000..1009
  at 1 s: migrate idle to b with demand-paging
  run until 3 s
  expect migration(web).status == "completed"
  expect migration(web).ram.postcopy-requests == 10
  expect migration(web).demand-paging.background-pages == 1024 - 10
  expect migration(web).ram.transferred == 1024 * 4104
  expect migration(idle).status == "postcopy-active"
  expect migration(idle).depends-on-source == true
  expect migration(idle).demand-paging.pages-left == 1024
  expect host(a).memory.used == 4 MiB
  expect host(b).memory.used == 4 MiB`),
    // No migration: no migration section.
    {
      code: scenario("unused", worked, "  run until 10 ms"),
      report: (r) => {
        if ("migration" in r) throw new Error("a run without migrate has a migration section");
      },
    },
  ],
  invalid: [
    // Refused when the action runs (a failed action at its line): a VM already migrating
    // (VMSCN5011, the first one completes) and a VM that was never started (VMSCN5004).
    {
      code: scenario("already-migrating", three, `  link a <-> c { bandwidth 1 Gbit/s  latency 50 us }
  at 1 s: migrate web to b
  at 1.01 s: migrate web to c
  at 1 s: migrate db to b
  run until 3 s
  expect migration(web).status == "completed"
  expect migration(web).refusals == 1
  expect migration(web).refusal-code == "VMSCN5011"
  expect migration(db).status == "refused"`),
      errors: [
        { code: "VMSCN5011", line: 11, column: 3, message: 'VM "web" is already migrating (to "b" since 1000000000 ns)' },
        { code: "VMSCN5004", line: 12, column: 3, message: 'cannot migrate VM "db": it is created' },
      ],
    },
    // A destination an earlier migration filled refuses at run time (VMSCN5002); as declared
    // it could hold either VM, so the check before the run lets it through.
    {
      code: scenario("full-destination", `  host a { cpus 4  memory 128 MiB }
  host b { cpus 4  memory 24 MiB }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }
  vm web on a { vcpus 1  memory 16 MiB  initial random 100% }
  vm db on a { vcpus 1  memory 16 MiB  initial random 100% }
  at 0 s: start web
  at 0 s: start db`, `  at 1 s: migrate db to b
  at 2 s: migrate web to b
  run until 3 s
  expect web.host == a
  expect host(b).memory.used == 16 MiB`),
      errors: [{ code: "VMSCN5002", line: 10, column: 3, message: 'host "b" cannot hold VM "web": it needs 16 MiB and 8 MiB is free' }],
    },
    // The link fails during pre-copy: the migration aborts and the VM keeps running on the source.
    {
      code: scenario("link-down", `  host a { cpus 4  memory 64 MiB }
  host b { cpus 4  memory 64 MiB }
  link a <-> b { bandwidth 100 Mbit/s  latency 50 us }
  vm web on a { vcpus 1  memory 16 MiB  initial random 100% }
  at 0 s: start web`, `  at 1 s: migrate web to b
  at 1.5 s: link a<->b down
  run until 3 s
  expect migration(web).status == "failed"
  expect web.host == a
  expect web.state == "running"
  expect host(b).memory.used == 0`),
      errors: [{ code: "VMSCN5010", line: 7, column: 3, message: /^migration of "web" to "b" failed: a transfer failed before switch-over \(link "a<->b" went down at 1\.5 s/ }],
    },
    // The verb's check before the run (VMSCN0222, at the argument or option concerned): the
    // VM's own host, a destination the declared VMs fill, RDMA without RDMA NICs, a disk the
    // destination cannot reach when disk copy is refused.
    {
      code: scenario("checks", `  host a { cpus 4  memory 128 MiB }
  host b { cpus 4  memory 24 MiB }
  link a <-> b { bandwidth 10 Gbit/s }
  datastore local { on a  bandwidth 1 GB/s }
  vm web on a { vcpus 1  memory 16 MiB  disk local 1 GiB }
  vm db on b { vcpus 1  memory 16 MiB }`, `  at 1 s: migrate web to a
  at 1 s: migrate web to b
  at 2 s: migrate db to a { transport rdma  disk refuse }
  at 2 s: migrate web to a { disk refuse }
  at 3 s: migrate db to a { transport tcp }`),
      errors: [
        { code: "VMSCN0222", line: 8, column: 26, message: 'VM "web" is declared on host "a" already' },
        { code: "VMSCN0222", line: 9, column: 26, message: 'host "b" cannot hold VM "web": it needs 16 MiB and the VMs declared on it leave 8 MiB' },
        { code: "VMSCN0222", line: 10, column: 29, message: 'RDMA transport needs RDMA NICs on both hosts; host "a" has none' },
        { code: "VMSCN0222", line: 11, column: 26 },
      ],
    },
    {
      code: scenario("disk-refuse", `  host a { cpus 4  memory 128 MiB }
  host b { cpus 4  memory 128 MiB }
  link a <-> b { bandwidth 10 Gbit/s }
  datastore local { on a  bandwidth 1 GB/s }
  vm web on a { vcpus 1  memory 16 MiB  disk local 1 GiB }`, `  at 1 s: migrate web to b { disk refuse }`),
      errors: [{ code: "VMSCN0222", line: 7, column: 30, message: 'VM "web" has a disk on datastore "local", which host "b" cannot reach, and disk copy is refused' }],
    },
    // The option schema and the arguments.
    {
      code: scenario("schema", three, `  at 1 s: migrate web to b { converge fast }
  at 1 s: migrate web to b { max-rounds 0 }
  at 1 s: migrate web to b { bandwidth 10 MiB }
  at 1 s: migrate web to b { rounds 3 }
  at 1 s: migrate web to b with postcopy
  at 1 s: migrate wbe to b
  at 1 s: migrate web to d`),
      errors: [
        { code: "VMSCN0213", line: 9, column: 39 },
        { code: "VMSCN0212", line: 10, column: 41 },
        { code: "VMSCN0210", line: 11, column: 40 },
        { code: "VMSCN0208", line: 12, column: 30 },
        { code: "VMSCN0213", line: 13, column: 33 },
        { code: "VMSCN0202", line: 14, column: 19 },
        { code: "VMSCN0201", line: 15, column: 26 },
      ],
    },
  ],
});
