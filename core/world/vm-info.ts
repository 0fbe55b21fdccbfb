import { Slot } from "./slots.js";
import type { World } from "./world.js";
import type { SimFile } from "../storage/storage.js";
import type { VmSpec } from "./vm-spec.js";

/** What the kernel knows of a VM beyond its world: its spec, disks and MAC address. */
export interface VmInfo {
  spec: VmSpec;
  mac: string;
  disks: SimFile[];
  deviceStateBytes: number;
  bootNs: number;
}

export const VM_INFO = new Slot<VmInfo | null, World>("kernel:vm-info", () => null);

export function vmInfo(w: World): VmInfo | null {
  return w.hasExt(VM_INFO) ? w.ext(VM_INFO) : null;
}
