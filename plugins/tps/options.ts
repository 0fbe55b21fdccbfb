// The `tps` verb: `tps on HOST { ... }` starts (or re-configures) a host's page-sharing
// scanner, `tps off HOST` stops it (merged pages stay merged, as KSM's run = 0).
import type { ArgSpec, OptionSpec, VerbCall } from "../../core/api.js";

/** A host's scanner settings (KSM's sysfs knobs, and the document's choices for remote pages). */
export interface KsmSettings {
  pagesToScan: number;
  sleepNs: number;
  /** Share within a VM only (ESXi's salting) or across the host's VMs (KSM). */
  scope: "within-vm" | "across-vms";
  /** Zero pages: merged like any page (KSM default), with the zero page (use_zero_pages), or left alone. */
  zeroPages: "merge" | "use-zero-pages" | "keep";
  /** A page mapped to another host's frame that equals a local one: it moves to the local frame, the local page moves to the remote frame, or neither. */
  remotePages: "local" | "remote" | "ignore";
}

export const TPS_ARGS: ArgSpec[] = [
  { name: "state", kind: "word", values: ["on", "off"], description: "on: start (or re-configure) the host's scanner; off: stop it (merged pages stay merged)" },
  { name: "host", kind: "host", description: "the host" },
];

export const TPS_OPTIONS: Record<string, OptionSpec> = {
  "pages-to-scan": { type: "integer", min: 1, max: 16_777_216, default: 100, description: "pages scanned per batch (KSM's pages_to_scan)" },
  sleep: { type: "quantity", dimension: "time", min: 1_000, max: 3_600_000_000_000, default: 20_000_000, description: "time between batches (KSM's sleep_millisecs)" },
  // (`vm` and `host` are reserved words in actions, hence the longer names.)
  scope: { type: "enum", values: ["across-vms", "within-vm"], default: "across-vms", description: "across-vms: pages are shared across the host's VMs (KSM); within-vm: only within a VM (ESXi's salting)" },
  "zero-pages": { type: "enum", values: ["merge", "use-zero-pages", "keep"], default: "merge", description: "merge: zero pages are merged like any page (KSM's default); use-zero-pages: they are unmapped to the zero page (KSM's use_zero_pages); keep: never merged" },
  "remote-pages": { type: "enum", values: ["local", "remote", "ignore"], default: "local", description: "a page mapped to another host's frame equal to a local page: local (it moves onto the local frame), remote (the local page moves onto the remote frame), ignore" },
};

export function parseSettings(call: Pick<VerbCall, "options">): KsmSettings {
  const o = call.options;
  return {
    pagesToScan: Number(o["pages-to-scan"] ?? 100),
    sleepNs: Number(o["sleep"] ?? 20_000_000),
    scope: (o["scope"] as KsmSettings["scope"] | undefined) ?? "across-vms",
    zeroPages: (o["zero-pages"] as KsmSettings["zeroPages"] | undefined) ?? "merge",
    remotePages: (o["remote-pages"] as KsmSettings["remotePages"] | undefined) ?? "local",
  };
}
