// The state capsule: what the VMM captures of a running VM (the document's runtime image):
// the CPU state, the device model's state and the memory bootstrap, sealed into one packet.
// Its size and the time to capture it are modelled (README, "Capture and load costs").
import type { LaunchOptions } from "./options.js";

/** One entry per guest page in the memory bootstrap: the guest-physical map the loader rebuilds. */
export const BOOTSTRAP_BYTES_PER_PAGE = 8;

export interface CapsuleLayout {
  /** CPU state of every vCPU. */
  cpuState: number;
  /** The device model's state (the VM's declared `device-state`). */
  deviceState: number;
  /** The memory bootstrap: one entry per guest page. */
  memoryBootstrap: number;
  /** The whole capsule, bytes. */
  bytes: number;
}

export function capsuleLayout(vcpus: number, deviceStateBytes: number, pages: number, cpuStatePerVcpu: number): CapsuleLayout {
  const cpuState = vcpus * cpuStatePerVcpu;
  const memoryBootstrap = pages * BOOTSTRAP_BYTES_PER_PAGE;
  return { cpuState, deviceState: deviceStateBytes, memoryBootstrap, bytes: cpuState + deviceStateBytes + memoryBootstrap };
}

export interface CaptureCost {
  /** The whole capture: the parent is paused this long. */
  total: number;
  /** Hosted model: the VM exit into the VMM on the host OS. */
  exit: number;
  /** Micro-hypervisor model: synchronising in-hypervisor and device-model state. */
  sync: number;
  /** Micro-hypervisor model: sealing the synchronised state into a packet. */
  seal: number;
  /** Copying the capsule's bytes. */
  copy: number;
}

/**
 * Hosted VMM: one exit into the VMM process on the host OS pauses the VM, then its state is
 * copied. Hybrid (micro-hypervisor + service OS): the in-hypervisor state (CPU, memory map)
 * and the device model's state in the service OS are first synchronised, then sealed into a
 * packet, then copied.
 */
export function captureCost(layout: CapsuleLayout, o: LaunchOptions): CaptureCost {
  const copy = Math.round((layout.bytes / o.copyRate) * 1e9);
  if (o.hostModel === "hosted") return { total: o.exitNs + copy, exit: o.exitNs, sync: 0, seal: 0, copy };
  return { total: o.syncNs + o.sealNs + copy, exit: 0, sync: o.syncNs, seal: o.sealNs, copy };
}

/**
 * A page's share of a memory digest: a 32-bit hash of (page, content). Digests XOR these, so
 * pages may arrive in any order: a clone whose arrived pages digest to the image's digest got
 * every page as the parent held it at capture.
 */
export function pageDigest(page: number, content: number): number {
  const lo = content % 4294967296;
  const hi = Math.floor(content / 4294967296);
  let h = Math.imul(page ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(lo | 0, 0xc2b2ae35) ^ Math.imul((hi + 0x27d4eb2f) | 0, 0x165667b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function digestHex(d: number): string {
  return (d >>> 0).toString(16).padStart(8, "0");
}

/** The VMM loading a VM from a capsule: a fixed part, then one mapping per guest page. */
export function loadCost(pages: number, o: LaunchOptions): number {
  return o.loadNs + Math.round((pages / o.mapRate) * 1e9);
}
