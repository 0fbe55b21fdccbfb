// The options every expedited launch takes (a fork or a clone: how the runtime image is
// captured and loaded, how a clone's memory crosses), the `clone` verb's own, and their
// typed form. The fork verb (plugin hypercall-fork) takes the launch options from this
// plugin's service, so both verbs describe and default them alike.
import type { ArgSpec, OptionSpec, OptionValue } from "../../core/api.js";

export const HOST_MODELS = ["hosted", "micro-hypervisor"] as const;
export type HostModel = (typeof HOST_MODELS)[number];

export const MEMORY_MODES = ["eager", "on-demand"] as const;
export type MemoryMode = (typeof MEMORY_MODES)[number];

/** Options of every launch, fork or clone. Their defaults are the modelled costs (README). */
export const LAUNCH_OPTIONS: Record<string, OptionSpec> = {
  "host-model": { type: "enum", values: HOST_MODELS, default: "hosted", description: "hosted: a VMM over a host OS; micro-hypervisor: a service OS beside a micro-hypervisor (the hybrid model: state is synchronised, then sealed)" },
  "exit-time": { type: "quantity", dimension: "time", min: 0, default: 200_000, description: "hosted model: the VM exit into the VMM on the host OS that pauses every vCPU (modelled)" },
  "sync-time": { type: "quantity", dimension: "time", min: 0, default: 300_000, description: "micro-hypervisor model: synchronising the in-hypervisor state with the device model's state in the service OS (modelled)" },
  "seal-time": { type: "quantity", dimension: "time", min: 0, default: 100_000, description: "micro-hypervisor model: sealing the synchronised state into a packet (modelled)" },
  "copy-rate": { type: "quantity", dimension: "bandwidth", min: 1, default: 2e9, description: "rate at which the VMM copies state into the capsule (modelled)" },
  "cpu-state": { type: "quantity", dimension: "bytes", min: 0, default: 4096, description: "CPU state per vCPU in the capsule (modelled)" },
  "load-time": { type: "quantity", dimension: "time", min: 0, default: 1_000_000, description: "the VMM creates the VM from the capsule, restores its CPU and device state and enters it in the run queue (modelled)" },
  "map-rate": { type: "quantity", dimension: "rate", min: 1, default: 5e8, description: "guest pages per second the VMM maps when it bootstraps the new VM's memory (modelled)" },
  memory: { type: "enum", values: MEMORY_MODES, default: "eager", description: "a clone's memory: eager (the whole image crosses before it starts) or on-demand (fetched page by page after it starts)" },
  background: { type: "boolean", default: false, description: "on-demand memory: a background thread also pulls the pages not yet fetched" },
  batch: { type: "integer", min: 1, max: 1_048_576, default: 256, description: "on-demand memory: pages per background transfer" },
  workload: { type: "enum", values: ["inherit", "idle"], default: "inherit", description: "a new VM's guest activity: inherit (the parent's activities and content mix) or idle; a declared worker VM keeps its own" },
};

export const CLONE_ARGS: ArgSpec[] = [
  { name: "vm", kind: "vm", description: "the VM whose runtime image is captured (the parent)" },
  { name: "host", keyword: "to", kind: "host", optional: true, description: "the next host (default: the placement policy chooses)" },
  { name: "worker", keyword: "into", kind: "vm", optional: true, description: "a declared VM, never started, that receives the image (its host is the placement)" },
];

export const CLONE_OPTIONS: Record<string, OptionSpec> = {
  workers: { type: "integer", min: 1, max: 100_000, default: 1, description: "clones to launch from one capture (a fan-out over the next hosts)" },
  ...LAUNCH_OPTIONS,
};

/** The launch options in base units. */
export interface LaunchOptions {
  hostModel: HostModel;
  exitNs: number;
  syncNs: number;
  sealNs: number;
  copyRate: number;
  cpuStateBytes: number;
  loadNs: number;
  mapRate: number;
  memory: MemoryMode;
  background: boolean;
  batch: number;
  workload: "inherit" | "idle";
}

export function parseLaunchOptions(o: Record<string, OptionValue>): LaunchOptions {
  const num = (name: string): number => Number(o[name] ?? LAUNCH_OPTIONS[name]!.default);
  return {
    hostModel: (o["host-model"] as HostModel | undefined) ?? "hosted",
    exitNs: num("exit-time"),
    syncNs: num("sync-time"),
    sealNs: num("seal-time"),
    copyRate: num("copy-rate"),
    cpuStateBytes: num("cpu-state"),
    loadNs: num("load-time"),
    mapRate: num("map-rate"),
    memory: (o["memory"] as MemoryMode | undefined) ?? "eager",
    background: o["background"] === true,
    batch: num("batch"),
    workload: (o["workload"] as "inherit" | "idle" | undefined) ?? "inherit",
  };
}
