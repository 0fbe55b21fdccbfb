// A scenario too big for the machine is refused before it runs, with its largest contributors.
import "reflect-metadata";
import t from "tap";
import { estimateMemory } from "../../dsl/limits.js";
import { files, run, check } from "./validate/helpers.js";
import { maxMemory, parseArgs } from "../../cli/args.js";

const SCENARIO = `scenario "big" {
  host a { cpus 8  memory 1 TiB }
  host b { cpus 8  memory 1 TiB }
  link a <-> b { bandwidth 10 Gbit/s }
  vm huge on a { vcpus 4  memory 512 GiB }
  vm small on a { vcpus 1  memory 1 GiB }
  at 1 s: migrate huge to b
  run until 2 s
}
`;

t.test("the estimate: 25 bytes per guest page, a second copy per migration, the baseline", async (t) => {
  const c = await check(files({ "t.vmscn": SCENARIO }));
  const e = estimateMemory(c.plan!);
  const huge = (512 * 2 ** 30) / 4096;
  const small = 2 ** 30 / 4096;
  t.equal(e.totalBytes, huge * 25 * 2 + small * 25 + 96 * 2 ** 20);
  t.same(e.contributors.map((c) => c.what), [
    "VM huge (512 GiB guest): page map and frames",
    '"migrate huge" at 1 s: the VM\'s second copy',
    "the simulator itself",
    "VM small (1 GiB guest): page map and frames",
  ]);
});

t.test("over --max-memory: VMSCN0223 at the scenario, nothing runs", async (t) => {
  const path = files({ "t.vmscn": SCENARIO });
  const r = await run(path, { maxMemoryBytes: 4 * 2 ** 30 });
  t.equal(r.failedPhase, "validate");
  t.equal(r.report, undefined);
  t.equal(r.diagnostics.length, 1);
  const d = r.diagnostics[0]!;
  t.equal(d.code, "VMSCN0223");
  t.equal(d.loc.line, 1);
  t.match(d.message, /would need about 6503 MiB of memory, more than the 4096 MiB allowed; the largest: VM huge \(512 GiB guest\): page map and frames 3200 MiB; "migrate huge" at 1 s/);
  const fits = await check(path, { maxMemoryBytes: 8 * 2 ** 30 });
  t.same(fits.diagnostics, []);
});

t.test("--max-memory parses sizes; the default is 80% of the machine", async (t) => {
  t.equal(maxMemory(parseArgs(["--max-memory", "8GiB"], ["max-memory"], []), 100), 8 * 2 ** 30);
  t.equal(maxMemory(parseArgs(["--max-memory=512 MiB"], ["max-memory"], []), 100), 512 * 2 ** 20);
  t.equal(maxMemory(parseArgs(["--max-memory", "1.5GB"], ["max-memory"], []), 100), 1.5e9);
  t.equal(maxMemory(parseArgs([], ["max-memory"], []), 1000), 800);
  t.throws(() => maxMemory(parseArgs(["--max-memory", "lots"], ["max-memory"], []), 1), /needs a size such as 8GiB/);
});
