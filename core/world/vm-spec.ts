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
  /** Cold launch, for comparisons (fork, clone): the guest OS's boot... */
  bootNs?: number;
  /** ...then the guest OS's initialisation... */
  initNs?: number;
  /** ...then the launch of its applications (cold launch = boot + init + app launch). */
  appLaunchNs?: number;
  /** The guest OS kernel and software configuration, for the cluster presumptions of fork and clone. */
  guest?: string;
  /** What the VM is for (its cluster's usage), for the same presumptions. */
  usage?: string;
}

export const DEFAULT_DEVICE_STATE_BYTES = 512 * 1024;
