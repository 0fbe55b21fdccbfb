// The CLI, tested through the bundle (dist/vmscn.js, built by `npm test`'s pretest step).
import t from "tap";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TOKENS } from "../../core/di/tokens.js";

const bundle = fileURLToPath(new URL("../../dist/vmscn.js", import.meta.url));

function vmscn(...args: string[]) {
  const r = spawnSync(process.execPath, [bundle, ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.before(() => {
  if (!existsSync(bundle)) throw new Error("dist/vmscn.js is missing: run `npm run build` (npm test does it first)");
});

t.test("selftest resolves every registered token from the bundle", (t) => {
  const r = vmscn("selftest");
  t.equal(r.code, 0, r.err);
  const lines = r.out.trim().split("\n");
  t.same(lines, [...Object.keys(TOKENS).map((n) => `ok ${n}`), "ok runs are isolated"]);
  t.end();
});

t.test("smoke prints the summary, and the same JSON every time", (t) => {
  const r = vmscn("smoke");
  t.equal(r.code, 0, r.err);
  t.match(r.out, /scenario smoke · seed 42 · simulated 5 s/);
  t.match(r.out, /web\s+a\s+running\s+1 GiB\s+1 GiB\s+400080\s+101044/);
  const a = vmscn("smoke", "--json", "-");
  const b = vmscn("smoke", "--json", "-");
  t.equal(a.out, b.out);
  const report = JSON.parse(a.out);
  t.equal(report.schema, "vmscn.report/2");
  t.equal(report.vms.web.accesses.writes, 101044);
  t.equal(report.vms.db.accesses.writes, 22504);
  t.equal(report.hosts.a.memory.used, 1024 ** 3);
  t.not(vmscn("smoke", "--json", "-", "--seed", "43").out, a.out);
  t.end();
});

t.test("smoke writes a report file and a Chrome trace", (t) => {
  const dir = t.testdir({});
  const json = join(dir, "r.json");
  const trace = join(dir, "t.json");
  const r = vmscn("smoke", "--json", json, "--trace", trace);
  t.equal(r.code, 0, r.err);
  t.equal(JSON.parse(readFileSync(json, "utf8")).scenario, "smoke");
  const events = JSON.parse(readFileSync(trace, "utf8")).traceEvents as { name: string; ph: string }[];
  t.ok(events.some((e) => e.name === "suspend" && e.ph === "i"), "lifecycle instants are traced");
  t.ok(events.some((e) => e.name === "link down"), "faults are traced");
  t.end();
});

t.test("plugins lists the plugins, every verb, and each option's type and default", (t) => {
  const r = vmscn("plugins");
  t.equal(r.code, 0);
  t.match(r.out, /plugins\n {2}kernel \(built into vmscn\)/);
  t.match(r.out, /precopy-migration 1\.0\.0 \(built-in\)/);
  for (const v of ["start", "stop", "suspend", "resume", "crash", "recover", "link"]) t.match(r.out, new RegExp(`\\n {2}${v} <[a-z]+>.*\\[kernel\\]`));
  t.match(r.out, / {2}migrate <vm> to <host> \[with <mode>\] \{ options \} {4}\[precopy-migration\]/);
  t.match(r.out, /downtime-limit +time 0 s\.\., default 300 ms/);
  t.match(r.out, /converge +threshold\|qemu\|xen, default threshold/);
  t.end();
});

t.test("usage errors exit 2 with a sentence, never a stack", (t) => {
  for (const args of [["fly"], ["smoke", "--seed"], ["smoke", "--seed", "x"], ["smoke", "--nope"], ["smoke", "file.vmscn"], []]) {
    const r = vmscn(...args);
    t.equal(r.code, 2, args.join(" "));
    t.notMatch(r.err, /\n\s+at /, "no stack trace");
  }
  t.equal(vmscn("--version").out.trim(), "1.0.0");
  t.match(vmscn("--help").out, /usage:/);
  t.end();
});
