// What validation hands to compilation: the scenario resolved to base units and plain data.
import type { ExpectStmt, Loc } from "./ast.js";
import type { VmSpec } from "../core/world/vm-spec.js";
import type { HostDecl as KernelHost, LinkDecl as KernelLink, DatastoreDecl as KernelDatastore } from "../core/run/kernel.js";
import type { OptionValue } from "../core/plugin-host/context.js";

export interface PlannedAction {
  time: number;
  verb: string;
  args: Record<string, OptionValue>;
  options: Record<string, OptionValue>;
  loc: Loc;
}

export interface PlannedScript {
  time: number;
  vm: string;
  op: "read" | "write";
  first: number;
  count: number;
  vcpu: number;
  loc: Loc;
}

export interface PlannedHypercall {
  time: number;
  vm: string;
  name: string;
  options: Record<string, OptionValue>;
  vcpu: number;
  loc: Loc;
}

export interface Plan {
  name: string;
  seed: number | undefined;
  tickNs: number | undefined;
  hosts: KernelHost[];
  links: KernelLink[];
  datastores: KernelDatastore[];
  vms: VmSpec[];
  actions: PlannedAction[];
  scripted: PlannedScript[];
  hypercalls: PlannedHypercall[];
  /** undefined: run until every action has finished. */
  until: number | undefined;
  expects: ExpectStmt[];
}
