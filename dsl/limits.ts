// How much memory a scenario will need on this machine, estimated from the plan before it
// runs, so a scenario too big for the machine is refused with the largest contributors
// instead of being killed by the OS halfway through.
import { PAGE_SIZE } from "../core/config.js";
import type { Plan } from "./plan.js";

/** Bytes per guest page: the page map's frame index (4) and metadata byte (1). */
const PAGE_MAP_BYTES = 5;
/** Bytes per machine frame in use: content identity (8), references (4), owner (4), free-list slot (4). */
const FRAME_BYTES = 20;
/** Node, the modules and the kernel's fixed structures. */
const BASELINE_BYTES = 96 * 1024 * 1024;

export interface MemoryEstimate {
  totalBytes: number;
  /** The largest contributors first: "VM web (16 GiB guest): 400 MiB". */
  contributors: { what: string; bytes: number }[];
}

/**
 * Upper bound: every guest page mapped and backed by a frame, and one extra page map and set
 * of frames for each VM a verb moves or copies (a migration's destination, a clone) — the
 * verbs of the plan that name a VM and a destination host.
 */
export function estimateMemory(plan: Plan): MemoryEstimate {
  const contributors: { what: string; bytes: number }[] = [];
  const pagesOf = new Map(plan.vms.map((v) => [v.name, Math.ceil(v.memoryBytes / PAGE_SIZE)]));
  for (const v of plan.vms) {
    const pages = pagesOf.get(v.name)!;
    contributors.push({ what: `VM ${v.name} (${gib(v.memoryBytes)} guest): page map and frames`, bytes: pages * (PAGE_MAP_BYTES + FRAME_BYTES) });
  }
  for (const a of plan.actions) {
    const vm = a.args["vm"];
    if (typeof vm !== "string" || !pagesOf.has(vm)) continue;
    const copies = Object.keys(a.args).some((k) => k !== "vm") ? 1 : 0;
    if (copies === 0) continue;
    contributors.push({ what: `"${a.verb} ${vm}" at ${a.time / 1e9} s: the VM's second copy`, bytes: pagesOf.get(vm)! * (PAGE_MAP_BYTES + FRAME_BYTES) });
  }
  contributors.push({ what: "the simulator itself", bytes: BASELINE_BYTES });
  contributors.sort((x, y) => y.bytes - x.bytes);
  return { totalBytes: contributors.reduce((s, c) => s + c.bytes, 0), contributors };
}

function gib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${Number((bytes / 1024 ** 3).toFixed(2))} GiB` : `${Number((bytes / 1024 ** 2).toFixed(2))} MiB`;
}

export function formatMiB(bytes: number): string {
  return `${Math.ceil(bytes / (1024 * 1024))} MiB`;
}
