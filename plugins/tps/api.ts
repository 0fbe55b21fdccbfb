// What the tps plugin offers other plugins: `k.use("tps")` is typed by the `Services` entry
// below. Consumers `import type` from this file and from nowhere else here.
import type { GuestMemory } from "../../core/api.js";

/** A host's counters, by KSM's sysfs names (README, "Report"). */
export interface KsmCounters {
  pages_shared: number;
  pages_sharing: number;
  pages_unshared: number;
  pages_volatile: number;
  full_scans: number;
  ksm_zero_pages: number;
  pages_scanned: number;
  cow_breaks: number;
  memory_saved: number;
  remote_pages_merged: number;
  pages_mapped_remote: number;
  remote_compares: number;
  remote_compare_bytes: number;
}

export interface TpsService {
  /** KSM's counters of a host now, or null when TPS never ran there. */
  counters(host: string): KsmCounters | null;
  /** Called when the scanner re-maps a page between frames of two hosts (host ids: where its frame was, where it is now). */
  onRemap(listener: (guest: GuestMemory, page: number, fromHost: number, toHost: number) => void): void;
}

declare module "../../core/api.js" {
  interface Services {
    tps: TpsService;
  }
}
