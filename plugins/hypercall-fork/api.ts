// The part of plugin clone-api's service this plugin uses (`k.use<CloneApi>("clone-api")`).
// Plugins reach each other through services only, so the shape is restated here; the
// service itself lives in plugins/clone-api/service.ts.
import type { Host, OptionSpec, OptionValue, ScenarioView, World } from "../../core/api.js";

export interface LaunchOptions {
  hostModel: "hosted" | "micro-hypervisor";
  exitNs: number;
  syncNs: number;
  sealNs: number;
  copyRate: number;
  cpuStateBytes: number;
  loadNs: number;
  mapRate: number;
  memory: "eager" | "on-demand";
  background: boolean;
  batch: number;
  workload: "inherit" | "idle";
}

export type Presumption = "vmm-api" | "hypercall-interface" | "vm-interface" | "guest-configuration" | "usage";

export interface Violation {
  presumption: Presumption;
  message: string;
}

export interface Capture {
  readonly status: "capturing" | "sealed" | "failed";
  readonly startedAt: number;
  readonly sealedAt: number | undefined;
  readonly host: Host;
  readonly parent: World;
  readonly cost: { total: number; exit: number; sync: number; seal: number; copy: number };
  readonly layout: { cpuState: number; deviceState: number; memoryBootstrap: number; bytes: number };
  readonly listeners: { sealed(c: Capture): void; failed(c: Capture, reason: string): void }[];
  start(): void;
}

export interface Clone {
  readonly name: string;
  readonly world: World;
  readonly status: string;
  readonly runningAt: number | undefined;
  readonly failure: string | undefined;
}

export interface CloneApi {
  readonly launchOptions: Record<string, OptionSpec>;
  parseLaunchOptions(o: Record<string, OptionValue>): LaunchOptions;
  checkCapturable(parent: World): void;
  capture(parent: World, o: LaunchOptions, wantImage: boolean): Capture;
  placeClones(parent: World, n: number, host: Host | undefined, worker: World | undefined): Host[];
  startClones(capture: Capture, hosts: readonly Host[], worker: World | undefined, o: LaunchOptions, origin: "fork" | "fork-hypercall", listener: { running(c: Clone): void; failed(c: Clone): void }): Clone[];
  violation(parent: World, host: Host, worker?: World): Violation | null;
  freeNodes(host: Host): number;
  vmmSlot(host: Host, ns: number): number;
  newWorker(parent: World, kind: "child" | "clone", host: Host, o: LaunchOptions): World;
  coldLaunchNs(w: World): number;
  memoryElsewhere(parent: World): number;
  loadCost(pages: number, o: LaunchOptions): number;
  declaredViolation(s: ScenarioView, parent: string, host: string, worker?: string): Violation | null;
  declaredFreeNodes(s: ScenarioView, host: string): number;
}
