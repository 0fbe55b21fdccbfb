// The RDMA share plugin through whole scenarios, with PluginTester: a migration over RDMA that
// leaves shared pages on the source, remote reads and copy-on-writes, the background copier,
// shared-pages copy and the TCP fallback, the failures of the remote-shared period (the moved
// VM fails with the plugin's VMSCN7603 / VMSCN7604: the migration action itself completed, so
// they are checked on the VM), and the checks of the options it adds to `migrate` (VMSCN0222,
// naming VMSCN7601 / VMSCN7602, which a scenario meets before the run).
//
// The platform (the document's figures 1-2): vm1 and vm2 from one image on host a; vm1 then
// writes its pages 256..1023 and vm2 its 512..1023, so only pages 0..255 are equal, and page
// sharing on a merges them (256 frames shared). vm1 moves to b: 768 pages cross (4104 bytes on
// the wire each), 256 stay on a. On the link (1024 MB/s = 1.024 B/ns, 10 µs latency) a remote
// read or copy of one page takes 10 µs for the request, 4 µs for 4096 B, 10 µs back: 24 µs.
import { PluginTester } from "../../app/testing/index.js";
import rdmaShare from "./index.js";

const platform = (b = "  rdma") => `  host a { cpus 4  memory 64 MiB  rdma }
  host b { cpus 4  memory 64 MiB${b} }
  link a <-> b { bandwidth 1024 MB/s  latency 10 us }
  vm vm1 on a { vcpus 1  memory 4 MiB  device-state 0 B  initial image "app" 100% }
  vm vm2 on a { vcpus 1  memory 4 MiB  device-state 0 B  initial image "app" 100% }
  at 0 s: start vm1
  at 0 s: start vm2
  at 1 ms: vm1 writes pages 256..1023
  at 1 ms: vm2 writes pages 512..1023
  at 10 ms: tps on a { pages-to-scan 1000  sleep 10 ms }`;

const scenario = (name: string, p: string, body: string): string => `scenario "${name}" {\n${p}\n${body}\n}\n`;

