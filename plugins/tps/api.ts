// What the tps plugin offers other plugins: `k.use("tps")` is typed by the `Services` entry
// below. Consumers `import type` from this file and from nowhere else here.
import type { GuestMemory } from "../../core/api.js";
import type { KsmCounters } from "./ksm.js";

export type { KsmCounters };

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
