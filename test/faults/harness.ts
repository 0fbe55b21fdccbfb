// The fault-matrix harness. A matrix runs a scenario once without a fault to learn when each
// phase of a plugin's work happens (from the report), then once per (phase, fault) cell with
// the fault injected inside that phase, and asserts the outcome the plugin's README defines.
// Every cell also asserts what holds whatever the fault: no uncaught throw, the kernel's
// invariants (`checkInvariants`, on in every run here), each VM on exactly one host, a VM
// that did not survive carries a reason with a time, and a VM that survived holds exactly the
// contents its guest wrote — checked page by page against a shadow of the guest's view that
// a test plugin keeps beside the run (below).
import "reflect-metadata";
import type { Test } from "tap";
import { definePlugin, type GuestMemory, type Plugin, type World } from "../../core/api.js";
import type { Kernel } from "../../core/run/kernel.js";
import { files, run } from "../dsl/validate/helpers.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Outcome {
  report: Json;
  kernel: Kernel;
  shadow: Shadow;
}

/**
 * What a VM's guest can see, kept apart from the simulated memory: each VM's contents when the
 * run begins, then every guest write that took effect (the workload's batches up to the index
 * they reached). A VM made during the run (a forked child, a clone, a restored VM) starts from
 * the view `baseOf` gives when it first runs (its parent's when the parent was paused for the
 * capture, say), else from its page map as it is then. A snapshot of a VM's view is kept each
 * time the VM is suspended (a capture, a checkpoint's quiesce).
 */
export class Shadow {
  /** The expected contents of each VM now, by world name. */
  readonly views = new Map<string, Float64Array>();
  /** Each VM's view when it was suspended, in order. */
  readonly snapshots = new Map<string, { time: number; view: Float64Array }[]>();
  /** Where a VM made during the run starts: a copy of this view (undefined: its page map as it is). */
  baseOf: (w: World, shadow: Shadow) => Float64Array | undefined = () => undefined;
  readonly plugin: Plugin;

  constructor() {
    this.plugin = definePlugin({ name: "fault-shadow", version: "1.0.0", kernel: "^1", register: (k) => {
      const mem = k.memory;
      const byId = new Map<number, string>();
      const peekAll = (g: GuestMemory): Float64Array => {
        const v = new Float64Array(g.pages);
        for (let p = 0; p < g.pages; p++) v[p] = mem.peek(g, p);
        return v;
      };
      k.on("created", (w) => {
        if (w.kind === "vm") byId.set(w.id, w.name);
      });
      // The declared VMs are made and filled before the run; this is the run's first event.
      k.at(0, () => {
        for (const w of k.cluster.worlds) if (w.kind === "vm" && w.memory) this.views.set(w.name, peekAll(w.memory));
      }, "shadow start");
      k.on("state-changed", (w, from, to) => {
        if (w.kind !== "vm") return;
        if (from === "created" && to === "running") {
          const base = this.baseOf(w, this);
          if (base) this.views.set(w.name, base.slice());
          else if (!this.views.has(w.name)) this.views.set(w.name, peekAll(w.memory!));
        }
        if (to === "suspended") {
          const v = this.views.get(w.name);
          if (v) {
            const list = this.snapshots.get(w.name) ?? [];
            list.push({ time: k.scheduler.now, view: v.slice() });
            this.snapshots.set(w.name, list);
          }
        }
      });
      const writeBatch = mem.writeBatch.bind(mem);
      mem.writeBatch = (g, pages, contents, from, to, vcpu) => {
        const reached = writeBatch(g, pages, contents, from, to, vcpu);
        const name = byId.get(g.worldId);
        const v = name === undefined ? undefined : this.views.get(name);
        if (v) for (let i = from; i < reached; i++) v[pages[i]!] = contents[i]!;
        return reached;
      };
      const write = mem.write.bind(mem);
      mem.write = (g, page, content, vcpu) => {
        const s = write(g, page, content, vcpu);
        const name = byId.get(g.worldId);
        const v = name === undefined ? undefined : this.views.get(name);
        if (s === 0 && v) v[page] = content;
        return s;
      };
    } });
  }

  /** The VM's view at its latest suspension at or before `time` (a capture, a quiesce). */
  suspendedView(vm: string, time = Number.POSITIVE_INFINITY): Float64Array | undefined {
    const list = (this.snapshots.get(vm) ?? []).filter((s) => s.time <= time);
    return list[list.length - 1]?.view;
  }
}

/**
 * Runs a scenario with the shadow (and invariants checked at the end); a failure of any phase
 * throws. `startFrom`: the VMs made during the run (children, clones, a restored VM) start from
 * that VM's contents at its latest suspension (a capture, a checkpoint's quiesce).
 */
export async function simulate(text: string, opts: { shadow?: Shadow; startFrom?: string; outDir?: string; name?: string } = {}): Promise<Outcome> {
  const shadow = opts.shadow ?? new Shadow();
  const from = opts.startFrom;
  if (from !== undefined) shadow.baseOf = (_w, s) => s.suspendedView(from);
  const r = await run(files({ [opts.name ?? "m.vmscn"]: text }), { pluginObjects: [shadow.plugin], ...(opts.outDir !== undefined ? { outDir: opts.outDir } : {}) });
  if (r.failedPhase || !r.kernel || !r.report) throw new Error(`${r.failedPhase}: ${r.error?.describe() ?? r.diagnostics.map((d) => d.message).join("; ")}`);
  return { report: r.report as Json, kernel: r.kernel, shadow };
}

