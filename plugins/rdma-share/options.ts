// The options this plugin adds to `migrate`. Their defaults live in parseRdmaOptions (not in
// the specs), so actions that do not use them list the same options as before.
import type { OptionSpec, OptionValue, ScenarioView, VerbProblem } from "../../core/api.js";

export const RDMA_OPTIONS: Record<string, OptionSpec> = {
  "shared-pages": { type: "enum", values: ["leave", "copy"], description: "with transport rdma: leave (default) — pages whose frame is shared stay on the source, mapped over RDMA; copy — sent like any page" },
  "remote-cow": { type: "enum", values: ["on-write", "on-access"], description: "when a page left on the source is copied over: on-write (default; reads go over RDMA) or on-access (any access)" },
  "remote-background": { type: "boolean", description: "also copy the pages left on the source in the background, a batch at a time (default false)" },
  fallback: { type: "enum", values: ["refuse", "tcp"], description: "transport rdma between hosts without RDMA NICs: refuse (default, VMSCN7601) or migrate over TCP, copying shared pages" },
  initiator: { type: "enum", values: ["source", "destination"], description: "which end drives the pre-copy RDMA transfers (default source: RDMA writes; destination: RDMA reads)" },
};

export interface RdmaOptions {
  sharedPages: "leave" | "copy";
  remoteCow: "on-write" | "on-access";
  background: boolean;
  fallback: "refuse" | "tcp";
  initiator: "source" | "destination";
}

export function parseRdmaOptions(o: Record<string, OptionValue>, transport: string): RdmaOptions {
  return {
    sharedPages: (o["shared-pages"] as RdmaOptions["sharedPages"] | undefined) ?? (transport === "rdma" ? "leave" : "copy"),
    remoteCow: (o["remote-cow"] as RdmaOptions["remoteCow"] | undefined) ?? "on-write",
    background: o["remote-background"] === true,
    fallback: (o["fallback"] as RdmaOptions["fallback"] | undefined) ?? "refuse",
    initiator: (o["initiator"] as RdmaOptions["initiator"] | undefined) ?? "source",
  };
}

/** Validation time: leaving pages behind needs RDMA; `fallback tcp` lifts the engine's RDMA objection. */
export function checkRdma(call: { args: Record<string, OptionValue>; options: Record<string, OptionValue> }, s: ScenarioView, problems: VerbProblem[]): VerbProblem[] {
  const o = call.options;
  const out = o["fallback"] === "tcp" ? problems.filter((p) => p.at !== "transport") : [...problems];
  if (o["shared-pages"] === "leave" && o["transport"] !== "rdma") {
    out.push({ message: "shared pages can be left on the source only when the migration runs over RDMA", at: "shared-pages", hint: "add transport rdma" });
  }
  const vm = s.vms.get(String(call.args["vm"]));
  const dest = s.hosts.get(String(call.args["host"]));
  const src = vm ? s.hosts.get(vm.host) : undefined;
  if (o["remote-cow"] !== undefined || o["remote-background"] !== undefined) {
    const leaves = o["transport"] === "rdma" && o["shared-pages"] !== "copy" && (o["fallback"] !== "tcp" || (src?.rdma === true && dest?.rdma === true));
    if (!leaves) out.push({ message: "remote-cow and remote-background apply only to pages left on the source (transport rdma, shared-pages leave)", at: o["remote-cow"] !== undefined ? "remote-cow" : "remote-background" });
  }
  return out;
}
