// The `checkpoint` and `restore` verbs' arguments and options, and their typed form.
import type { ArgSpec, OptionSpec, OptionValue, ScenarioView, VerbProblem } from "../../core/api.js";
import { MAX_BLOCKS_PER_IO, MAX_PAGES_PER_BLOCK } from "./format.js";

export const CHECKPOINT_ARGS: ArgSpec[] = [
  { name: "vm", kind: "vm", description: "the VM whose state is saved" },
  { name: "datastore", keyword: "to", kind: "datastore", optional: true, description: "where the checkpoint file goes (default: the datastore of the VM's first disk, else its host's first datastore)" },
];

export const CHECKPOINT_OPTIONS: Record<string, OptionSpec> = {
  file: { type: "string", description: 'the checkpoint file\'s name on the datastore (default "<vm>.ckpt"; "<vm>-<n>.ckpt" with count > 1)' },
  mode: { type: "enum", values: ["lazy", "suspend"], default: "lazy", description: "lazy: the VM runs while its memory is saved (traces); suspend: the VM is stopped for the whole save" },
  trace: { type: "enum", values: ["access", "write"], default: "access", description: "lazy: which accesses fault a block into the file first: any access (read or write) or writes only" },
  "background-threads": { type: "integer", min: 0, max: 16, default: 1, description: "background save threads (each a helper world with one buffer)" },
  "background-threshold": { type: "quantity", dimension: "rate", min: 0, default: 8192, description: "lazy: the background threads start when the vCPUs save fewer pages per second than this (over 10 ms)" },
  "block-pages": { type: "integer", min: 1, max: MAX_PAGES_PER_BLOCK, default: 8, description: "pages per memory block" },
  "io-blocks": { type: "integer", min: 1, max: MAX_BLOCKS_PER_IO, default: 8, description: "memory blocks per IO block (the size of a buffer)" },
  compression: { type: "enum", values: ["none", "zlib", "snappy"], default: "none", description: "codec for each memory block (plugin compression)" },
  level: { type: "integer", min: 0, max: 9, description: "zlib's level (default 6)" },
  "access-window": { type: "quantity", dimension: "time", min: 0, default: 0, description: "before the checkpoint, how long accessed bits are gathered (they order the background threads' blocks)" },
  throttle: { type: "quantity", dimension: "percent", min: 0.01, max: 1, default: 0.5, description: "share of the datastore's bandwidth the background threads take while other IO is in flight" },
  "quiesce-timeout": { type: "quantity", dimension: "time", min: 0, default: 100_000_000, description: "quiesce: how long to wait for the VM's pending disk IO to finish" },
  after: { type: "enum", values: ["running", "suspended"], default: "running", description: "suspend mode: the VM runs again after the save (as it was) or stays suspended" },
  "max-size": { type: "quantity", dimension: "bytes", min: 4096, description: "space the datastore has for the file: a save that needs more fails as on a full disk (VMSCN7307)" },
  every: { type: "quantity", dimension: "time", min: 0, default: 0, description: "a checkpoint on a timer: the period between saves (0: once)" },
  count: { type: "integer", min: 1, max: 1_000_000, default: 1, description: "saves on the timer (with every)" },
};

export const RESTORE_ARGS: ArgSpec[] = [
  { name: "vm", kind: "vm", description: "the VM to restore (created or suspended; its memory size must match the checkpoint's)" },
  { name: "datastore", keyword: "from", kind: "datastore", optional: true, description: "the datastore holding the file (default as for checkpoint)" },
];

export const RESTORE_OPTIONS: Record<string, OptionSpec> = {
  file: { type: "string", description: 'the checkpoint file\'s name on the datastore (default "<vm>.ckpt"); a file of an earlier run is found under the output folder (--out)' },
  path: { type: "string", description: "a checkpoint file anywhere (relative to the current directory), read through the datastore" },
  "background-threads": { type: "integer", min: 0, max: 16, default: 1, description: "background restore threads (they read the first part first)" },
  buffers: { type: "integer", min: 1, max: 4096, description: "buffers in the pool (default: vCPUs + background threads)" },
  throttle: { type: "quantity", dimension: "percent", min: 0.01, max: 1, default: 0.5, description: "share of the datastore's bandwidth the background threads take while other IO is in flight" },
  verify: { type: "boolean", default: false, description: "check every page's bytes against its content and every restored page against the checkpoint (always on with --check-invariants)" },
};

export interface CheckpointOptions {
  vm: string;
  datastore: string | undefined;
  file: string | undefined;
  mode: "lazy" | "suspend";
  trace: "access" | "write";
  backgroundThreads: number;
  backgroundThreshold: number;
  pagesPerBlock: number;
  blocksPerIo: number;
  compression: "none" | "zlib" | "snappy";
  level: number | undefined;
  accessWindow: number;
  throttle: number;
  quiesceTimeout: number;
  after: "running" | "suspended";
  maxSize: number | undefined;
  every: number;
  count: number;
}

export interface RestoreOptions {
  vm: string;
  datastore: string | undefined;
  file: string | undefined;
  path: string | undefined;
  backgroundThreads: number;
  buffers: number | undefined;
  throttle: number;
  verify: boolean;
}

type Call = { args: Record<string, OptionValue>; options: Record<string, OptionValue> };

