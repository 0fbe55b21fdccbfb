// What a VM is made of, as the scenario declares it.
import type { ContentMix } from "../memory/content.js";
import type { WorkloadSpec } from "../workload/spec.js";

export interface DiskSpec {
  datastore: string;
  sizeBytes: number;
}

export interface VmSpec {
  name: string;
  host: string;
  vcpus: number;
  memoryBytes: number;
  /** Contents of every page at creation; without it every page starts unbacked (never touched). */
  initial?: ContentMix;
  workload?: WorkloadSpec;
  disks?: DiskSpec[];
  /** Size of the non-memory state (devices, vCPU registers) a migration or checkpoint moves. */
  deviceStateBytes?: number;
  /** A MAC address, or one from the cluster's name space. */
  mac?: string;
  /** Cold launch: boot, initialisation and application launch, for comparisons (fork, clone). */
  bootNs?: number;
}

export const DEFAULT_DEVICE_STATE_BYTES = 512 * 1024;
