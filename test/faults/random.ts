// Random faults at the instants that matter: the fault matrices (one fault in the middle of
// each phase) miss the edges, where a fault lands the nanosecond before or after an action
// starts, a helper world appears, a transfer ends. This draws 1 to 3 faults (crashes and
// recoveries, links down and up, memory exhausted and relieved, helper worlds killed, VMs
// stopped or suspended and resumed, datastores filled or slowed) at the times of a baseline
// run's actions, their ends and its worlds' births, each ± a small delta (0, 1 ns, 1 us,
// 50 us, 1 ms, or anywhere within 2 ms), and runs the scenario with them to its end
// (`run until done`). Whatever happens: nothing throws (no internal error, no plugin error,
// no broken invariant — the kernel checks them), every action and hypercall ends done or
// failed with a code, time and sentence, every VM is on exactly one host, a VM that died says
// why and when, and (where the scenario allows it) a VM that survived holds exactly what its
// guest wrote.
import "reflect-metadata";
import { definePlugin, type Plugin } from "../../core/api.js";
import { files, run } from "../dsl/validate/helpers.js";
import { Shadow, TIMED, contentsCheck, hostsOf, type Json, type Outcome } from "./harness.js";

/** A seeded generator (mulberry32): the same seed gives the same faults on every machine. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** In [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let x = this.s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** A scenario to inject faults into: its text around the fault lines, and what it declares. */
export interface Template {
  readonly name: string;
  text(faults: string): string;
  readonly hosts: readonly string[];
  readonly links: readonly string[];
  readonly datastores: readonly string[];
  readonly vms: readonly string[];
  /** The VMs made during the run start from this VM's contents at its latest suspension. */
  readonly startFrom?: string;
  /** Check the survivors' contents against their guests' writes (not where pages are shared across hosts by design). */
  readonly contents: boolean;
}

const LINK = "  link a <-> b { bandwidth 10 Gbit/s  latency 50 us }";
const BUSY = "workload { writes 2000 pages/s zipf 0.9 over 30%  reads 10000 pages/s uniform }";

export const TEMPLATES: readonly Template[] = [
  {
    name: "pre-copy",
    text: (f) => `scenario "random-precopy" {
  host a { cpus 4  memory 128 MiB }
  host b { cpus 4  memory 128 MiB }
${LINK}
  datastore san { shared-by a, b  bandwidth 500 MB/s }
  vm web on a { vcpus 2  memory 16 MiB  disk san 64 MiB  initial random 100%  ${BUSY} }
  at 0 s: start web
  at 20 ms: migrate web to b { max-rounds 4  threshold 64 }
${f}
  run until done
}
`,
    hosts: ["a", "b"],
    links: ["a<->b"],
    datastores: ["san"],
    vms: ["web"],
    contents: true,
  },
  {
    name: "demand paging",
    text: (f) => `scenario "random-demand" {
  host a { cpus 4  memory 128 MiB }
  host b { cpus 4  memory 128 MiB }
${LINK}
  vm web on a { vcpus 2  memory 16 MiB  initial random 100%  ${BUSY} }
  at 0 s: start web
  at 20 ms: migrate web to b { max-rounds 2  after demand-paging, background }
${f}
  run until done
}
`,
    hosts: ["a", "b"],
    links: ["a<->b"],
    datastores: [],
    vms: ["web"],
    contents: true,
  },
  {
    name: "rdma-share",
    text: (f) => `scenario "random-rdma" {
  host a { cpus 8  memory 128 MiB  rdma }
  host b { cpus 8  memory 128 MiB  rdma }
  link a <-> b { bandwidth 1024 MB/s  latency 10 us }
  vm vm1 on a { vcpus 2  memory 8 MiB  initial image "app" 100%  workload { writes 500 pages/s zipf 0.9 over 20%  reads 3000 pages/s uniform } }
  vm vm2 on a { vcpus 1  memory 8 MiB  initial image "app" 100%  workload { writes 200 pages/s zipf 0.9 over 10% } }
  at 0 s: start vm1
  at 0 s: start vm2
  at 1 ms: vm1 writes pages 1024..2047
  at 1 ms: vm2 writes pages 1536..2047
  at 5 ms: tps on a { pages-to-scan 4096  sleep 5 ms }
  at 40 ms: migrate vm1 to b { transport rdma  remote-background }
  at 60 ms: migrate vm2 to b { transport rdma }
${f}
  run until done
}
`,
    hosts: ["a", "b"],
    links: ["a<->b"],
    datastores: [],
    vms: ["vm1", "vm2"],
    contents: true,
  },
  {
    name: "fork and clone",
    text: (f) => `scenario "random-fork" {
  host a { cpus 8  memory 96 MiB  nodes 3 }
  host b { cpus 8  memory 96 MiB  nodes 2 }
${LINK}
  vm web on a { vcpus 2  memory 8 MiB  initial random 100%  ${BUSY} }
  at 0 s: start web
  at 20 ms: fork web { children 3  placement auto  memory on-demand  background }
  at 60 ms: clone web to b
${f}
  run until done
}
`,
    hosts: ["a", "b"],
    links: ["a<->b"],
    datastores: [],
    vms: ["web", "web-child1", "web-child2", "web-clone1", "web-clone2"],
    startFrom: "web",
    contents: false,
  },
  {
    name: "checkpoint",
    text: (f) => `scenario "random-checkpoint" {
  host a { cpus 8  memory 128 MiB }
  host b { cpus 8  memory 128 MiB }
${LINK}
  datastore san { shared-by a, b  bandwidth 200 MB/s }
  vm web on a { vcpus 2  memory 8 MiB  initial random 50%, zero 20%, compressible 30% at 50%  ${BUSY} }
  vm copy on b { vcpus 2  memory 8 MiB  ${BUSY} }
  at 0 s: start web
  at 20 ms: checkpoint web to san
  at 200 ms: restore copy from san { file "web.ckpt" }
${f}
  run until done
}
`,
    hosts: ["a", "b"],
    links: ["a<->b"],
    datastores: ["san"],
    vms: ["web", "copy"],
    contents: false,
  },
];