const str = (v: OptionValue | undefined): string | undefined => (v === undefined ? undefined : String(v));
const num = (v: OptionValue | undefined, d: number): number => (v === undefined ? d : Number(v));

export function parseCheckpoint(call: Call): CheckpointOptions {
  const o = call.options;
  return {
    vm: String(call.args["vm"]),
    datastore: str(call.args["datastore"]),
    file: str(o["file"]),
    mode: (o["mode"] as "lazy" | "suspend" | undefined) ?? "lazy",
    trace: (o["trace"] as "access" | "write" | undefined) ?? "access",
    backgroundThreads: num(o["background-threads"], 1),
    backgroundThreshold: num(o["background-threshold"], 8192),
    pagesPerBlock: num(o["block-pages"], 8),
    blocksPerIo: num(o["io-blocks"], 8),
    compression: (o["compression"] as "none" | "zlib" | "snappy" | undefined) ?? "none",
    level: o["level"] === undefined ? undefined : Number(o["level"]),
    accessWindow: num(o["access-window"], 0),
    throttle: num(o["throttle"], 0.5),
    quiesceTimeout: num(o["quiesce-timeout"], 100_000_000),
    after: (o["after"] as "running" | "suspended" | undefined) ?? "running",
    maxSize: o["max-size"] === undefined ? undefined : Number(o["max-size"]),
    every: num(o["every"], 0),
    count: num(o["count"], 1),
  };
}

export function parseRestore(call: Call): RestoreOptions {
  const o = call.options;
  return {
    vm: String(call.args["vm"]),
    datastore: str(call.args["datastore"]),
    file: str(o["file"]),
    path: str(o["path"]),
    backgroundThreads: num(o["background-threads"], 1),
    buffers: o["buffers"] === undefined ? undefined : Number(o["buffers"]),
    throttle: num(o["throttle"], 0.5),
    verify: o["verify"] === true,
  };
}

/** The datastore a VM's checkpoint goes to when the action names none. */
export function defaultDatastore(vm: { disks: readonly string[] }, host: { datastores: readonly string[] }): string | undefined {
  return vm.disks[0] ?? host.datastores[0];
}

/** What the scenario as declared already tells (VMSCN0222 at the argument or option). */
export function checkCheckpoint(call: Call, s: ScenarioView): VerbProblem[] {
  const o = parseCheckpoint(call);
  const problems: VerbProblem[] = [];
  problems.push(...reach(o.vm, o.datastore, s));
  problems.push(...fileName(o.file));
  if (o.mode === "suspend" && o.backgroundThreads === 0) problems.push({ message: "a suspend-mode save needs at least one background thread (no vCPU runs to save blocks)", at: "background-threads" });
  if (o.level !== undefined && o.compression !== "zlib") problems.push({ message: `option level is zlib's; this save uses ${o.compression}`, at: "level", hint: "use compression zlib, or drop level" });
  if (o.count > 1 && o.every === 0) problems.push({ message: `count ${o.count} needs a period: every`, at: "count", hint: "add every 30 s, say" });
  return problems;
}

export function checkRestore(call: Call, s: ScenarioView): VerbProblem[] {
  const o = parseRestore(call);
  const problems = [...reach(o.vm, o.datastore, s), ...fileName(o.file)];
  if (o.file !== undefined && o.path !== undefined) problems.push({ message: "give the file by name on the datastore (file) or by path (path), not both", at: "path" });
  return problems;
}

/**
 * A `file` is a name on the datastore, kept under `<out>/<datastore>/`: an absolute path or
 * one whose `..` leads out of the datastore's folder is refused here, before anything runs
 * (the run refuses it too, VMSCN5011). A file elsewhere is named by a restore's `path`.
 */
function fileName(file: string | undefined): VerbProblem[] {
  if (file === undefined) return [];
  let depth = 0;
  let leaves = file.startsWith("/") || file.startsWith("\\") || /^[A-Za-z]:/.test(file);
  for (const part of file.split(/[\\/]/)) {
    if (part === "..") depth--;
    else if (part !== "" && part !== ".") depth++;
    if (depth < 0) leaves = true;
  }
  if (!leaves && depth > 0) return [];
  return [{ message: `file "${file}" is not a name inside the datastore's folder: a checkpoint file is kept under the output folder, as <out>/<datastore>/<file>`, at: "file", hint: "name the file without .. or a leading /; a restore reads a file elsewhere with path" }];
}

function reach(vmName: string, datastore: string | undefined, s: ScenarioView): VerbProblem[] {
  const vm = s.vms.get(vmName);
  const host = vm ? s.hosts.get(vm.host) : undefined;
  if (!vm || !host) return [];
  const ds = datastore ?? defaultDatastore(vm, host);
  if (ds === undefined) return [{ message: `VM "${vmName}" has no disk and host "${vm.host}" reaches no datastore: the checkpoint file has nowhere to go`, at: "vm", hint: "declare a datastore the host reaches" }];
  const hosts = s.datastores.get(ds)?.hosts ?? [];
  if (!hosts.includes(vm.host)) return [{ message: `host "${vm.host}" of VM "${vmName}" cannot reach datastore "${ds}"`, at: "datastore", hint: `use a datastore attached to "${vm.host}"` }];
  return [];
}
