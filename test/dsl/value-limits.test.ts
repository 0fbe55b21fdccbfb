// Every value `check` accepts is one the kernel can represent (docs/language.md, "Limits"):
// the reproducers that passed check and crashed or hung run are each a positioned VMSCN0212,
// and values at the limits pass and run.
import "reflect-metadata";
import t, { type Test } from "tap";
import { diagnosticsOf, scenario, files, check, run } from "./validate/helpers.js";

const TIME_HINT = "simulated time is a whole number of nanoseconds, exact up to 2^53 - 1 ns (about 104 days)";
const LIMITS_HINT = "see the limits of each value in docs/language.md (Limits)";
const INFINITE = "is too large: the number does not fit in a double and reads as infinity";

/**
 * Asserts that `text` has exactly one error: `message` (VMSCN0212 unless it starts with
 * another code), at the first occurrence of `needle` after the platform's lines, with `hint`.
 */
async function refused(t: Test, text: string, needle: string, message: string, hint?: string, plugin = false): Promise<void> {
  const ds = (await diagnosticsOf(text, { plugin })).filter((d) => d.severity === "error");
  const lines = text.split("\n");
  let where = `"${needle}" not in the text`;
  for (let i = 1; i < lines.length; i++) {
    const c = lines[i]!.indexOf(needle);
    if (c >= 0) {
      where = `${i + 1}:${c + 1}`;
      break;
    }
  }
  const code = /^VMSCN\d{4} /.test(message) ? "" : "VMSCN0212 ";
  t.same(
    ds.map((d) => [`${d.code} ${d.line}:${d.column} ${d.message}`, d.hint]),
    [[`${code}${where} ${message}`.replace(/^(VMSCN\d{4}) (VMSCN\d{4} )/, "$2").replace(/^(VMSCN\d{4} )(\S+) (VMSCN\d{4} )/, "$1$2 "), hint]],
    needle,
  );
}

const platform = (host: string, link = "bandwidth 10 Gbit/s", vm = "vcpus 1  memory 1 GiB", body = "") => `scenario "t" {
  host a { cpus 8  ${host} }
  host b { cpus 8  memory 16 GiB }
  link a <-> b { ${link} }
  datastore san { shared-by a, b  bandwidth 1 GB/s }
  vm web on a { ${vm} }
${body}
}
`;

t.test("the reproducers: each refused at the value, with a code and a hint", async (t) => {
  await refused(t, platform("memory 16 TiB"), "16 TiB", 'the memory of host "a" must be at most 8 TiB (got 16 TiB)', "frame and page numbers are 32-bit: a host holds at most 2^31 pages of 4 KiB");
  await refused(t, platform("memory 1e309 GiB"), "1e309", `the memory of host "a" ${INFINITE}`, LIMITS_HINT);
  await refused(t, platform("memory 16 GiB", "bandwidth 10 Gbit/s  latency 0.5 ns"), "0.5 ns", "the latency of link a<->b must be a whole number of nanoseconds (got 0.5 ns)");
  await refused(t, platform("memory 16 GiB", "bandwidth 10 Gbit/s  latency 1e309 s"), "1e309", `the latency of link a<->b ${INFINITE}`, LIMITS_HINT);
  await refused(t, platform("memory 16 GiB", "bandwidth 10 Gbit/s  latency 1e7 s"), "1e7", "the latency of link a<->b must be at most 9007199.254740991 s (2^53 - 1 ns, about 104 days) (got 10000000 s)", TIME_HINT);
  await refused(t, platform("memory 16 GiB", undefined, "vcpus 1  memory 1 GiB  disk san 1e309 GiB"), "1e309", `the disk of VM "web" ${INFINITE}`, LIMITS_HINT);
  await refused(t, platform("memory 16 GiB", undefined, "vcpus 1  memory 1 GiB  device-state 100 TiB", "  at 1 s: checkpoint web"), "100 TiB", 'the device state of VM "web" must be at most 1 GiB (got 100 TiB)', "a checkpoint holds the device state in one buffer");
  await refused(
    t,
    platform("memory 16 GiB", undefined, "vcpus 1  memory 1 GiB  workload { writes 1e12 pages/s uniform }"),
    "1e12",
    'the writes of VM "web" must be at most 1048576000 pages/s with a tick of 1 ms (got 1000000000000 pages/s)',
    'one tick issues at most 1048576 accesses of an activity; a shorter tick ("tick 100 us") allows a higher rate',
  );
  await refused(t, platform("memory 16 GiB", undefined, undefined, "  run until 1e309 s"), "1e309", `the end of the run ${INFINITE}`, LIMITS_HINT);
  await refused(t, platform("memory 16 GiB", undefined, undefined, "  run until 1e20 s"), "1e20", "the end of the run must be at most 9007199.254740991 s (2^53 - 1 ns, about 104 days) (got 100000000000000000000 s)", TIME_HINT);
  await refused(t, platform("memory 16 GiB", undefined, undefined, "  at 1e309 s: stop web"), "1e309", `the time of "stop" ${INFINITE}`, LIMITS_HINT);
});