/** What a baseline run tells about a template: the instants worth aiming at, the helper worlds. */
export interface Baseline {
  /** Action starts and ends, worlds' births and deaths, in ns. */
  readonly anchors: number[];
  /** System worlds that lived during the run (helpers a `kill` can name). */
  readonly helpers: string[];
}

/** Records when worlds are created and destroyed, and their names. */
function recorder(into: { times: number[]; helpers: string[] }): Plugin {
  return definePlugin({
    name: "fault-random-recorder",
    version: "1.0.0",
    kernel: "^1",
    register: (k) => {
      k.on("created", (w) => {
        into.times.push(k.scheduler.now);
        if (w.kind === "system" && !into.helpers.includes(w.name)) into.helpers.push(w.name);
      });
      k.on("destroyed", () => void into.times.push(k.scheduler.now));
    },
  });
}

async function simulateWith(tpl: Template, faults: string, extra: Plugin[] = []): Promise<Outcome> {
  const shadow = new Shadow();
  const from = tpl.startFrom;
  if (from !== undefined) shadow.baseOf = (_w, s) => s.suspendedView(from);
  const r = await run(files({ "r.vmscn": tpl.text(faults) }), { pluginObjects: [shadow.plugin, ...extra] });
  if (r.failedPhase || !r.kernel || !r.report) throw new Error(`${r.failedPhase ?? "run"}: ${r.error?.describe() ?? r.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  return { report: r.report as Json, kernel: r.kernel, shadow };
}

export async function baseline(tpl: Template): Promise<Baseline> {
  const seen = { times: [] as number[], helpers: [] as string[] };
  const o = await simulateWith(tpl, "", [recorder(seen)]);
  const anchors = new Set<number>(seen.times);
  for (const a of o.report.actions as { time: number; finishedAt?: number }[]) {
    anchors.add(a.time);
    if (a.finishedAt !== undefined) anchors.add(a.finishedAt);
  }
  return { anchors: [...anchors].sort((x, y) => x - y), helpers: seen.helpers };
}

const DELTAS = [0, 1, 1_000, 50_000, 1_000_000];

/** An instant near one of the baseline's: ± a small delta, never before 0. */
function instant(rng: Rng, b: Baseline): number {
  const at = rng.pick(b.anchors);
  const delta = rng.next() < 0.2 ? rng.int(2_000_001) : rng.pick(DELTAS);
  return Math.max(0, at + (rng.next() < 0.5 ? -delta : delta));
}

/** One fault, and sometimes its undoing a little later: scenario statements. */
function fault(rng: Rng, tpl: Template, b: Baseline): string[] {
  const at = instant(rng, b);
  const later = at + rng.pick([1, 1_000, 100_000, 5_000_000]);
  const line = (t: number, s: string): string => `  at ${t} ns: ${s}`;
  const host = rng.pick(tpl.hosts);
  const vm = rng.pick(tpl.vms.filter((v) => tpl.text("").includes(`vm ${v} `)));
  const kinds: (() => string[])[] = [
    () => [line(at, `crash ${host}`), ...(rng.next() < 0.3 ? [line(later, `recover ${host}`)] : [])],
    () => (tpl.links.length ? [line(at, `link ${rng.pick(tpl.links)} down`), ...(rng.next() < 0.5 ? [line(later, `link ${tpl.links[0]} up`)] : [])] : [line(at, `crash ${host}`)]),
    () => [line(at, `exhaust ${host}`), ...(rng.next() < 0.5 ? [line(later, `relieve ${host}`)] : [])],
    () => (b.helpers.length ? [line(at, `kill "${rng.pick(b.helpers)}"`)] : [line(at, `exhaust ${host}`)]),
    () => [line(at, `stop ${vm}`)],
    () => [line(at, `suspend ${vm}`), line(later, `resume ${vm}`)],
    () => (tpl.datastores.length ? [line(at, rng.next() < 0.5 ? `fill ${tpl.datastores[0]}` : `slow ${tpl.datastores[0]} { bandwidth 10 MB/s }`)] : [line(at, `kill "${rng.pick(b.helpers.length ? b.helpers : ["none"])}"`)]),
  ];
  return rng.pick(kinds)();
}

/** 1 to 3 faults for a run. */
export function drawFaults(rng: Rng, tpl: Template, b: Baseline): string {
  const n = 1 + rng.int(3);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(...fault(rng, tpl, b));
  return lines.join("\n");
}

/** A coded failure: "VMSCNxxxx at <time>: <sentence>". */
const CODED = /^VMSCN\d{4} at [\d.]+ s: .{10,}/;

/**
 * Runs the template with `faults` and returns what broke the rules (empty: nothing). A throw
 * of the run itself (an internal error, a plugin's VMSCN6006, a broken invariant) is one.
 */
export async function violations(tpl: Template, faults: string): Promise<string[]> {
  let o: Outcome;
  try {
    o = await simulateWith(tpl, faults);
  } catch (err) {
    return [`the run failed: ${(err as Error).message}`];
  }
  const bad: string[] = [];
  const r = o.report;
  for (const a of r.actions as { verb: string; time: number; state: string; failure?: string }[]) {
    if (a.state === "done") continue;
    if (a.state !== "failed") bad.push(`action "${a.verb}" at ${a.time} ns ended ${a.state}`);
    else if (!CODED.test(a.failure ?? "")) bad.push(`action "${a.verb}" at ${a.time} ns failed without a code: ${a.failure}`);
  }
  for (const h of r.hypercalls as { vm: string; name: string; state: string; failure?: string }[]) {
    if (h.state !== "done" && !(h.state === "failed" && CODED.test(h.failure ?? ""))) bad.push(`hypercall "${h.name}" of ${h.vm} ended ${h.state}: ${h.failure ?? ""}`);
  }
  for (const [vm, v] of Object.entries(r.vms as Record<string, { host: string; state: string; failure?: string }>)) {
    const on = hostsOf(r, vm);
    if (on.length !== 1 || on[0] !== v.host) bad.push(`VM "${vm}" is listed on hosts [${on.join(", ")}], reported on ${v.host}`);
    if (v.failure !== undefined && !TIMED.test(v.failure)) bad.push(`VM "${vm}" failed without a time: ${v.failure}`);
    if (tpl.contents && v.state !== "stopped" && tpl.vms.includes(vm)) {
      const c = contentsCheck(o, vm);
      if (c.wrong > 0) bad.push(`VM "${vm}" survived with ${c.wrong} pages its guest did not write (${c.first})`);
    }
  }
  return bad;
}
