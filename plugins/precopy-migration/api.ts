// What precopy-migration offers other plugins: the migration engine. Another plugin (RDMA
// migration with deferred shared pages) reuses the pre-copy machinery — rounds, dirty logs,
// convergence, switch-over, post-copy, failure handling — by adding options to `migrate` and
// hooks into one migration, instead of copying it. `k.use("precopy-migration")` is typed by
// the `Services` entry below; consumers `import type` from this file and nowhere else here.
import type { GuestMemory, Host, OptionSpec, OptionValue, ScenarioView, VerbCall, VerbProblem, World } from "../../core/api.js";
import type { MigrateOptions } from "./options.js";

export type { MigrateOptions };

/** What an extension sees of a migration (read-only). */
export interface MigrationView {
  readonly world: World;
  readonly src: Host;
  readonly dest: Host;
  /** The VM's page map on the source, and the one being built on the destination. */
  readonly srcGuest: GuestMemory;
  readonly dst: GuestMemory;
  readonly status: string;
  readonly failure: string | undefined;
  readonly o: Readonly<MigrateOptions>;
  readonly startedAt: number;
  readonly resumeAt: number | undefined;
  readonly completedAt: number | undefined;
  /** Pages and bytes on the wire so far (QEMU's counters). */
  readonly c: { readonly transferred: number; readonly duplicate: number; readonly normal: number };
  /** Pages the sender left behind (`defer`): times skipped, their wire bytes, pages deferred now. */
  readonly deferral: { readonly skips: number; readonly bytes: number; readonly pages: number; readonly listBytes: number };
}

/** Hooks into one migration, returned by an extension's `prepare`. */
export interface MigrationHooks {
  /**
   * Whether the sender leaves source page `page` behind instead of sending it now (its frame
   * is shared, say). Asked each time the page would be sent; a deferred page that no longer
   * qualifies at a round's end joins the next round. Pages still deferred at switch-over go
   * to `beforeResume`, which must map every one of them on the destination.
   */
  defer?(page: number): boolean;
  /** Who drives the pre-copy page transfers (RDMA can write from the source or read from the destination). */
  initiator?: "source" | "destination";
  /** Bytes of metadata for `deferred` pages, sent with the device state while the VM is suspended. */
  switchOverBytes?(deferred: number): number;
  /** The migration was accepted and has started (the request passed the engine's checks). */
  started?(m: MigrationView): void;
  /** Just before the VM resumes on the destination: the pages still deferred, ascending. */
  beforeResume?(m: MigrationView, deferred: Int32Array): void;
  /** The migration ended (completed or failed). */
  finished?(m: MigrationView): void;
}

/** What a migration extension is asked at a `migrate` action. */
export interface MigrationRequest {
  call: VerbCall;
  /** The parsed options; an extension may change them (fall back to TCP, say) before the engine checks them. */
  options: MigrateOptions;
  world: World;
  dest: Host;
}

export interface MigrationExtension {
  /** The extension's plugin, for messages. */
  plugin: string;
  /** Options it adds to `migrate` (give defaults in their descriptions, not as `default`, so actions that do not use them list the same options). */
  options: Record<string, OptionSpec>;
  /** Validation time: the problems the engine found, plus or minus the extension's. */
  check?(call: { args: Record<string, OptionValue>; options: Record<string, OptionValue> }, scenario: ScenarioView, problems: VerbProblem[]): VerbProblem[];
  /** Run time, before the engine checks the request: this migration's hooks (or none); a coded error refuses it. */
  prepare?(req: MigrationRequest): MigrationHooks | undefined;
}

/** The service `precopy-migration` provides. */
export interface MigrationEngine {
  /** Adds options to `migrate` and hooks into the migrations that use them (in register). */
  extend(ext: MigrationExtension): void;
}

declare module "../../core/api.js" {
  interface Services {
    "precopy-migration": MigrationEngine;
  }
}
