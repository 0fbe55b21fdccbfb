// The `migrate` verb's arguments and options, and their typed form.
import type { ArgSpec, OptionSpec, VerbCall } from "../../core/api.js";
import type { ConvergeRule } from "./convergence.js";
import type { WriteProtectMode } from "./write-protect.js";

export const MIGRATE_ARGS: ArgSpec[] = [
  { name: "vm", kind: "vm", description: "the VM to migrate (the source VM)" },
  { name: "host", keyword: "to", kind: "host", description: "the destination host" },
  { name: "mode", keyword: "with", kind: "word", values: ["precopy", "demand-paging"], optional: true, description: "precopy (default): iterative pre-copy while the VM runs; demand-paging: no pre-copy, every page fetched after resume" },
];

export const AFTER_VALUES = ["stop-and-copy", "demand-paging", "background"] as const;

export const MIGRATE_OPTIONS: Record<string, OptionSpec> = {
  bandwidth: { type: "quantity", dimension: "bandwidth", min: 0, description: "cap on the migration's rate, all its transfers together (default: none, the link decides; 128 MiB/s with converge qemu); 0: none, as QEMU's max-bandwidth 0" },
  converge: { type: "enum", values: ["threshold", "qemu", "xen"], default: "threshold", description: "when pre-copy stops: threshold (the document's rule), qemu (downtime-limit), xen (29 iterations, < 50 dirty, > 3× memory)" },
  threshold: { type: "integer", min: 0, default: 512, description: "pages left under which pre-copy stops (converge threshold)" },
  // No `default` in the spec: its default depends on the rule (parseOptions).
  "max-rounds": { type: "integer", min: 1, max: 10000, description: "pre-copy rounds at most, the first included (default 30; none with converge qemu, which has no round limit: a migration that never converges stays active)" },
  "downtime-limit": { type: "quantity", dimension: "time", min: 0, default: 300_000_000, description: "the downtime QEMU's rule aims for (converge qemu)" },
  after: { type: "list", values: AFTER_VALUES, default: ["stop-and-copy"], description: "what moves the pages left at switch-over: stop-and-copy (while suspended), demand-paging (network page faults after resume), background (a paging thread after resume)" },
  transport: { type: "enum", values: ["tcp", "rdma"], default: "tcp", description: "tcp (costs host CPU) or rdma (both hosts need RDMA NICs)" },
  // No `default` in the spec: it depends on the rule (parseOptions).
  batch: { type: "integer", min: 1, max: 1_048_576, description: "pages per network transfer (default 512): one in flight; under converge qemu they stream, and a batch ends early at the page that uses up the rate limit's budget" },
  // The options below have their defaults in parseOptions, not in the spec, so a run that does
  // not use them lists the same options (and gives the same report) as before they existed.
  "auto-converge": { type: "boolean", default: false, description: "throttle the guest's vCPUs while it dirties pages as fast as the migration sends them (QEMU's auto-converge)" },
  "throttle-initial": { type: "quantity", dimension: "percent", min: 0, max: 1, default: 0.2, description: "auto-converge: the first throttle" },
  "throttle-increment": { type: "quantity", dimension: "percent", min: 0, max: 1, default: 0.1, description: "auto-converge: the step each later raise adds" },
  "throttle-max": { type: "quantity", dimension: "percent", min: 0, max: 1, default: 0.99, description: "auto-converge: the throttle never goes above this" },
  "throttle-trigger-threshold": { type: "quantity", dimension: "percent", min: 0.01, max: 1, description: "auto-converge under converge qemu: the throttle moves when the bytes dirtied in a sync period exceed this share of the bytes sent in it (QEMU's throttle-trigger-threshold; default 50 %)" },
  "throttle-tailslow": { type: "boolean", description: "auto-converge under converge qemu: once throttling, each step is only as large as the dirty rate needs, at most throttle-increment (QEMU's cpu-throttle-tailslow; default off)" },
  "zero-page-time": { type: "quantity", dimension: "time", min: 0, description: "the sender's time to read a zero page and find it zero (QEMU's buffer_is_zero over 4 KiB; default 0; with converge qemu 250 ns, from the idle guests of our QEMU 7.2 measurements — modelled)" },
  "setup-time": { type: "quantity", dimension: "time", min: 0, description: "the migration thread's setup (QEMU's qemu_savevm_state_setup: bitmaps, dirty logging started, the first sync), reported as setup-time (default 0; with converge qemu 9 ms + 225 ms per GiB of guest memory, fitted to QEMU 7.2 under TCG — see README; modelled)" },
  "write-protect": { type: "enum", values: ["at-sync", "per-chunk", "per-page"], description: "when a page reported dirty is write-protected again: at-sync (TCG's and Xen's rule: a write after a sync and before the page's send sends it twice; the default with converge qemu and xen), per-chunk (KVM's manual dirty-log protect: just before the scan sends the first page of its chunk of 2^clear-bitmap-shift pages), per-page (the document's rule, just before the page is sent; the default with converge threshold)" },
  "clear-bitmap-shift": { type: "integer", min: 6, max: 31, description: "write-protect per-chunk: chunks of 2^shift pages (QEMU's x-clear-bitmap-shift; default 18, 1 GiB)" },
  wire: { type: "enum", values: ["qemu", "raw"], description: "bytes on the wire: qemu (QEMU's: an 8-byte header a page and a disk block, a zero page as a 9-byte marker; the default) or raw (payloads only: 4096 bytes a page, zero pages too, as flow-level simulators and closed forms count)" },
  "postcopy-ram": { type: "boolean", description: "QEMU's postcopy-ram capability (converge qemu): once post-copy is requested (migrate-start-postcopy, or start-postcopy-after), the next turn of the loop with more left than the threshold stops the VM, sends the dirty bitmap and the device state, and resumes the VM on the destination while the source pushes the pages left; a page the guest touches first is requested and the push goes on after it (default off)" },
  "start-postcopy-after": { type: "integer", min: 1, max: 1_000_000, description: "with postcopy-ram: request post-copy (as migrate-start-postcopy) once dirty-sync-count reaches this many syncs" },
  "switch-over-bandwidth": { type: "enum", values: ["unlimited", "capped"], description: "the switch-over and what follows it: unlimited (QEMU's migration_completion and postcopy_start lift the cap, so the pages left and the device state go at link speed; the default with converge qemu) or capped (the default otherwise)" },
  disk: { type: "enum", values: ["copy", "refuse"], default: "copy", description: "a disk on a datastore the destination cannot reach: copy (its blocks are pre-copied to the destination's first datastore) or refuse (VMSCN5012)" },
  // The disk copy (disk.ts); no `default` in the spec (see above).
  "disk-threshold": { type: "integer", min: 0, description: "a copied disk: pre-copy ends only once at most this many 1 MiB blocks are dirty (default 8), unless memory's rule gives up" },
  "zero-blocks": { type: "boolean", description: "a copied disk: a block of zeros crosses as its header only (QEMU's zero-blocks capability; default off)" },
  "create-time": { type: "quantity", dimension: "time", min: 0, description: "step 2: how long the destination daemon takes to create the destination VM (default 0; modelled)" },
  "retry-interval": { type: "quantity", dimension: "time", min: 0, description: "step 3A: the waiting destination VM asks its kernel for state this often, and restores at its first try after the state arrived (default 0: at once)" },
  // Compression and delta encoding of pre-copied pages (the compression plugin's codecs),
  // QEMU's capabilities and parameters of the same names. No `default` in the spec (see above).
  compress: { type: "enum", values: ["none", "zlib", "snappy"], description: "compress each pre-copied page with this codec (QEMU's compress capability; default none); the CPU time is charged to both hosts" },
  "compress-level": { type: "integer", min: 0, max: 9, description: "zlib's level (default 1, QEMU's compress-level)" },
  "compress-threads": { type: "integer", min: 1, max: 256, description: "cores the source compresses with (default 8, QEMU's compress-threads)" },
  "decompress-threads": { type: "integer", min: 1, max: 256, description: "cores the destination decompresses with (default 2, QEMU's decompress-threads)" },
  xbzrle: { type: "boolean", description: "from round 2, send a page sent before as the XBZRLE delta against its cached copy (QEMU's xbzrle capability; default off)" },
  "xbzrle-cache-size": { type: "quantity", dimension: "bytes", min: 4096, description: "the XBZRLE cache (default 64 MiB, QEMU's xbzrle-cache-size): a power of two, as QEMU requires" },
};

