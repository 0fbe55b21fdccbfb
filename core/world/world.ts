// A world is any schedulable entity, as in the migration document: a VM world, or a system
// world for a helper thread (migration sender, background pager, scanner, checkpoint thread).
import { Extendable } from "./slots.js";
import type { Host } from "./host.js";
import type { GuestMemory } from "../memory/guest.js";
import { ThrottleSchedule } from "./throttle.js";

export type WorldKind = "vm" | "system";
export type WorldState = "created" | "running" | "suspended" | "stopped";

/** Allowed lifecycle transitions: created → running ⇄ suspended → stopped. */
export const TRANSITIONS: Record<WorldState, readonly WorldState[]> = {
  created: ["running", "stopped"],
  running: ["suspended", "stopped"],
  suspended: ["running", "stopped"],
  stopped: [],
};

export interface WorldSpec {
  name: string;
  kind: WorldKind;
  /** Cores the world wants while running (a VM's vCPUs; 1 for most system worlds). */
  vcpus: number;
  /** For system worlds: the world they serve (a migration sender serves its VM). */
  serves?: World;
}

export class World extends Extendable<World> {
  readonly name: string;
  readonly kind: WorldKind;
  readonly vcpus: number;
  readonly serves: World | undefined;
  state: WorldState = "created";
  host: Host;
  /** The guest page map; VM worlds only. */
  memory: GuestMemory | undefined;
  /** Cores demanded while running; a system world may set it to 0 while idle. */
  demand: number;
  /** Why the world stopped, if it failed (host crash, migration failure). */
  failure: string | undefined;
  /** The share of its CPU time withheld from the world (0..1), e.g. a migration's auto-converge; set with `cluster.setThrottle`. */
  throttle = 0;
  /** @internal When the throttle has the world's vCPUs asleep (QEMU's slices); `cluster.throttleWake` reads it. */
  readonly sleeps = new ThrottleSchedule();
  /** The operation that holds the VM's memory now (a migration, a restore), set with `cluster.claim`. */
  operation: { what: string; since: number } | undefined;
  /**
   * Who holds the VM suspended now (`cluster.holdSuspended`: a migration's switch-over, a
   * checkpoint's quiesce): the `resume` verb refuses while any does.
   */
  readonly suspendHolds: string[] = [];
  /** @internal The VM ran when the first hold came, so the last release resumes it. */
  resumeAfterHolds = false;

  constructor(
    readonly id: number,
    spec: WorldSpec,
    host: Host,
  ) {
    super();
    this.name = spec.name;
    this.kind = spec.kind;
    this.vcpus = spec.vcpus;
    this.serves = spec.serves;
    this.host = host;
    this.demand = spec.vcpus;
  }

  /** `web@a`: how errors and traces name a world. */
  get label(): string {
    return `${this.name}@${this.host.name}`;
  }
}