/** The faults of two hosts a (the source) and b (the destination) and their link. */
export const TWO_HOST_FAULTS: Readonly<Record<string, string>> = {
  "source crash": "crash a",
  "destination crash": "crash b",
  "link down": "link a<->b down",
  "destination memory exhausted": "exhaust b",
  "source memory exhausted": "exhaust a",
};

/** One cell of a matrix: a fault (`line`, a scenario statement) at an instant of a phase. */
export interface Cell {
  phase: string;
  fault: string;
  /** `phase × fault`, for the assertions' names. */
  name: string;
  at: number;
  line: string;
}

/**
 * Runs every cell — each phase's instant × each fault `faultsOf` gives for that phase (a kill
 * only where its helper world is alive) — as the statement `at T ns: LINE` added to the
 * scenario, and hands each run to `check`. A cell whose run throws (a failed phase, a plugin's
 * VMSCN6006, anything uncaught) fails. Returns how many cells ran.
 */
export async function runCells(t: Test, phases: Readonly<Record<string, number>>, faultsOf: (phase: string) => Readonly<Record<string, string>>, run: (cell: Cell, statement: string) => Promise<Outcome>, check: (cell: Cell, o: Outcome) => void): Promise<number> {
  let cells = 0;
  for (const [phase, at] of Object.entries(phases)) {
    for (const [fault, line] of Object.entries(faultsOf(phase))) {
      const cell: Cell = { phase, fault, name: `${phase} × ${fault}`, at, line };
      let o: Outcome;
      try {
        o = await run(cell, `  at ${at} ns: ${line}`);
      } catch (err) {
        t.fail(`${cell.name}: ${(err as Error).message}`);
        continue;
      }
      cells++;
      check(cell, o);
    }
  }
  return cells;
}

/** The faults of `all` a phase meets: every one but the kills of helper worlds not alive in it. */
export function withHelpers(all: Readonly<Record<string, string>>, alive: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(all).filter(([fault, line]) => !line.startsWith("kill") || alive.includes(fault)));
}

/** An instant inside [from, to): its middle, in whole ns. */
export function middle(from: number, to: number): number {
  return from + Math.floor((to - from) / 2);
}

/** The hosts whose world lists hold `vm` (exactly one, always). */
export function hostsOf(report: Json, vm: string): string[] {
  return Object.entries(report.hosts as Record<string, { worlds: string[] }>)
    .filter(([, h]) => h.worlds.includes(vm))
    .map(([n]) => n);
}

/**
 * A VM's pages that differ from its guest's view: `wrong` (mapped with other contents),
 * `absent` (not on any host yet: still to restore or fetch), and the first wrong page.
 */
export function contentsCheck(o: Outcome, vm: string): { wrong: number; absent: number; first: string } {
  const view = o.shadow.views.get(vm);
  const w = o.kernel.cluster.world(vm);
  const g = w.memory!;
  let wrong = 0;
  let absent = 0;
  let first = "";
  if (!view) return { wrong: g.pages, absent: 0, first: `no view of "${vm}"` };
  for (let p = 0; p < g.pages; p++) {
    const got = o.kernel.memory.peek(g, p);
    if (Number.isNaN(got)) absent++;
    else if (got !== view[p]) {
      if (wrong++ === 0) first = `page ${p}: ${got}, the guest wrote ${view[p]}`;
    }
  }
  return { wrong, absent, first };
}

/** A VM that did not survive: the reason carries a time (`at 1.5 s`) and, when a plugin gave it, a code. */
export const TIMED = /\bat \d+(\.\d+)? ?(ns|us|µs|ms|s|min)\b/;
export const CODED = /\bVMSCN\d{4}\b/;
/** A VM killed because a write of its guest found no free frame (the kernel's OOM rule). */
export const OOM_KILL = /^killed: VMSCN5002 at [\d.]+ s: host "[\w-]+" is out of memory: no free frame for "[\w@.-]+"/;
/** A VM that died with its host (the kernel's crash). */
export const HOST_CRASH = /^host "[\w-]+" crashed at [\d.]+ s$/;

/**
 * The cell's common assertions for each VM named: on exactly one host; surviving (running or
 * suspended, or created and never run) with exactly its guest's contents and nothing absent
 * unless `absentOk`; or stopped with a reason that has a time. Returns how many VMs survived.
 */
export function checkVms(t: Test, o: Outcome, cell: string, vms: readonly string[], { absentOk = false } = {}): number {
  let alive = 0;
  for (const vm of vms) {
    const v = o.report.vms[vm];
    if (!v) {
      t.fail(`${cell}: VM "${vm}" is missing from the report`);
      continue;
    }
    t.same(hostsOf(o.report, vm), [v.host], `${cell}: ${vm} is on exactly one host`);
    if (v.state === "stopped") {
      t.match(v.failure ?? "", TIMED, `${cell}: ${vm} stopped with a reason and a time`);
      continue;
    }
    alive++;
    const c = contentsCheck(o, vm);
    t.same({ wrong: c.wrong, first: c.first, ...(absentOk ? {} : { absent: c.absent }) }, { wrong: 0, first: "", ...(absentOk ? {} : { absent: 0 }) }, `${cell}: ${vm} holds exactly what its guest wrote`);
  }
  return alive;
}

/** A coded failure: a code, a time and a sentence. */
export function checkCoded(t: Test, reason: string | undefined, cell: string): void {
  t.match(reason ?? "", CODED, `${cell}: the failure has a code`);
  t.match(reason ?? "", TIMED, `${cell}: the failure has a time`);
}