/** QEMU's defaults for the compression and XBZRLE parameters. */
export const COMPRESS_DEFAULTS = { level: 1, threads: 8, decompressThreads: 2, xbzrleCacheBytes: 64 * 1024 * 1024 } as const;

/** `disk-threshold`'s default: 8 dirty blocks of 1 MiB. */
export const DISK_THRESHOLD = 8;

/**
 * The sender's time per zero page under converge qemu: QEMU 7.2 sent our idle guests' pages
 * (almost all zero) at about 0.25 µs a page after setup — 18 ms for 65 664 pages, 65 ms for
 * 262 272 (docs/research/qemu-7.2-reference) — faster than their 9 bytes a page would need at
 * the cap, which the rate limit's budget does not bind for so few bytes. Modelled.
 */
export const QEMU_ZERO_PAGE_NS = 250;

/** 128 MiB/s: QEMU's default max-bandwidth, used with converge qemu when no cap is given. */
export const QEMU_DEFAULT_BANDWIDTH = 128 * 1024 * 1024;

export interface MigrateOptions {
  vm: string;
  host: string;
  mode: "precopy" | "demand-paging";
  bandwidth: number | undefined;
  converge: ConvergeRule;
  threshold: number;
  maxRounds: number;
  downtimeLimitNs: number;
  /** From the switch-over on, the `bandwidth` cap no longer applies (QEMU's rule). */
  liftCapAtSwitchOver: boolean;
  /** Pages left at switch-over are sent while suspended (else fetched after resume). */
  stopAndCopy: boolean;
  demandPaging: boolean;
  background: boolean;
  transport: "tcp" | "rdma";
  batch: number;
  autoConverge: boolean;
  /** Throttle fractions (0..1). */
  throttleInitial: number;
  throttleIncrement: number;
  throttleMax: number;
  disk: "copy" | "refuse";
  /** Dirty disk blocks pre-copy may end with (`disk-threshold`). */
  diskThreshold: number;
  zeroBlocks: boolean;
  compress: "none" | "zlib" | "snappy";
  /** zlib's level; undefined for Snappy and no compression. */
  compressLevel: number | undefined;
  compressThreads: number;
  decompressThreads: number;
  xbzrle: boolean;
  xbzrleCacheBytes: number;
  createTimeNs: number;
  retryIntervalNs: number;
  /** The sender's time per zero page it sends (`zero-page-time`). */
  zeroPageNs: number;
  /** Given `setup-time`, or undefined: the rule's model (setup.ts). */
  setupTimeNs: number | undefined;
  /** Auto-converge under converge qemu: throttle-trigger-threshold (0..1) and cpu-throttle-tailslow. */
  throttleTriggerThreshold: number;
  throttleTailslow: boolean;
  writeProtect: WriteProtectMode;
  clearBitmapShift: number;
  /** QEMU's post-copy (converge qemu): the capability, and the syncs after which it is requested (0: only by migrate-start-postcopy). */
  postcopyRam: boolean;
  startPostcopyAfter: number;
  wire: "qemu" | "raw";
}

