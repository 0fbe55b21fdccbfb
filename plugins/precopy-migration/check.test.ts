// Requests the migrate verb refuses before the run, each at the argument or option concerned.
import "reflect-metadata";
import t from "tap";
import { check } from "../../app/pipeline.js";
import { files } from "../../test/dsl/validate/helpers.js";

const platform = `
  host a { cpus 4  memory 1 GiB  rdma }
  host b { cpus 4  memory 64 MiB }
  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }
  datastore local-a { on a  bandwidth 1 GB/s }
  vm web on a { vcpus 1  memory 48 MiB  disk local-a 1 GiB }
  vm db on b { vcpus 1  memory 8 MiB }
`;

async function problems(action: string) {
  const c = await check(files({ "m.vmscn": `scenario "m" {${platform}  ${action}\n}\n` }));
  return c.diagnostics.map((d) => [d.code, d.loc.line, d.loc.column, d.message]);
}

t.test("a valid request has no problem", async (t) => {
  t.same(await problems("at 1 s: migrate web to b"), []);
});

t.test("a VM already on the destination", async (t) => {
  t.same(await problems("at 1 s: migrate db to b"), [["VMSCN0222", 8, 25, 'VM "db" is declared on host "b" already']]);
});

t.test("a destination too small for the VM as declared", async (t) => {
  t.same(await problems("at 1 s: migrate web to b { disk copy }\n  vm big on b { vcpus 1  memory 40 MiB }"), [
    ["VMSCN0222", 8, 26, 'host "b" cannot hold VM "web": it needs 48 MiB and the VMs declared on it leave 16 MiB'],
  ]);
});

t.test("RDMA without RDMA NICs, a refused disk copy: at the option", async (t) => {
  t.same(await problems("at 1 s: migrate web to b { transport rdma  disk refuse }"), [
    ["VMSCN0222", 8, 30, 'RDMA transport needs RDMA NICs on both hosts; host "b" has none'],
    ["VMSCN0222", 8, 46, 'VM "web" has a disk on datastore "local-a", which host "b" cannot reach, and disk copy is refused'],
  ]);
});

t.test("compression and XBZRLE options that would do nothing, at the option", async (t) => {
  t.same(await problems("at 1 s: migrate web to b { compress snappy  compress-level 3 }"), [["VMSCN0222", 8, 47, "compress-level is zlib's level; this migration's codec is snappy"]]);
  t.same(await problems("at 1 s: migrate web to b { compress-threads 4  decompress-threads 4 }"), [
    ["VMSCN0222", 8, 30, "compress-threads needs a codec (compress zlib or compress snappy)"],
    ["VMSCN0222", 8, 50, "decompress-threads needs a codec (compress zlib or compress snappy)"],
  ]);
  t.same(await problems("at 1 s: migrate web to b { xbzrle-cache-size 1 MiB }"), [["VMSCN0222", 8, 30, "xbzrle-cache-size needs xbzrle"]]);
  t.same(await problems("at 1 s: migrate web to b { xbzrle  xbzrle-cache-size 3 MiB }"), [["VMSCN0222", 8, 38, "xbzrle-cache-size must be a power of two (QEMU refuses 3145728 B)"]]);
  t.same(await problems("at 1 s: migrate web to b with demand-paging { xbzrle }"), [["VMSCN0222", 8, 49, "compress and xbzrle code pre-copied pages, and with demand-paging no page is pre-copied"]]);
  t.same(await problems("at 1 s: migrate web to b with demand-paging { compress zlib }"), [["VMSCN0222", 8, 49, "compress and xbzrle code pre-copied pages, and with demand-paging no page is pre-copied"]]);
  t.same(await problems("at 1 s: migrate web to b { compress zlib  compress-level 9  compress-threads 4  decompress-threads 4  xbzrle  xbzrle-cache-size 1 MiB }"), []);
  t.same(await problems("at 1 s: migrate web to b { compress none }"), []);
});

t.test("QEMU's post-copy needs QEMU's loop and pre-copy; its trigger needs the capability", async (t) => {
  t.same(await problems("at 1 s: migrate web to a2 { postcopy-ram  converge qemu }\n  host a2 { cpus 4  memory 1 GiB }\n  link a <-> a2 { bandwidth 1 Gbit/s }"), []);
  const bad = (await problems("at 1 s: migrate web to a2 { postcopy-ram  after demand-paging }\n  at 2 s: migrate db to a2 { start-postcopy-after 2 }\n  host a2 { cpus 4  memory 1 GiB }\n  link a <-> a2 { bandwidth 1 Gbit/s }\n  link b <-> a2 { bandwidth 1 Gbit/s }")).map((p) => p[3]);
  t.same(bad, [
    "postcopy-ram follows QEMU's loop, which converge qemu runs",
    "postcopy-ram decides itself what moves the pages left (the source pushes them; a touched page is requested)",
    "start-postcopy-after needs postcopy-ram",
  ]);
});

t.test("wire raw carries payloads only: QEMU's coded formats are refused with it", async (t) => {
  t.same((await problems("at 1 s: migrate web to a2 { wire raw  compress zlib  xbzrle }\n  host a2 { cpus 4  memory 1 GiB }\n  link a <-> a2 { bandwidth 1 Gbit/s }")).map((p) => p[3]), [
    "wire raw carries page and block payloads only; compress is one of QEMU's formats, with its headers",
    "wire raw carries page and block payloads only; xbzrle is one of QEMU's formats, with its headers",
  ]);
});
