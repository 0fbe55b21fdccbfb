// How much memory a scenario will need on this machine, estimated from the plan before it
// runs, so a scenario too big for the machine is refused with the largest contributors
// instead of being killed by the OS halfway through.
import { formatBytesRounded } from "../core/text/bytes.js";
import { PAGE_SIZE, defaultRunConfig } from "../core/config.js";
import { SERIES_MAX_POINTS } from "../core/report/metrics.js";
import type { OptionValue } from "../core/plugin-host/context.js";
import type { Plan } from "../dsl/plan.js";

/** Bytes per guest page: the page map's frame index (4) and metadata byte (1). */
const PAGE_MAP_BYTES = 5;
/**
 * Bytes per machine frame: content identity (8, the free list's link when free) and
 * references (4). A host's frame table is allocated for its whole capacity when the host is
 * made, so every frame of every host counts, used or not; the frames behind guest pages are
 * among them.
 */
const FRAME_BYTES = 12;
/** ... and its owner (4), recorded on every host once a VM forks (the fork's `new-frames`). */
const OWNER_BYTES = 4;
/** A VM's memory in the kernel besides the frames (its host's): its page map. */
const VM_PAGE_BYTES = PAGE_MAP_BYTES;
/** A time series point: its time and its value (8 + 8). */
const SERIES_POINT_BYTES = 16;
/** Node, the modules and the kernel's fixed structures. */
const BASELINE_BYTES = 96 * 1024 * 1024;
/**
 * Page sharing (tps) per guest page scanned: its item state, checksum and node id (9), the two
 * hash tables' 20-byte slots at their lowest load after a doubling, one entry per page (80),
 * and the stable nodes' arrays (29 bytes a node, at most one node per two pages: 15). An
 * upper bound: two 1 GiB VMs scanned to convergence take about 66 bytes a page.
 */
const TPS_PAGE_BYTES = 104;
/** A lazy save per guest page: the contents at the checkpoint (8), untouched and accessed bits (2). */
const SAVE_PAGE_BYTES = 10;
/** ... and per memory block: its file offset (8), its IO-memory map slot (4), its state (1), its order (4). */
const SAVE_BLOCK_BYTES = 17;
/** An XBZRLE cache slot: its page (4), the content cached (8) and its age (8). */
const XBZRLE_SLOT_BYTES = 20;
/** A restore per guest page: the contents expected (8) and the dirty bits of verification (1). */
const RESTORE_PAGE_BYTES = 9;

export interface MemoryEstimate {
  totalBytes: number;
  /** The largest contributors first: "VM web (16 GiB guest): 400 MiB". */
  contributors: { what: string; bytes: number }[];
}

export interface EstimateOptions {
  /**
   * The run writes checkpoint files to disk (`--out`). Without it a checkpoint file is kept in
   * memory, as large as the guest's memory at most, and counts here.
   */
  filesOnDisk?: boolean;
}

/**
 * Upper bound: every host's frame table (its whole capacity), every guest's page map, the time
 * series sampled during the run (memory per host, rate per link: at most SERIES_MAX_POINTS
 * points each, fewer for a short run), and what the verbs of the plan add — a migration's
 * second page map of the VM; a fork's children and a clone's clones (each a page map; their
 * frames are their host's) and the captured image's page map; a checkpoint's file (unless it
 * goes to disk) and the save's tables; a restore's tables; page sharing's tables over every
 * guest page. A verb of another plugin that names a VM and something more (a destination)
 * counts as a second copy of that VM.
 */
