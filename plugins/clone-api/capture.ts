// Capturing a VM's runtime image. The VMM pauses the VM (every vCPU), takes its CPU state,
// its device model's state and its memory bootstrap into a state capsule, and lets it run on.
// The memory image a clone needs is kept, page-accurately, as a page map without a world
// that shares the parent's frames copy-on-write: the parent's later writes copy pages, the
// image keeps what the parent held at capture, for as long as a clone still needs it.
import { PageState, STATE_MASK, formatTime, type EventHandle, type GuestMemory, type Host, type PluginContext, type World } from "../../core/api.js";
import { captureCost, pageDigest, type CapsuleLayout, type CaptureCost } from "./capsule.js";

export interface CaptureListener {
  /** The capsule is sealed (the parent is still paused): load children, send clone commands. */
  sealed(c: Capture): void;
  /** The capture failed (the parent stopped or its host crashed). */
  failed(c: Capture, reason: string): void;
}

/** Something that depends on the image on the source (an on-demand clone still fetching). */
export interface ImageDependent {
  sourceLost(reason: string): void;
}

export class Capture {
  status: "capturing" | "sealed" | "failed" = "capturing";
  readonly startedAt: number;
  sealedAt: number | undefined;
  failure: string | undefined;
  readonly host: Host;
  readonly cost: CaptureCost;
  /** The parent's memory at capture, for clones (null without clones, and once dropped). */
  image: GuestMemory | null = null;
  /** The VMM thread on the source that serves the image (a world, so a crash of its host is seen). */
  server: World | null = null;
  /** Present pages of the image: what a clone's memory transfer carries. */
  imagePages = 0;
  /** The image's digest (capsule.ts `pageDigest`), XOR over its present pages. */
  digest = 0;
  readonly listeners: CaptureListener[] = [];
  readonly dependents = new Set<ImageDependent>();
  private users = 0;
  private timer: EventHandle | null = null;
  /** Releases the capture's hold on the parent's suspension (nested with others': a checkpoint's, a migration's). */
  private unpause: ((resume?: boolean) => void) | null = null;

  constructor(
    private readonly k: PluginContext,
    readonly seq: number,
    readonly parent: World,
    readonly layout: CapsuleLayout,
    o: Parameters<typeof captureCost>[1],
    /** Clones will need the memory image. */
    readonly wantImage: boolean,
  ) {
    this.startedAt = k.scheduler.now;
    this.host = parent.host;
    this.cost = captureCost(layout, o);
  }

  /** Pauses the parent and seals the capsule after the capture's cost. */
  start(): void {
    this.unpause = this.k.cluster.holdSuspended(this.parent, `the capture of its runtime image`);
    this.timer = this.k.after(this.cost.total, () => this.seal(), "capture");
  }

  private seal(): void {
    this.timer = null;
    const k = this.k;
    // Stopped at this very instant (its host crashed, a stop) before its own failure event ran:
    // nothing to seal, and no server to place on a host that is down.
    if (this.parent.state === "stopped" || !this.host.up) return this.fail(this.parent.failure ?? `VM "${this.parent.name}" stopped during the capture`);
    this.status = "sealed";
    this.sealedAt = k.scheduler.now;
    const g = this.parent.memory!;
    if (this.wantImage) {
      this.image = k.memory.createGuest(this.parent.id, `${this.parent.name}.image#${this.seq}`, g.pages, this.host.id);
      this.imagePages = k.memory.shareAll(g, this.image);
      this.server = k.systemWorld(`${this.parent.name}.image-server#${this.seq}`, this.host, this.parent);
      let d = 0;
      const image = this.image;
      for (let p = 0; p < image.pages; p++) if ((image.meta[p]! & STATE_MASK) === PageState.Present) d ^= pageDigest(p, k.memory.peek(image, p));
      this.digest = d;
    }
    k.trace.span("capture", "launch", { host: this.host.name, world: this.parent.name }, this.startedAt, this.sealedAt, { capsule: this.layout.bytes });
    for (const l of this.listeners) l.sealed(this);
    // The parent runs again if it ran before, unless another operation holds it suspended.
    this.unpause?.();
    this.unpause = null;
    if (this.users === 0) this.dropImage();
  }

  /** The parent stopped (or its host crashed) before the capsule was sealed. */
  fail(reason: string): void {
    if (this.status !== "capturing") return;
    this.timer?.cancel();
    this.timer = null;
    this.status = "failed";
    this.failure = reason;
    this.unpause?.(false);
    this.unpause = null;
    for (const l of this.listeners) l.failed(this, reason);
  }

  /** A clone that will read the image takes a reference; it gives it back when its memory is home. */
  use(): void {
    this.users++;
  }

  release(): void {
    if (this.users > 0 && --this.users === 0 && this.status === "sealed") this.dropImage();
  }

  /** The image server stopped (its host crashed, or it was killed): whoever still needs the image loses it. */
  serverStopped(): void {
    if (!this.server) return;
    const why = this.server.failure ?? `stopped at ${formatTime(this.k.scheduler.now)}`;
    const reason = `the image server on host "${this.host.name}" is gone (${why})`;
    for (const d of [...this.dependents]) d.sourceLost(reason);
  }

  private dropImage(): void {
    if (this.image) {
      this.k.memory.dropGuest(this.image);
      this.image = null;
    }
    if (this.server) {
      const s = this.server;
      this.server = null;
      // The plugin's own doing (its cause says so): no one loses the image.
      if (this.k.cluster.hasWorld(s.name)) this.k.cluster.destroy(s, this.k.cause("image-dropped"));
    }
  }
}