export function parseOptions(call: Pick<VerbCall, "args" | "options">): MigrateOptions {
  const o = call.options;
  const after = (o["after"] as string[] | undefined) ?? ["stop-and-copy"];
  const mode = (call.args["mode"] as "precopy" | "demand-paging" | undefined) ?? "precopy";
  const converge = (o["converge"] as ConvergeRule | undefined) ?? "threshold";
  let bandwidth = o["bandwidth"] as number | undefined;
  if (bandwidth === undefined && converge === "qemu") bandwidth = QEMU_DEFAULT_BANDWIDTH;
  // QEMU's max-bandwidth 0: no rate limit (qemu_file_rate_limit tests rate_limit_max > 0).
  if (bandwidth === 0) bandwidth = undefined;
  // Demand paging is always on after resume when stop-and-copy is not chosen: a page the
  // destination touches before the background thread brings it must be fetched.
  const stopAndCopy = mode === "precopy" && (after.includes("stop-and-copy") || after.length === 0);
  const compress = (o["compress"] as "none" | "zlib" | "snappy" | undefined) ?? "none";
  return {
    vm: String(call.args["vm"]),
    host: String(call.args["host"]),
    mode,
    bandwidth,
    converge,
    threshold: Number(o["threshold"] ?? 512),
    // QEMU 7.2's migration_iteration_run() has no iteration cap and no give-up rule.
    maxRounds: o["max-rounds"] !== undefined ? Number(o["max-rounds"]) : converge === "qemu" ? Infinity : 30,
    downtimeLimitNs: Number(o["downtime-limit"] ?? 300_000_000),
    liftCapAtSwitchOver: (o["switch-over-bandwidth"] ?? (converge === "qemu" ? "unlimited" : "capped")) === "unlimited",
    stopAndCopy,
    demandPaging: !stopAndCopy,
    background: after.includes("background"),
    transport: (o["transport"] as "tcp" | "rdma" | undefined) ?? "tcp",
    batch: Number(o["batch"] ?? 512),
    autoConverge: o["auto-converge"] === true,
    throttleInitial: Number(o["throttle-initial"] ?? 0.2),
    throttleIncrement: Number(o["throttle-increment"] ?? 0.1),
    throttleMax: Number(o["throttle-max"] ?? 0.99),
    disk: (o["disk"] as "copy" | "refuse" | undefined) ?? "copy",
    diskThreshold: Number(o["disk-threshold"] ?? DISK_THRESHOLD),
    zeroBlocks: o["zero-blocks"] === true,
    compress,
    compressLevel: compress === "zlib" ? Number(o["compress-level"] ?? COMPRESS_DEFAULTS.level) : undefined,
    compressThreads: Number(o["compress-threads"] ?? COMPRESS_DEFAULTS.threads),
    decompressThreads: Number(o["decompress-threads"] ?? COMPRESS_DEFAULTS.decompressThreads),
    xbzrle: o["xbzrle"] === true,
    xbzrleCacheBytes: Number(o["xbzrle-cache-size"] ?? COMPRESS_DEFAULTS.xbzrleCacheBytes),
    createTimeNs: Number(o["create-time"] ?? 0),
    retryIntervalNs: Number(o["retry-interval"] ?? 0),
    zeroPageNs: Number(o["zero-page-time"] ?? (converge === "qemu" ? QEMU_ZERO_PAGE_NS : 0)),
    setupTimeNs: o["setup-time"] === undefined ? undefined : Number(o["setup-time"]),
    throttleTriggerThreshold: Number(o["throttle-trigger-threshold"] ?? 0.5),
    throttleTailslow: o["throttle-tailslow"] === true,
    writeProtect: (o["write-protect"] as WriteProtectMode | undefined) ?? (converge === "threshold" ? "per-page" : "at-sync"),
    clearBitmapShift: Number(o["clear-bitmap-shift"] ?? 18),
    postcopyRam: o["postcopy-ram"] === true,
    startPostcopyAfter: Number(o["start-postcopy-after"] ?? 0),
    wire: (o["wire"] as "qemu" | "raw" | undefined) ?? "qemu",
  };
}