t.test("accepted silently before: a fractional page, memory that is not whole pages", async (t) => {
  const pages = "pages are numbered 0, 1, 2, ... from the start of the guest's memory";
  await refused(t, scenario("  at 1 s: web writes page 1.5"), "1.5", "a page number must be a whole number (got 1.5)", pages);
  await refused(t, scenario("  at 1 s: web reads pages 2..3.5"), "2..3.5", "a page number must be a whole number (got 3.5)", pages);
  await refused(t, scenario("  vm tiny on a { vcpus 1  memory 100 B }"), "100 B", 'the memory of VM "tiny" must be a whole number of 4 KiB pages, at least one (got 100 B)', "a guest's memory is made of pages: one page is 4096 B");
  await refused(t, scenario("  vm odd on a { vcpus 1  memory 6 KiB }"), "6 KiB", 'the memory of VM "odd" must be a whole number of 4 KiB pages, at least one (got 6 KiB)', "a guest's memory is made of pages: 2 pages are 8192 B");
  t.same(await diagnosticsOf(scenario("  vm one on a { vcpus 1  memory 1 page }")), []);
});

t.test("every kind of value: finite, and within what the kernel holds", async (t) => {
  const cases: [string, string, string][] = [
    ["  vm many on a { vcpus 5000  memory 1 GiB }", "5000", 'the vCPUs of VM "many" must be at most 4096 (got 5000)'],
    ["  host c { cpus 1e309  memory 1 GiB }", "1e309", `the CPUs of host "c" ${INFINITE}`],
    ["  host c { cpus 1e20  memory 1 GiB }", "1e20", 'the CPUs of host "c" must be at most 9007199254740991 (2^53 - 1) (got 100000000000000000000)'],
    ["  host c { cpus 1  memory 100 B }", "100 B", 'the memory of host "c" must be at least one page (4 KiB) (got 100 B)'],
    ["  host c { cpus 1  memory 1 GiB  nic 0.5 bit/s }", "0.5", 'the NIC of host "c" must be at least 1 bit/s (got 0.5 bit/s)'],
    ["  datastore d { on a  bandwidth 1e309 GB/s }", "1e309", `the bandwidth of datastore "d" ${INFINITE}`],
    ["  datastore d { on a  bandwidth 1 GB/s  latency 1.5 ns }", "1.5 ns", 'the latency of datastore "d" must be a whole number of nanoseconds (got 1.5 ns)'],
    ["  datastore d { on a  bandwidth 1 GB/s  iops 1e309 }", "1e309", `the IOPS of datastore "d" ${INFINITE}`],
    ["  vm v on a { vcpus 1  memory 1 GiB  disk san 1.5 B }", "1.5 B", 'the disk of VM "v" must be a whole number of bytes (got 1.5 B)'],
    ["  vm v on a { vcpus 1  memory 1 GiB  disk san 2048 TiB }", "2048 TiB", 'the disk of VM "v" must be at most 1 PiB (got 2048 TiB)'],
    ["  vm v on a { vcpus 1  memory 1 GiB  boot 1e309 s }", "1e309", `the boot time of VM "v" ${INFINITE}`],
    ["  vm v on a { vcpus 1  memory 1 GiB  init 0.1 ns }", "0.1 ns", 'the initialisation time of VM "v" must be a whole number of nanoseconds (got 0.1 ns)'],
    ["  vm v on a { vcpus 1  memory 1 GiB  workload { reads 1e309 pages/s uniform } }", "1e309", `the reads of VM "v" ${INFINITE}`],
    ["  vm v on a { vcpus 1  memory 1 GiB  disk san 1 GiB  workload { disk writes 1e309 MB/s sequential } }", "1e309", `the disk writes of VM "v" ${INFINITE}`],
    ["  tick 1e309 ms", "1e309", `the workload tick ${INFINITE}`],
    ["  tick 1500.5 ns", "1500.5", "the workload tick must be a whole number of nanoseconds (got 1500.5 ns)"],
    ["  seed 1e309", "1e309", `the seed ${INFINITE}`],
    ["  at 0.5 ns: stop web", "0.5", 'the time of "stop" must be a whole number of nanoseconds (got 0.5 ns)'],
    ["  at 1 s: web writes pages 0..9 on vcpu 1e309", "1e309", `the vCPU ${INFINITE}`],
    ["  expect 1e309 > 0", "1e309", `the number ${INFINITE}`],
    ["  expect web.memory within 1e309% of 1 GiB", "1e309", `"within" ${INFINITE}`],
  ];
  for (const [body, needle, message] of cases) {
    const hint = /infinity$/.test(message) ? LIMITS_HINT : /must be at most 4096/.test(message) ? "as KVM's KVM_MAX_VCPUS" : /at most 1 PiB/.test(message) ? "a disk's dirty-block log has one entry per 1 MiB block, at most 2^30 of them" : undefined;
    await refused(t, scenario(body), needle, message, hint);
  }
});