await new PluginTester().run("rdma-share", rdmaShare, {
  valid: [
    // A migration over TCP has no rdma section.
    {
      code: scenario("tcp", platform(), `  at 200 ms: migrate vm1 to b
  run until 300 ms`),
      report: (r) => {
        if ("rdma" in r) throw new Error("a migration over TCP has an rdma section");
      },
    },
    // The 256 shared pages stay on a, mapped remotely: only their list (16 B each) crosses.
    {
      code: scenario("moved", platform(), `  at 200 ms: migrate vm1 to b { transport rdma }
  run until 300 ms
  expect migration(vm1).status == "completed"
  expect migration(vm1).ram.normal == 768
  expect migration(vm1).ram.transferred == 768 * 4104
  expect rdma(vm1).pages-sent == 768
  expect rdma(vm1).pages-left-remote == 256
  expect rdma(vm1).pages-remote == 256
  expect rdma(vm1).page-list-bytes == 256 * 16
  expect rdma(vm1).bytes-deferred == 256 * 4104
  expect rdma(vm1).bytes-saved == 256 * 4104 - 256 * 16
  expect rdma(vm1).depends-on-source == true
  expect vm(vm1).pages.present == 768
  expect vm(vm1).pages.remote == 256
  expect host(a).memory.used == 1024 pages
  expect host(b).memory.used == 768 pages
  expect rdma(vm1).ksm-before.a.pages_sharing == 256
  expect rdma(vm1).ksm-after.a.pages_sharing == 0
  expect transfers.rdma > 0 and transfers.tcp == 0`),
      report: { "rdma.vm1.transport": "rdma", "rdma.vm1.shared-pages": "leave", "rdma.vm1.remote-cow": "on-write", "rdma.vm1.initiator": "source", "rdma.vm1.fallback": false, "rdma.vm1.source": "a", "rdma.vm1.destination": "b" },
    },
    // Reads of remote pages go over RDMA (24 µs each) and leave the pages where they are.
    scenario("remote-reads", platform(), `  at 200 ms: migrate vm1 to b { transport rdma  remote-cow on-write }
  at 300 ms: vm1 reads pages 0..9
  run until 400 ms
  expect rdma(vm1).remote-reads == 10
  expect rdma(vm1).remote-read-bytes == 10 * 4096
  expect rdma(vm1).remote-stall-time == 10 * 24 us
  expect rdma(vm1).remote-cows == 0
  expect rdma(vm1).pages-remote == 256
  expect host(b).memory.used == 768 pages`),
    // Writes copy remote pages over (a remote COW, 24 µs each) into new frames on b; a's
    // frames stay, vm2 still maps them.
    scenario("remote-cow", platform(), `  at 200 ms: migrate vm1 to b { transport rdma }
  at 300 ms: vm1 writes pages 0..4
  run until 400 ms
  expect rdma(vm1).remote-cows == 5
  expect rdma(vm1).remote-cow-bytes == 5 * 4096
  expect rdma(vm1).remote-stall-time == 5 * 24 us
  expect rdma(vm1).pages-remote == 251
  expect rdma(vm1).bytes-saved == 256 * 4104 - 256 * 16 - 5 * 4096
  expect host(b).memory.used == 773 pages
  expect host(a).memory.used == 1024 pages`),
    // on-access: a read copies the page over too.
    scenario("on-access", platform(), `  at 200 ms: migrate vm1 to b { transport rdma  remote-cow on-access }
  at 300 ms: vm1 reads pages 0..9
  run until 400 ms
  expect rdma(vm1).remote-cows == 10
  expect rdma(vm1).remote-reads == 0
  expect rdma(vm1).pages-remote == 246`),
    // The background copier pulls the 256 pages in one batch: 10 µs request, 1048576 B at
    // 1.024 B/ns, 10 µs back; then the VM depends on a no more.
    scenario("background", platform(), `  at 200 ms: migrate vm1 to b { transport rdma  remote-background }
  run until 400 ms
  expect rdma(vm1).background-pages == 256
  expect rdma(vm1).background-bytes == 256 * 4096
  expect rdma(vm1).pages-remote == 0
  expect rdma(vm1).remote-pages-peak == 256
  expect rdma(vm1).depends-on-source == false
  expect rdma(vm1).dependence-end == "local"
  expect rdma(vm1).dependence-time == 10 us + 1024 us + 10 us
  expect rdma(vm1).bytes-saved == 256 * 4104 - 256 * 4096 - 256 * 16
  expect host(b).memory.used == 1024 pages`),
    // shared-pages copy: plain pre-copy over RDMA, every page sent.
    scenario("copy", platform(), `  at 200 ms: migrate vm1 to b { transport rdma  shared-pages copy }
  run until 300 ms
  expect rdma(vm1).pages-sent == 1024
  expect rdma(vm1).pages-left-remote == 0
  expect rdma(vm1).depends-on-source == false
  expect host(b).memory.used == 1024 pages`),
    // fallback tcp: b has no RDMA NIC, so the migration runs over TCP and copies the shared pages.
    scenario("fallback-tcp", platform(""), `  at 200 ms: migrate vm1 to b { transport rdma  fallback tcp }
  run until 300 ms
  expect rdma(vm1).fallback == true
  expect rdma(vm1).transport == "tcp"
  expect rdma(vm1).pages-sent == 1024
  expect migration(vm1).status == "completed"
  expect transfers.rdma == 0`),
    // The source crashes while vm1 maps 256 pages there: vm1 fails with VMSCN7603.
    scenario("source-crash", platform(), `  at 200 ms: migrate vm1 to b { transport rdma }
  at 400 ms: crash a
  run until 500 ms
  expect vm(vm1).state == "stopped"
  expect vm(vm1).failure == "VMSCN7603 at 0.4 s: host \\"a\\" crashed at 0.4 s while VM \\"vm1\\" still mapped 256 of its pages there (remote-shared since 0.203132 s)"
  expect rdma(vm1).depends-on-source == false
  expect host(b).memory.used == 0`),
    // The link goes down: vm1 runs on until it reads a remote page, then fails with VMSCN7604.
    scenario("link-down", platform(), `  at 200 ms: migrate vm1 to b { transport rdma }
  at 300 ms: link a<->b down
  at 350 ms: vm1 reads pages 300..309
  at 400 ms: vm1 reads page 10
  run until 500 ms
  expect vm(vm1).state == "stopped"
  expect vm(vm1).failure == "VMSCN7604 at 0.4 s: VM \\"vm1\\" could not read its pages on host \\"a\\" (no route from host \\"b\\"); 256 pages still mapped there"
  expect vm(vm1).accesses.reads == 10
  expect host(a).memory.used == 1024 pages`),
  ],
  invalid: [
    // The checks before the run (VMSCN0222, at the option): RDMA without an RDMA NIC on b
    // (VMSCN7601 at run time), shared pages left without RDMA (VMSCN7602), remote-cow and
    // remote-background where nothing is left behind.
    {
      code: scenario("checks", platform(""), `  at 200 ms: migrate vm1 to b { transport rdma }
  at 200 ms: migrate vm2 to b { transport tcp  shared-pages leave }
  at 300 ms: migrate vm1 to b { remote-cow on-access }
  at 300 ms: migrate vm2 to b { transport rdma  shared-pages copy  remote-background }`),
      errors: [
        { code: "VMSCN0222", line: 12, column: 33, message: 'RDMA transport needs RDMA NICs on both hosts; host "b" has none' },
        { code: "VMSCN0222", line: 13, column: 48, message: "shared pages can be left on the source only when the migration runs over RDMA" },
        { code: "VMSCN0222", line: 14, column: 33, message: "remote-cow and remote-background apply only to pages left on the source (transport rdma, shared-pages leave)" },
        { code: "VMSCN0222", line: 15, column: 33 },
        { code: "VMSCN0222", line: 15, column: 68 },
      ],
    },
    // The schema of the options it adds.
    {
      code: scenario("schema", platform(), `  at 200 ms: migrate vm1 to b { transport rdma  shared-pages keep }
  at 200 ms: migrate vm1 to b { transport rdma  fallback udp }
  at 200 ms: migrate vm1 to b { transport rdma  initiator both }
  at 200 ms: migrate vm1 to b { transport rdma  remote-background 3 }`),
      errors: [
        { code: "VMSCN0213", line: 12, column: 62 },
        { code: "VMSCN0213", line: 13, column: 58 },
        { code: "VMSCN0213", line: 14, column: 59 },
        { code: "VMSCN0213", line: 15, column: 67 },
      ],
    },
  ],
});