export function estimateMemory(plan: Plan, opts: EstimateOptions = {}): MemoryEstimate {
  const contributors: { what: string; bytes: number }[] = [];
  const pagesOf = new Map(plan.vms.map((v) => [v.name, Math.ceil(v.memoryBytes / PAGE_SIZE)]));
  const add = (what: string, bytes: number) => void (bytes > 0 && contributors.push({ what, bytes }));
  // The hosts' frame tables, in one line (ten thousand hosts are one contributor).
  const hosts = plan.hosts ?? [];
  const frames = hosts.reduce((s, h) => s + Math.floor(h.memoryBytes / PAGE_SIZE), 0);
  const machine = formatBytesRounded(frames * PAGE_SIZE);
  add(hosts.length === 1 ? `host ${hosts[0]!.name} (${machine}): its frame table` : `the frame tables of ${hosts.length} hosts (${machine} of machine memory)`, frames * FRAME_BYTES);
  // The sampler's series: one per host and one per link, bounded by decimation.
  const series = hosts.length + (plan.links?.length ?? 0);
  const interval = defaultRunConfig().sampleIntervalNs;
  const points = plan.until === undefined ? SERIES_MAX_POINTS : Math.min(SERIES_MAX_POINTS, Math.floor(plan.until / interval) + 2);
  add(`the time series (${series} of at most ${points} points)`, series * points * SERIES_POINT_BYTES);
  for (const v of plan.vms) add(`VM ${v.name} (${gib(v.memoryBytes)} guest): page map`, pagesOf.get(v.name)! * VM_PAGE_BYTES);
  // Every guest page there may be at once (page sharing scans them, wherever they are).
  let guestPages = [...pagesOf.values()].reduce((s, p) => s + p, 0);
  let tpsAt: number | undefined;

  const launch = (what: string, pages: number, workers: number, onDemand: boolean, image: boolean) => {
    add(`${what}: ${workers === 1 ? "a new VM's page map" : `${workers} new VMs' page maps`}`, workers * pages * (VM_PAGE_BYTES + (onDemand ? 1 : 0)));
    // The captured runtime image: a page map on the source, kept while a clone needs it.
    if (image) add(`${what}: the captured image's page map`, pages * PAGE_MAP_BYTES);
    guestPages += workers * pages;
  };

  for (const a of plan.actions) {
    if (a.verb === "tps") {
      if (a.args["state"] === "on") tpsAt ??= a.time;
      continue;
    }
    const vm = a.args["vm"];
    if (typeof vm !== "string" || !pagesOf.has(vm)) continue;
    const pages = pagesOf.get(vm)!;
    const what = `"${a.verb} ${vm}" at ${seconds(a.time)}`;
    switch (a.verb) {
      case "fork":
        launch(what, pages, a.args["worker"] === undefined ? num(a.options["children"], 1) : 0, a.options["memory"] === "on-demand", true);
        break;
      case "clone":
        launch(what, pages, a.args["worker"] === undefined ? num(a.options["workers"], 1) : 0, a.options["memory"] === "on-demand", true);
        break;
      case "checkpoint": {
        const count = num(a.options["count"], 1);
        if (!opts.filesOnDisk) add(`${what}: ${count === 1 ? "the checkpoint file" : `${count} checkpoint files`} kept in memory (no --out)`, count * pages * PAGE_SIZE);
        add(`${what}: the save's page and block tables`, pages * SAVE_PAGE_BYTES + Math.ceil(pages / num(a.options["block-pages"], 8)) * SAVE_BLOCK_BYTES);
        break;
      }
      case "restore":
        add(`${what}: the restore's page tables`, pages * RESTORE_PAGE_BYTES);
        break;
      default:
        if (Object.keys(a.args).some((k) => k !== "vm")) add(`${what}: the VM's second page map`, pages * VM_PAGE_BYTES);
        // QEMU's XBZRLE cache: direct-mapped, no slot past the guest's pages (a power of two above them).
        if (a.verb === "migrate" && a.options["xbzrle"] === true) {
          const asked = 2 ** Math.floor(Math.log2(Math.max(1, num(a.options["xbzrle-cache-size"], 64 * 2 ** 20) / PAGE_SIZE)));
          add(`${what}: the XBZRLE cache`, Math.min(asked, 2 ** Math.ceil(Math.log2(pages))) * XBZRLE_SLOT_BYTES);
        }
    }
  }
  const forks = plan.actions.some((a) => a.verb === "fork") || plan.hypercalls.some((h) => h.name === "fork");
  if (forks) add("the frames' owners, recorded once a VM forks", frames * OWNER_BYTES);
  for (const h of plan.hypercalls) {
    const pages = pagesOf.get(h.vm);
    if (h.name !== "fork" || pages === undefined) continue;
    launch(`"${h.vm} hypercall fork" at ${seconds(h.time)}`, pages, h.options["into"] === undefined ? num(h.options["children"], 1) : 0, h.options["memory"] === "on-demand", true);
  }
  if (tpsAt !== undefined) add(`"tps on" at ${seconds(tpsAt)}: page sharing's tables over ${guestPages} guest pages`, guestPages * TPS_PAGE_BYTES);

  add("the simulator itself", BASELINE_BYTES);
  contributors.sort((x, y) => y.bytes - x.bytes);
  return { totalBytes: contributors.reduce((s, c) => s + c.bytes, 0), contributors };
}

function num(v: OptionValue | undefined, dflt: number): number {
  return typeof v === "number" ? v : dflt;
}

function seconds(ns: number): string {
  return `${ns / 1e9} s`;
}

/** From MiB up: a VM's memory is never quoted in KiB. */
function gib(bytes: number): string {
  return formatBytesRounded(bytes, "MiB");
}

export function formatMiB(bytes: number): string {
  return `${Math.ceil(bytes / (1024 * 1024))} MiB`;
}
