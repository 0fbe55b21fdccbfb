// The migration's connection from the source to the destination: every transfer of the
// migration (pages, device state, disk blocks, demand fetches, background paging) goes on it,
// under its one `bandwidth` cap; a transfer that fails, or cannot start because no route is
// left, fails the migration; the bytes on the wire are kept per 10 ms for the chart.
import { type PluginContext, type RateLimit, type Transfer, VmscnError } from "../../core/api.js";
import type { MigrateOptions } from "./options.js";

/** Width of a bucket of the bandwidth-over-time chart: 10 ms. */
export const RATE_BUCKET_NS = 10_000_000;

/** What the connection needs of its migration. */
export interface Ends {
  readonly from: string;
  readonly to: string;
  /** The migration ended: transfers that still arrive do nothing. */
  readonly done: boolean;
  /** A transfer failed: the migration fails. */
  failed(err: VmscnError): void;
}

export class Connection {
  /** Bytes on the wire per 10 ms bucket (spread evenly over each transfer's lifetime), for the chart. */
  readonly rateBuckets = new Map<number, number>();
  private readonly inflight = new Set<Transfer>();
  /** Bytes of the transfers that arrived (bytesOnWire adds those still on the wire). */
  private arrived = 0;
  /** The `bandwidth` cap, shared by all of the migration's transfers (until it is lifted). */
  private limit: RateLimit | null;

  constructor(
    private readonly k: PluginContext,
    name: string,
    private readonly o: MigrateOptions,
    private readonly ends: Ends,
  ) {
    this.limit = o.bandwidth === undefined ? null : k.network.rateLimit(name, o.bandwidth);
  }

  /**
   * Sends `bytes` to the destination; `onSent` when the last byte left the sender, `onDone`
   * when they arrived (neither once the migration ended). `unpaced`: the cap does not apply
   * (a sender that keeps QEMU's budget per window itself).
   */
  send(bytes: number, initiator: "source" | "destination", label: string, onDone: () => void, onSent?: () => void, unpaced = false): void {
    const sentAt = this.k.scheduler.now;
    let tr: Transfer;
    try {
      tr = this.start(bytes, initiator, label, sentAt, onDone, onSent, unpaced);
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      // No route any more (a link went down between batches): a failed transfer, on its own
      // event so the caller finishes first.
      this.k.after(0, () => this.ends.failed(err), "migration transfer");
      return;
    }
    this.inflight.add(tr);
  }

  /** Every byte the migration has put on the wire so far, exact at this instant (QEMU's migration_total_bytes). */
  bytesOnWire(): number {
    let n = this.arrived;
    for (const tr of this.inflight) n += tr.bytesDone();
    return n;
  }

  /**
   * The cap no longer applies to what is sent from now on (QEMU's migration_completion sets
   * the rate limit to INT64_MAX before the last pages and the device state); what is on the
   * wire already keeps it.
   */
  liftCap(): void {
    this.limit = null;
  }

  /** The migration ended: what is on the wire is cancelled. */
  cancel(): void {
    for (const tr of [...this.inflight]) this.k.network.end(tr, "cancelled");
    this.inflight.clear();
  }

  private start(bytes: number, initiator: "source" | "destination", label: string, sentAt: number, onDone: () => void, onSent: (() => void) | undefined, unpaced: boolean): Transfer {
    const tr: Transfer = this.k.network.transfer({
      from: this.ends.from,
      to: this.ends.to,
      bytes,
      kind: this.o.transport,
      initiator,
      label,
      ...(this.limit === null || unpaced ? {} : { limit: this.limit }),
      ...(onSent === undefined
        ? {}
        : {
            onSent: () => {
              if (!this.ends.done) onSent();
            },
          }),
      onDone: () => {
        this.inflight.delete(tr);
        this.arrived += bytes;
        this.countRate(sentAt, this.k.scheduler.now, bytes);
        if (!this.ends.done) onDone();
      },
      onFail: (err) => {
        this.inflight.delete(tr);
        this.ends.failed(err);
      },
    });
    return tr;
  }

  /** Spreads a transfer's bytes evenly over the 10 ms buckets its lifetime [from, to) covers. */
  private countRate(from: number, to: number, bytes: number): void {
    if (bytes === 0) return;
    const b = this.rateBuckets;
    if (to <= from) {
      const i = Math.floor(from / RATE_BUCKET_NS);
      b.set(i, (b.get(i) ?? 0) + bytes);
      return;
    }
    for (let i = Math.floor(from / RATE_BUCKET_NS); i * RATE_BUCKET_NS < to; i++) {
      const overlap = Math.min(to, (i + 1) * RATE_BUCKET_NS) - Math.max(from, i * RATE_BUCKET_NS);
      b.set(i, (b.get(i) ?? 0) + (bytes * overlap) / (to - from));
    }
  }
}
