// Pages an extension leaves behind (its `defer` hook, rdma-share's shared pages): the sender
// skips them and remembers them; one that no longer qualifies at a round's end joins the next
// round, one the VM writes is dirty and sent anyway; those still deferred at switch-over are
// handed to the extension (`beforeResume`), which maps them on the destination.
import type { MigrationHooks } from "./api.js";
import type { Wire } from "./wire.js";

export class Deferral {
  /** Times the sender skipped a page, and the wire bytes those sends would have cost. */
  skips = 0;
  bytes = 0;
  /** Pages deferred now, and the bytes of their list sent at switch-over. */
  pages = 0;
  listBytes = 0;
  // (#-private, so the view's `deferral` shows its four counters only.)
  /** 1 while a page is deferred; null when no extension defers pages. */
  readonly #flags: Uint8Array | null;
  readonly #hooks: MigrationHooks;

  /** Bytes a page costs on the wire (private: the view extensions read has figures only). */
  readonly #wire: Wire;

  constructor(hooks: MigrationHooks, guestPages: number, wire: Wire) {
    this.#hooks = hooks;
    this.#wire = wire;
    this.#flags = hooks.defer ? new Uint8Array(guestPages) : null;
  }

  /** The sender is about to send page `p` (content `c`): true when the extension defers it (it is remembered). */
  skip(p: number, c: number): boolean {
    const f = this.#flags;
    if (f === null) return false;
    if (this.#hooks.defer!(p)) {
      this.mark(p, c);
      return true;
    }
    this.unmark(p);
    return false;
  }

  /** Whether page `p` is deferred now. */
  has(p: number): boolean {
    return this.#flags !== null && this.#flags[p] === 1;
  }

  /** Deferred pages that no longer qualify (their frame is not shared any more): they join the next round. */
  requeue(): Int32Array | null {
    const d = this.#flags;
    if (d === null || this.pages === 0) return null;
    const out: number[] = [];
    for (let p = 0; p < d.length; p++) if (d[p] === 1 && !this.#hooks.defer!(p)) out.push(p);
    return Int32Array.from(out);
  }

  /**
   * Post-copy switch-over: which pages of `list` (all `count` pages when null) the extension
   * defers instead of leaving them to be paged in; returns how many. `content` reads a page.
   */
  deferAll(list: Int32Array | null, count: number, content: (p: number) => number): number {
    if (this.#flags === null) return 0;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const p = list ? list[i]! : i;
      if (!this.#hooks.defer!(p)) {
        this.unmark(p);
        continue;
      }
      this.mark(p, content(p));
      n++;
    }
    return n;
  }

  /** The pages deferred now, ascending. */
  list(): Int32Array {
    const d = this.#flags!;
    const out = new Int32Array(this.pages);
    let n = 0;
    for (let p = 0; p < d.length; p++) if (d[p] === 1) out[n++] = p;
    return out;
  }

  private mark(p: number, c: number): void {
    if (this.#flags![p] === 0) this.pages++;
    this.#flags![p] = 1;
    this.skips++;
    this.bytes += this.#wire.page(c);
  }

  private unmark(p: number): void {
    if (this.#flags![p] === 1) {
      this.#flags![p] = 0;
      this.pages--;
    }
  }
}
