// The workload's `write-size`: how many bytes of its page one guest write changes, checked at
// validation and carried to the VM's spec (a migration's XBZRLE reads it).
import "reflect-metadata";
import t from "tap";
import { check, diagnosticsOf, files, scenario } from "../dsl/validate/helpers.js";

function vm(workload: string): string {
  return scenario(`vm w on a { vcpus 1  memory 16 MiB  workload { writes 10 pages/s uniform  ${workload} } }`);
}

t.test("a write size from 1 B to 4096 B is taken, in bytes", async (t) => {
  const c = await check(files({ "w.vmscn": vm("write-size 64 B") }));
  t.same(c.diagnostics, []);
  t.equal(c.plan?.vms.find((v) => v.name === "w")?.workload?.writeBytes, 64);
  const whole = await check(files({ "w.vmscn": vm("write-size 4 KiB") }));
  t.equal(whole.plan?.vms.find((v) => v.name === "w")?.workload?.writeBytes, 4096);
  const none = await check(files({ "w.vmscn": vm("") }));
  t.equal(none.plan?.vms.find((v) => v.name === "w")?.workload?.writeBytes, undefined, "absent: the whole page");
});

t.test("a write size out of range, not whole, not a size, or given twice is refused at the value", async (t) => {
  const codes = async (w: string) => (await diagnosticsOf(vm(w))).map((d) => [d.code, d.message]);
  t.same(await codes("write-size 0 B"), [["VMSCN0212", 'the write size of VM "w" must be at least 1 (got 0 B)']]);
  t.same(await codes("write-size 5000 B"), [["VMSCN0212", 'the write size of VM "w" must be at most 4096 (got 5000 B)']]);
  t.same(await codes("write-size 1.5 B"), [["VMSCN0212", 'the write size of VM "w" must be a whole number (got 1.5 B)']]);
  const notSize = await codes("write-size 3 ms");
  t.equal(notSize[0]?.[0], "VMSCN0210");
  const twice = await codes("write-size 64 B  write-size 32 B");
  t.equal(twice.length, 1);
});

t.test("a write offset places every write's bytes: it needs a write size, and must leave them inside the page", async (t) => {
  const c = await check(files({ "w.vmscn": vm("write-size 64 B  write-offset 128 B") }));
  t.same(c.diagnostics, []);
  t.equal(c.plan?.vms.find((v) => v.name === "w")?.workload?.writeOffset, 128);
  const codes = async (w: string) => (await diagnosticsOf(vm(w))).map((d) => [d.code, d.message]);
  t.same(await codes("write-offset 128 B"), [["VMSCN0213", 'the write offset of VM "w" needs a write size: a write of the whole page starts at 0']]);
  t.same(await codes("write-size 64 B  write-offset 4040 B"), [["VMSCN0213", 'the writes of VM "w" would end past their page: 4040 B + 64 B > 4096 B']]);
  t.same(await codes("write-size 64 B  write-offset 5000 B"), [["VMSCN0212", 'the write offset of VM "w" must be at most 4095 (got 5000 B)']]);
});
