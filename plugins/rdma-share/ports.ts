// What this plugin uses of the services of the plugins it requires, declared here (a plugin
// reaches another only through its service, `k.use`): the pre-copy migration engine and the
// page-sharing scanner. These mirror the providers' own declarations.
import type { GuestMemory, Host, OptionSpec, OptionValue, ScenarioView, VerbCall, VerbProblem, World } from "../../core/api.js";

export interface MigrationView {
  readonly world: World;
  readonly src: Host;
  readonly dest: Host;
  readonly srcGuest: GuestMemory;
  readonly dst: GuestMemory;
  readonly status: string;
  readonly failure: string | undefined;
  readonly o: { readonly transport: "tcp" | "rdma"; readonly batch: number; readonly bandwidth: number | undefined };
  readonly startedAt: number;
  readonly resumeAt: number | undefined;
  readonly completedAt: number | undefined;
  readonly c: { readonly transferred: number; readonly duplicate: number; readonly normal: number };
  readonly deferral: { readonly skips: number; readonly bytes: number; readonly pages: number; readonly listBytes: number };
}

export interface MigrationHooks {
  defer?(page: number): boolean;
  initiator?: "source" | "destination";
  switchOverBytes?(deferred: number): number;
  started?(m: MigrationView): void;
  beforeResume?(m: MigrationView, deferred: Int32Array): void;
  finished?(m: MigrationView): void;
}

export interface MigrationRequest {
  call: VerbCall;
  options: { transport: "tcp" | "rdma" };
  world: World;
  dest: Host;
}

export interface MigrationEngine {
  extend(ext: {
    plugin: string;
    options: Record<string, OptionSpec>;
    check?(call: { args: Record<string, OptionValue>; options: Record<string, OptionValue> }, scenario: ScenarioView, problems: VerbProblem[]): VerbProblem[];
    prepare?(req: MigrationRequest): MigrationHooks | undefined;
  }): void;
}

/** Linux KSM's counters of a host (and the scanner's extras), as the tps plugin reports them. */
export type KsmCounters = Record<string, number>;

export interface TpsService {
  counters(host: string): KsmCounters | null;
  onRemap(listener: (guest: GuestMemory, page: number, fromHost: number, toHost: number) => void): void;
}