t.test("the workload tick decides the largest rate", async (t) => {
  await refused(
    t,
    scenario("  tick 1 s\n  vm v on a { vcpus 1  memory 1 GiB  workload { writes 2000000 pages/s uniform } }"),
    "2000000",
    'the writes of VM "v" must be at most 1048576 pages/s with a tick of 1000 ms (got 2000000 pages/s)',
    'one tick issues at most 1048576 accesses of an activity; a shorter tick ("tick 100 us") allows a higher rate',
  );
  t.same(await diagnosticsOf(scenario("  tick 100 us\n  vm v on a { vcpus 1  memory 1 GiB  workload { writes 1e10 pages/s uniform } }")), []);
});

t.test("a verb's options get the limits of their dimension when they declare no maximum", async (t) => {
  const probe = (opts: string) => scenario(`  at 1 s: probe web to b { ${opts} }`, { plugin: true });
  await refused(t, probe("downtime-limit 1e309 s"), "1e309", `option "downtime-limit" of "probe" ${INFINITE}`, LIMITS_HINT, true);
  await refused(t, probe("downtime-limit 1e8 s"), "1e8", 'option "downtime-limit" of "probe" must be at most 9007199.254740991 s (2^53 - 1 ns, about 104 days) (got 100000000 s)', TIME_HINT, true);
  await refused(t, probe("downtime-limit 1 s  bandwidth 1e20 GB/s"), "1e20", 'option "bandwidth" of "probe" must be at most 9007199254740991 B/s (2^53 - 1) (got 100000000000000000000 GB/s)', undefined, true);
  // Its own maximum still rules, and a hypercall's options are checked the same way.
  await refused(t, probe("downtime-limit 1 s  max-rounds 1e309"), "1e309", `option "max-rounds" of "probe" ${INFINITE}`, LIMITS_HINT, true);
  await refused(t, scenario("  at 1 s: web hypercall probe { stall 1e309 s }", { plugin: true }), "1e309", `option "stall" of "hypercall probe" ${INFINITE}`, LIMITS_HINT, true);
  // A time is a whole number of ns, as every other time: a fraction is refused, a decimal that
  // means a whole ns (or a subnormal that means 0) is rounded to it.
  await refused(t, probe("downtime-limit 0.5 ns"), "0.5 ns", 'option "downtime-limit" of "probe" must be a whole number of nanoseconds (got 0.5 ns)', undefined, true);
  await refused(t, scenario("  at 1 s: web hypercall probe { stall 1.5 ns }", { plugin: true }), "1.5 ns", 'option "stall" of "hypercall probe" must be a whole number of nanoseconds (got 1.5 ns)', undefined, true);
  const c = await check(files({ "p.vmscn": `scenario "p" {
  host a { cpus 4  memory 1 GiB }
  host b { cpus 4  memory 1 GiB }
  link a <-> b { bandwidth 1 Gbit/s  latency 1 ms }
  vm web on a { vcpus 1  memory 16 MiB }
  at 1 s: migrate web to b { retry-interval 1e-320 ms  create-time 1.000000000000001 ms }
  run until 2 s
}
` }));
  t.same(c.diagnostics, []);
  const opts = c.plan!.actions[0]!.options;
  t.ok(Object.is(opts["retry-interval"], 0), "1e-320 ms is 0 ns");
  t.equal(opts["create-time"], 1_000_000);
});

t.test("values at the limits pass check and run", async (t) => {
  const path = files({
    "t.vmscn": `scenario "edge" {
  host a { cpus 8  memory 8 GiB }
  host b { cpus 8  memory 8 GiB }
  link a <-> b { bandwidth 10 Gbit/s  latency 1.1 ms }
  datastore san { shared-by a, b  bandwidth 1 GB/s  latency 0.3 us }
  vm web on a {
    vcpus 2  memory 64 MiB  disk san 1.1 GB  device-state 1 MiB  boot 1.1 s
    workload { writes 1000 pages/s uniform }
  }
  at -0 s: start web
  at 1.1 ms: web writes page 5 on vcpu 1
  at 10 ms: migrate web to b
  at 9007199.254740991 s: stop web
  run until 2 s
}
`,
  });
  const c = await check(path);
  t.same(
    c.diagnostics.map((d) => `${d.code} ${d.loc.line} ${d.message}`),
    ["VMSCN0220 13 this action at 9007199.25474099 s comes after the end of the run (2 s): it never happens"],
  );
  t.equal(c.plan!.links[0]!.latency, 1_100_000, "a decimal time is rounded to the whole ns it means");
  t.equal(c.plan!.datastores[0]!.latency, 300);
  t.equal(c.plan!.vms[0]!.disks![0]!.sizeBytes, 1_100_000_000);
  t.ok(Object.is(c.plan!.actions[0]!.time, 0), "-0 s is 0");
  const r = await run(path);
  t.equal(r.error, undefined);
  t.equal((r.report as unknown as { vms: Record<string, { host: string }> }).vms["web"]!.host, "b");
});
