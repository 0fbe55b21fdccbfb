// What clone-api offers other plugins: `k.use("clone-api")` is typed by the `Services` entry
// below (the fork hypercall's plugin launches its next-host workers through it). Consumers
// `import type` from this file and from nowhere else here.
import type { Host, OptionSpec, OptionValue, ScenarioView, VerbProblem, World } from "../../core/api.js";
import type { CapsuleLayout } from "./capsule.js";
import type { Capture, CaptureListener } from "./capture.js";
import type { Clone, CloneListener, Origin } from "./clone.js";
import type { LaunchOptions } from "./options.js";
import type { Presumption, Violation } from "./placement.js";

export type { CapsuleLayout, Capture, CaptureListener, Clone, CloneListener, Origin, LaunchOptions, Presumption, Violation };

export interface CloneApi {
  readonly launchOptions: Record<string, OptionSpec>;
  parseLaunchOptions(o: Record<string, OptionValue>): LaunchOptions;
  /** The parent can be captured now, else VMSCN5004 (not running or suspended) or VMSCN7207. */
  checkCapturable(parent: World): void;
  /** A capture of the parent's runtime image, not started: add listeners, then `start()`. */
  capture(parent: World, o: LaunchOptions, wantImage: boolean): Capture;
  /** A host for each of `n` clones (all on `host` if given, else first fit over the next hosts); VMSCN7201-7206 otherwise. */
  placeClones(parent: World, n: number, host: Host | undefined, worker: World | undefined): Host[];
  /** Clones of the capture, one per host (into `worker` if given), their worlds created now. */
  startClones(capture: Capture, hosts: readonly Host[], worker: World | undefined, o: LaunchOptions, origin: Origin, listener: CloneListener): Clone[];
  violation(parent: World, host: Host, worker?: World): Violation | null;
  freeNodes(host: Host): number;
  /** When the host's VMM finishes a load of `ns`, queued behind the loads it already has. */
  vmmSlot(host: Host, ns: number): number;
  /** A new VM for a worker of `parent` on `host` (`<parent>-child<n>`, `<parent>-clone<n>`). */
  newWorker(parent: World, kind: "child" | "clone", host: Host, o: LaunchOptions): World;
  /** Boot + initialisation + application launch, as declared. */
  coldLaunchNs(w: World): number;
  layout(parent: World, o: LaunchOptions): CapsuleLayout;
  /** The parent's memory is not all on its host (post-copy, restore, remote pages). */
  memoryElsewhere(parent: World): number;
  /** The VMM's time to load a VM of `pages` from a capsule (modelled). */
  loadCost(pages: number, o: LaunchOptions): number;
  /** The presumption placing a worker on `host` breaks, on the scenario as declared (validation). */
  declaredViolation(s: ScenarioView, parent: string, host: string, worker?: string): Violation | null;
  /** Nodes left on a host as the scenario declares its VMs. */
  declaredFreeNodes(s: ScenarioView, host: string): number;
  /** A broken presumption refused at validation, naming the code the run would raise (a clone's, unless `codes` names another). */
  presumptionProblem(v: Violation, at: string, codes?: Partial<Record<Presumption, string>>): VerbProblem;
}

declare module "../../core/api.js" {
  interface Services {
    "clone-api": CloneApi;
  }
}
