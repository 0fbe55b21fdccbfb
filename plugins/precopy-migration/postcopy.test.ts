// QEMU's post-copy: its discard commands' size, and migrate-start-postcopy's refusals.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { MS, SECOND } from "../../core/sim/time.js";
import plugin from "./index.js";
import compression from "../compression/index.js";
import { discardBytes } from "./qemu-precopy.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

t.test("the dirty bitmap as discard ranges: 16 B a run, 12 runs a command of 14 B more", (t) => {
  t.equal(discardBytes(new Int32Array(0)), 0);
  t.equal(discardBytes(Int32Array.from([0, 1, 2, 3])), 14 + 16, "one run");
  t.equal(discardBytes(Int32Array.from([0, 2, 4])), 14 + 3 * 16, "three runs");
  t.equal(discardBytes(Int32Array.from({ length: 13 }, (_, i) => 2 * i)), 2 * 14 + 13 * 16, "13 runs: two commands");
  t.end();
});

t.test("migrate-start-postcopy is refused without a migration, without postcopy-ram, and once pre-copy is over", async (t) => {
  const k = createKernel({ seed: 3, checkInvariants: true });
  await k.plugins.registerAll([compression, plugin]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 1 * GiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 1 * GiB });
  k.addLink({ a: "a", b: "b", bandwidth: 1.25e9, latency: 0 });
  const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };
  for (const name of ["p", "q"]) {
    k.createVm({ name, host: "a", vcpus: 1, memoryBytes: 4 * MiB, initial: RANDOM });
    k.act(0, "start", { vm: name });
  }
  const none = k.act(1 * MS, "migrate-start-postcopy", { vm: "p" }, {});
  k.act(2 * MS, "migrate", { vm: "p", host: "b" }, { converge: "qemu" });
  const plain = k.act(3 * MS, "migrate-start-postcopy", { vm: "p" }, {});
  k.act(2 * MS, "migrate", { vm: "q", host: "b" }, { converge: "qemu", "postcopy-ram": true, "setup-time": 0 });
  const late = k.act(SECOND, "migrate-start-postcopy", { vm: "q" }, {});
  k.run(2 * SECOND);
  t.match(none.failure, /VMSCN5011.*no migration of it is under way/);
  t.match(plain.failure, /VMSCN5011.*started without postcopy-ram/);
  t.match(late.failure, /VMSCN5011/, "q's migration completed long before (an idle 4 MiB guest)");
  t.end();
});
