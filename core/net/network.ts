// Hosts, links and routes; transfers are fair-share flows over the sender's NIC, each link
// direction of the route and the receiver's NIC, delivered one route latency after the last
// byte left. TCP transfers cost host CPU on both ends, RDMA transfers none.
import { inject, injectable } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { PAGE_SIZE, type RunConfig } from "../config.js";
import { kernelError, type KernelCode, type VmscnError } from "../errors.js";
import { Scheduler, type EventHandle } from "../sim/scheduler.js";
import { formatTime, SECOND } from "../sim/time.js";
import { FairShare, type Flow } from "./fair-share.js";
import { Signal } from "../world/signal.js";
import { kernelCause, type Cause } from "../world/cause.js";
import type { Hooks } from "../plugin-host/hooks.js";

/** A link is up or down. */
export type LinkState = "up" | "down";

export interface HostNicOptions {
  /** NIC bandwidth in bytes/s, each direction. */
  nicBandwidth: number;
  /** The NIC can do RDMA (both ends of an RDMA transfer need one). */
  rdma?: boolean;
}

export interface LinkOptions {
  /** Bytes/s, each direction (full duplex). */
  bandwidth: number;
  /** One-way latency in ns. */
  latency: number;
  /** Defaults to `a<->b`. */
  name?: string;
}

export type TransferKind = "tcp" | "rdma";
/** Which end drives the transfer: RDMA can write from the source or read from the destination. */
export type Initiator = "source" | "destination";
export type TransferState = "active" | "delivering" | "done" | "failed" | "cancelled";

export interface TransferOptions {
  from: string;
  to: string;
  bytes: number;
  kind: TransferKind;
  initiator?: Initiator;
  /** Cap on this transfer's rate in bytes/s (a paced sender). */
  maxRate?: number;
  /** A cap this transfer shares with others (a migration's bandwidth limit over all its transfers). */
  limit?: RateLimit;
  /** Names the transfer in error messages. */
  label?: string;
  /** Called on the event at which the last byte left the sender (before the route's latency): a streaming sender sends its next message then. */
  onSent?: (time: number) => void;
  /** Called on the event at which the last byte arrived (drained + route latency). */
  onDone?: (time: number) => void;
  /** Called on an event when a link on the route goes down or an end crashes. Without it, the error is thrown from that event. */
  onFail?: (err: VmscnError) => void;
}

/**
 * A rate several transfers share, whatever their routes: together they never exceed it
 * (`network.rateLimit`). It is a resource of the fair-share solver that only they cross.
 */
export class RateLimit {
  /** @internal Each route's resources with this limit's added, by the route's own array. */
  readonly paths = new WeakMap<readonly number[], readonly number[]>();
  constructor(
    readonly name: string,
    /** @internal */ readonly resource: number,
    private readonly owner: FairShare,
  ) {}
  /** The cap in bytes/s. */
  get rate(): number {
    return this.owner.capacity(this.resource);
  }
  set rate(bytesPerSec: number) {
    this.owner.setCapacity(this.resource, bytesPerSec);
  }
  /** Bytes/s its transfers move together now. */
  get used(): number {
    return this.owner.resourceRate(this.resource);
  }
}

export interface Route {
  from: string;
  to: string;
  /** Hosts from `from` to `to`, both included. */
  hosts: readonly string[];
  /** Link names in order. */
  links: readonly string[];
  /** One-way latency in ns: the sum of the links' latencies. */
  latency: number;
}

export interface LinkStats {
  name: string;
  a: string;
  b: string;
  bandwidth: number;
  latency: number;
  up: boolean;
  /** Bytes carried from a to b, and from b to a. */
  bytesAB: number;
  bytesBA: number;
  /** Current rates in bytes/s. */
  rateAB: number;
  rateBA: number;
}

export interface HostNetStats {
  name: string;
  nicBandwidth: number;
  rdma: boolean;
  up: boolean;
  /** Bytes through the NIC, out and in. */
  bytesSent: number;
  bytesReceived: number;
  /** Bytes of RDMA transfers from or to this host. */
  rdmaBytes: number;
  /** Host CPU time spent copying TCP data, ns. */
  tcpCpuNs: number;
  /** Cores busy with TCP copies right now. */
  cpuLoad: number;
  /** Transfers this host drove (the source, or the destination of destination-initiated ones). */
  initiated: number;
}

export interface TransferTotals {
  started: number;
  completed: number;
  failed: number;
  cancelled: number;
  tcp: number;
  rdma: number;
  local: number;
  initiatedBySource: number;
  initiatedByDestination: number;
  /** Bytes of completed transfers. */
  bytesDelivered: number;
}

export interface NetworkStats {
  hosts: HostNetStats[];
  links: LinkStats[];
  transfers: TransferTotals;
}

export interface LinkRate {
  name: string;
  /** Bytes/s from a to b, and from b to a. */
  ab: number;
  ba: number;
  /** Both directions together, bytes/s. */
  rate: number;
}

interface HostRec {
  readonly name: string;
  readonly id: number;
  readonly nicBandwidth: number;
  readonly rdma: boolean;
  readonly tx: number;
  readonly rx: number;
  up: boolean;
  /** Links at this host in creation order (so BFS ties break by creation order). */
  readonly links: LinkRec[];
  /** Active transfers from, to or through this host. */
  readonly transfers: Set<Transfer>;
  tcpCpuNs: number;
  rdmaBytes: number;
  initiated: number;
}

interface LinkRec {
  readonly name: string;
  readonly id: number;
  readonly a: HostRec;
  readonly b: HostRec;
  readonly bandwidth: number;
  readonly latency: number;
  readonly ab: number;
  readonly ba: number;
  up: boolean;
  readonly transfers: Set<Transfer>;
}

interface RouteRec {
  readonly hosts: HostRec[];
  readonly links: LinkRec[];
  /** Fair-share resources: sender NIC tx, link directions, receiver NIC rx. */
  readonly resources: number[];
  readonly latency: number;
  /** The public form, made once per route (transfers share it). */
  pub?: Route;
}

/** A transfer in progress or finished. */
export class Transfer {
  state: TransferState = "active";
  readonly startedAt: number;
  finishedAt: number | undefined = undefined;
  /** @internal */ flow: Flow | null = null;
  /** @internal */ timer: EventHandle | null = null;
  /** @internal */ moved = 0;
  /** @internal */ onSent: ((time: number) => void) | undefined = undefined;

  constructor(
    readonly id: number,
    readonly from: string,
    readonly to: string,
    readonly bytes: number,
    readonly kind: TransferKind,
    readonly initiator: Initiator,
    readonly label: string,
    /** Hosts and links the transfer crosses (empty links for a local copy). */
    readonly route: Route,
    /** @internal */ readonly hostRecs: HostRec[],
    /** @internal */ readonly linkRecs: LinkRec[],
    /** @internal */ readonly onDone: ((time: number) => void) | undefined,
    /** @internal */ readonly onFail: ((err: VmscnError) => void) | undefined,
    private readonly net: Network,
    now: number,
  ) {
    this.startedAt = now;
  }

  /** Current rate in bytes/s (0 when not sending; Infinity for an unpaced local copy). */
  get rate(): number {
    return this.flow === null ? 0 : this.flow.rate;
  }

  /** Bytes that have left the sender so far (all of them once delivering). */
  bytesDone(): number {
    return this.flow === null ? this.moved : this.bytes - this.flow.remaining();
  }

  /** Stops the transfer without calling onDone or onFail. False if it had already ended. */
  cancel(): boolean {
    return this.net.end(this, "cancelled");
  }
}

const NO_ROUTE = null;

@injectable()
export class Network {
  private readonly hosts = new Map<string, HostRec>();
  private readonly hostList: HostRec[] = [];
  private readonly links = new Map<string, LinkRec>();
  private readonly linkList: LinkRec[] = [];
  /** Routes by `fromId * 2^26 + toId`; cleared whenever the topology changes. */
  private readonly routes = new Map<number, RouteRec | typeof NO_ROUTE>();
  private nextId = 1;
  /** Told of every transfer that ended (done, failed or cancelled): the kernel traces them. */
  /** Fired after the change: a transfer ended (completed, failed or cancelled), a link went down or up. */
  readonly signals = {
    settled: new Signal<[Transfer]>(),
    linkStateChanged: new Signal<[string, LinkState, LinkState, Cause]>(),
  };
  private readonly totals: TransferTotals = {
    started: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    tcp: 0,
    rdma: 0,
    local: 0,
    initiatedBySource: 0,
    initiatedByDestination: 0,
    bytesDelivered: 0,
  };

  constructor(
    @inject(TOKENS.Scheduler) private readonly scheduler: Scheduler,
    @inject(TOKENS.FairShare) private readonly fairShare: FairShare,
    @inject(TOKENS.RunConfig) private readonly config: RunConfig,
    @inject(TOKENS.Hooks) private readonly hooks: Hooks,
  ) {}

  addHost(name: string, opts: HostNicOptions): void {
    if (this.hosts.has(name)) throw this.error("VMSCN5006", `host "${name}" is already on the network`);
    positive(opts.nicBandwidth, `the NIC bandwidth of host "${name}"`, this.scheduler.now);
    const h: HostRec = {
      name,
      id: this.hostList.length,
      nicBandwidth: opts.nicBandwidth,
      rdma: opts.rdma === true,
      tx: this.fairShare.addResource(`${name}.nic.tx`, opts.nicBandwidth),
      rx: this.fairShare.addResource(`${name}.nic.rx`, opts.nicBandwidth),
      up: true,
      links: [],
      transfers: new Set(),
      tcpCpuNs: 0,
      rdmaBytes: 0,
      initiated: 0,
    };
    this.hosts.set(name, h);
    this.hostList.push(h);
  }

  hasHost(name: string): boolean {
    return this.hosts.has(name);
  }

  addLink(a: string, b: string, opts: LinkOptions): string {
    const ha = this.host(a);
    const hb = this.host(b);
    const name = opts.name ?? `${a}<->${b}`;
    if (ha === hb) throw this.error("VMSCN5011", `link "${name}" connects host "${a}" to itself`);
    if (this.links.has(name)) throw this.error("VMSCN5006", `link "${name}" already exists`);
    if (opts.name === undefined && ha.links.some((l) => l.a === hb || l.b === hb)) {
      throw this.error("VMSCN5006", `hosts "${a}" and "${b}" are already linked; give a second link between them its own name`);
    }
    positive(opts.bandwidth, `the bandwidth of link "${name}"`, this.scheduler.now);
    if (!(opts.latency >= 0) || !Number.isSafeInteger(opts.latency)) {
      throw this.error("VMSCN5011", `link "${name}" was given a latency of ${opts.latency} ns; it must be a whole number of ns ≥ 0`);
    }
    const l: LinkRec = {
      name,
      id: this.linkList.length,
      a: ha,
      b: hb,
      bandwidth: opts.bandwidth,
      latency: opts.latency,
      ab: this.fairShare.addResource(`${name}:${a}->${b}`, opts.bandwidth),
      ba: this.fairShare.addResource(`${name}:${b}->${a}`, opts.bandwidth),
      up: true,
      transfers: new Set(),
    };
    this.links.set(name, l);
    this.linkList.push(l);
    ha.links.push(l);
    hb.links.push(l);
    this.routes.clear();
    return name;
  }

  /** Fewest hops over links and hosts that are up; ties go to the earlier-created link. */
  route(from: string, to: string): Route {
    const a = this.host(from);
    const b = this.host(to);
    return this.publicRoute(a, b, this.routeOrThrow(a, b));
  }

  /** Route latency both ways, ns. */
  rtt(from: string, to: string): number {
    return 2 * this.route(from, to).latency;
  }

  hasRoute(from: string, to: string): boolean {
    return this.findRoute(this.host(from), this.host(to)) !== NO_ROUTE;
  }

  /** A cap of `bytesPerSec` for the transfers that name it in `limit` together. */
  rateLimit(name: string, bytesPerSec: number): RateLimit {
    if (!(bytesPerSec > 0) || !Number.isFinite(bytesPerSec)) throw this.error("VMSCN5011", `rate limit "${name}" was given ${bytesPerSec} bytes/s; it must be a finite number > 0`);
    return new RateLimit(name, this.fairShare.addResource(`limit ${name}`, bytesPerSec), this.fairShare);
  }

  transfer(opts: TransferOptions): Transfer {
    const now = this.scheduler.now;
    const a = this.host(opts.from);
    const b = this.host(opts.to);
    const label = opts.label ?? `transfer #${this.nextId}`;
    if (!(opts.bytes >= 0) || !Number.isFinite(opts.bytes)) {
      throw this.error("VMSCN5011", `${label} from host "${a.name}" to host "${b.name}" was given ${opts.bytes} bytes; it needs a finite number ≥ 0`);
    }
    if (opts.kind !== "tcp" && opts.kind !== "rdma") {
      throw this.error("VMSCN5011", `${label} has kind "${String(opts.kind)}"; it must be "tcp" or "rdma"`);
    }
    const initiator = opts.initiator ?? "source";
    if (initiator !== "source" && initiator !== "destination") {
      throw this.error("VMSCN5011", `${label} has initiator "${String(initiator)}"; it must be "source" or "destination"`);
    }
    if (opts.maxRate !== undefined && !(opts.maxRate > 0)) {
      throw this.error("VMSCN5011", `${label} was given a maximum rate of ${opts.maxRate} bytes/s; it must be > 0`);
    }
    const local = a === b;
    // A local copy is a memory copy on one host: no NIC is involved, so RDMA needs none.
    if (opts.kind === "rdma" && !local) {
      for (const h of [a, b]) {
        if (!h.rdma) {
          throw this.error("VMSCN5011", `${label} is an RDMA transfer from host "${a.name}" to host "${b.name}", but host "${h.name}" has no RDMA NIC`, h.name);
        }
      }
    }
    if (!a.up || !b.up) {
      const down = a.up ? b : a;
      throw this.error("VMSCN5009", `no route from host "${a.name}" to host "${b.name}": host "${down.name}" is down`, down.name);
    }
    const rr = this.routeOrThrow(a, b);
    const tr = new Transfer(
      this.nextId++,
      a.name,
      b.name,
      opts.bytes,
      opts.kind,
      initiator,
      label,
      this.publicRoute(a, b, rr),
      rr.hosts,
      rr.links,
      this.hooks.adopt(opts.onDone, "transfer onDone"),
      this.hooks.adopt(opts.onFail, "transfer onFail"),
      this,
      now,
    );
    tr.onSent = this.hooks.adopt(opts.onSent, "transfer onSent");
    let resources: readonly number[] = rr.resources;
    if (opts.limit !== undefined) {
      const l = opts.limit;
      resources = l.paths.get(rr.resources) ?? [...rr.resources, l.resource];
      l.paths.set(rr.resources, resources);
    }
    const spec = {
      resources,
      bytes: opts.bytes,
      label,
      onDrained: () => this.drained(tr, rr.latency),
      ...(opts.maxRate === undefined ? {} : { maxRate: opts.maxRate }),
    };
    tr.flow = this.fairShare.start(spec);
    for (const h of rr.hosts) h.transfers.add(tr);
    for (const l of rr.links) l.transfers.add(tr);
    const t = this.totals;
    t.started++;
    if (local) t.local++;
    else if (opts.kind === "tcp") t.tcp++;
    else t.rdma++;
    if (initiator === "source") {
      t.initiatedBySource++;
      a.initiated++;
    } else {
      t.initiatedByDestination++;
      b.initiated++;
    }
    return tr;
  }

  /** Cores busy with TCP copies on a host now: Σ rate / PAGE_SIZE × tcpCpuNsPerPage / 1e9. */
  cpuLoad(host: string): number {
    const h = this.host(host);
    let pagesPerSec = 0;
    for (const tr of h.transfers) {
      if (tr.flow !== null && this.costsCpu(tr, h)) pagesPerSec += tr.flow.rate / PAGE_SIZE;
    }
    return (pagesPerSec * this.config.tcpCpuNsPerPage) / SECOND;
  }

  /** Host CPU ns spent on TCP copies so far (exact now, including transfers in progress). */
  tcpCpuNs(host: string): number {
    const h = this.host(host);
    let ns = h.tcpCpuNs;
    // Transfers not settled yet: sending, or delivering (all bytes sent).
    for (const tr of h.transfers) if (this.costsCpu(tr, h)) ns += this.tcpCost(tr.bytesDone());
    return ns;
  }

  isLinkUp(name: string): boolean {
    return this.link(name).up;
  }

  isHostUp(name: string): boolean {
    return this.host(name).up;
  }

  /** Down: fails every transfer routed over the link (VMSCN5010) and routes avoid it. */
  /** Problems with the flows in progress: every one crosses only up links and up hosts. */
  invariantProblems(): string[] {
    const problems: string[] = [];
    for (const l of this.linkList) {
      if (!l.up && l.transfers.size > 0) problems.push(`link "${l.name}" is down but carries ${l.transfers.size} transfer(s)`);
    }
    for (const h of this.hostList) {
      if (!h.up && h.transfers.size > 0) problems.push(`host "${h.name}" is down but ${h.transfers.size} transfer(s) still use it`);
    }
    return problems;
  }

  /** A link goes down (failing the transfers on it) or comes back; the default cause is the kernel's `link` fault. */
  setLinkUp(name: string, up: boolean, cause: Cause = kernelCause(up ? "link-up" : "link-down")): void {
    const l = this.link(name);
    if (l.up === up) return;
    l.up = up;
    this.routes.clear();
    if (!up) {
      const when = formatTime(this.scheduler.now);
      for (const tr of [...l.transfers]) {
        this.failTransfer(tr, `link "${l.name}" went down at ${when}`, l.name);
      }
    }
    this.signals.linkStateChanged.emit(l.name, up ? "down" : "up", up ? "up" : "down", cause);
  }

  /** A host crash: fails transfers from, to and through the host; routes avoid it. */
  failHost(name: string): void {
    const h = this.host(name);
    if (!h.up) return;
    h.up = false;
    this.routes.clear();
    const when = formatTime(this.scheduler.now);
    for (const tr of [...h.transfers]) this.failTransfer(tr, `host "${h.name}" crashed at ${when}`, h.name);
  }

  restoreHost(name: string): void {
    const h = this.host(name);
    if (h.up) return;
    h.up = true;
    this.routes.clear();
  }

  /** Current rates of every link, for time series. */
  linkRates(): LinkRate[] {
    return this.linkList.map((l) => {
      const ab = this.fairShare.resourceRate(l.ab);
      const ba = this.fairShare.resourceRate(l.ba);
      return { name: l.name, ab, ba, rate: ab + ba };
    });
  }

  linkStats(name: string): LinkStats {
    const l = this.link(name);
    const fs = this.fairShare;
    return {
      name: l.name,
      a: l.a.name,
      b: l.b.name,
      bandwidth: l.bandwidth,
      latency: l.latency,
      up: l.up,
      bytesAB: fs.resourceBytes(l.ab),
      bytesBA: fs.resourceBytes(l.ba),
      rateAB: fs.resourceRate(l.ab),
      rateBA: fs.resourceRate(l.ba),
    };
  }

  hostStats(name: string): HostNetStats {
    const h = this.host(name);
    let rdma = h.rdmaBytes;
    for (const tr of h.transfers) if (tr.kind === "rdma" && tr.from !== tr.to && (tr.from === h.name || tr.to === h.name)) rdma += tr.bytesDone();
    return {
      name: h.name,
      nicBandwidth: h.nicBandwidth,
      rdma: h.rdma,
      up: h.up,
      bytesSent: this.fairShare.resourceBytes(h.tx),
      bytesReceived: this.fairShare.resourceBytes(h.rx),
      rdmaBytes: rdma,
      tcpCpuNs: this.tcpCpuNs(h.name),
      cpuLoad: this.cpuLoad(h.name),
      initiated: h.initiated,
    };
  }

  stats(): NetworkStats {
    return {
      hosts: this.hostList.map((h) => this.hostStats(h.name)),
      links: this.linkList.map((l) => this.linkStats(l.name)),
      transfers: { ...this.totals },
    };
  }

  /** @internal Ends a transfer early (cancel or failure); false if it already ended. */
  end(tr: Transfer, state: "cancelled" | "failed"): boolean {
    if (tr.state !== "active" && tr.state !== "delivering") return false;
    if (tr.flow !== null) {
      tr.moved = tr.bytesDone();
      tr.flow.cancel();
      tr.flow = null;
    }
    if (tr.timer !== null) {
      tr.timer.cancel();
      tr.timer = null;
    }
    tr.state = state;
    tr.finishedAt = this.scheduler.now;
    if (state === "cancelled") this.totals.cancelled++;
    else this.totals.failed++;
    this.settle(tr);
    return true;
  }

  private failTransfer(tr: Transfer, cause: string, where: string): void {
    const done = tr.bytesDone();
    this.end(tr, "failed");
    const err = kernelError(
      "VMSCN5010",
      `${cause}: ${tr.label} from host "${tr.from}" to host "${tr.to}" failed after ${done} of ${tr.bytes} bytes`,
      { time: this.scheduler.now, where },
    );
    const cb = tr.onFail;
    // Reported on its own event, so the code that took the link down finishes first.
    this.scheduler.at(this.scheduler.now, () => {
      if (cb === undefined) throw err;
      cb(err);
    });
  }

  private drained(tr: Transfer, latency: number): void {
    tr.moved = tr.bytes;
    tr.flow = null;
    tr.state = "delivering";
    // On its own event: the fair-share solver is mid-update here.
    const sent = tr.onSent;
    if (sent !== undefined) {
      this.scheduler.after(0, () => {
        if (tr.state === "delivering" || tr.state === "done") sent(this.scheduler.now);
      });
    }
    tr.timer = this.scheduler.after(latency, () => {
      tr.timer = null;
      tr.state = "done";
      tr.finishedAt = this.scheduler.now;
      this.totals.completed++;
      this.totals.bytesDelivered += tr.bytes;
      this.settle(tr);
      tr.onDone?.(this.scheduler.now);
    });
  }

  /** Moves a finished transfer's CPU and RDMA figures into the host counters. */
  private settle(tr: Transfer): void {
    for (const h of tr.hostRecs) {
      h.transfers.delete(tr);
      if (tr.from === tr.to || (h.name !== tr.from && h.name !== tr.to)) continue;
      if (tr.kind === "tcp") h.tcpCpuNs += this.tcpCost(tr.moved);
      else h.rdmaBytes += tr.moved;
    }
    for (const l of tr.linkRecs) l.transfers.delete(tr);
    this.signals.settled.emit(tr);
  }

  /** TCP copies cost CPU at both ends only: a host the route merely crosses forwards in hardware. */
  private costsCpu(tr: Transfer, h: HostRec): boolean {
    return tr.kind === "tcp" && tr.from !== tr.to && (tr.from === h.name || tr.to === h.name);
  }

  private tcpCost(bytes: number): number {
    return (bytes / PAGE_SIZE) * this.config.tcpCpuNsPerPage;
  }

  private host(name: string): HostRec {
    const h = this.hosts.get(name);
    if (h === undefined) throw this.error("VMSCN5005", `there is no host "${name}" on the network`);
    return h;
  }

  private link(name: string): LinkRec {
    const l = this.links.get(name);
    if (l === undefined) throw this.error("VMSCN5005", `there is no link "${name}"`);
    return l;
  }

  private routeOrThrow(a: HostRec, b: HostRec): RouteRec {
    const r = this.findRoute(a, b);
    if (r === NO_ROUTE) {
      const down = !a.up ? a : !b.up ? b : undefined;
      const why = down === undefined ? "" : `: host "${down.name}" is down`;
      throw this.error("VMSCN5009", `no route from host "${a.name}" to host "${b.name}"${why}`);
    }
    return r;
  }

  private findRoute(a: HostRec, b: HostRec): RouteRec | typeof NO_ROUTE {
    const key = a.id * 2 ** 26 + b.id;
    const cached = this.routes.get(key);
    if (cached !== undefined) return cached;
    const r = this.bfs(a, b);
    this.routes.set(key, r);
    return r;
  }

  private bfs(a: HostRec, b: HostRec): RouteRec | typeof NO_ROUTE {
    if (!a.up || !b.up) return NO_ROUTE;
    if (a === b) return { hosts: [a], links: [], resources: [], latency: 0 };
    const via = new Map<HostRec, LinkRec | null>([[a, null]]);
    const queue: HostRec[] = [a];
    for (let qi = 0; qi < queue.length && !via.has(b); qi++) {
      const h = queue[qi]!;
      for (const l of h.links) {
        if (!l.up) continue;
        const next = l.a === h ? l.b : l.a;
        if (!next.up || via.has(next)) continue;
        via.set(next, l);
        queue.push(next);
      }
    }
    if (!via.has(b)) return NO_ROUTE;
    const hosts: HostRec[] = [b];
    const links: LinkRec[] = [];
    for (let h = b; h !== a; ) {
      const l = via.get(h)!;
      links.push(l);
      h = l.a === h ? l.b : l.a;
      hosts.push(h);
    }
    hosts.reverse();
    links.reverse();
    const resources = [a.tx];
    let latency = 0;
    for (let i = 0; i < links.length; i++) {
      const l = links[i]!;
      resources.push(l.a === hosts[i] ? l.ab : l.ba);
      latency += l.latency;
    }
    resources.push(b.rx);
    return { hosts, links, resources, latency };
  }

  private publicRoute(a: HostRec, b: HostRec, r: RouteRec): Route {
    r.pub ??= Object.freeze({
      from: a.name,
      to: b.name,
      hosts: Object.freeze(r.hosts.map((h) => h.name)),
      links: Object.freeze(r.links.map((l) => l.name)),
      latency: r.latency,
    });
    return r.pub;
  }

  private error(code: KernelCode, message: string, where?: string): VmscnError {
    return kernelError(code, message, { time: this.scheduler.now, ...(where === undefined ? {} : { where }) });
  }
}

function positive(v: number, what: string, time: number): void {
  if (!(v > 0)) throw kernelError("VMSCN5011", `${what} is ${v} bytes/s; it must be > 0`, { time });
}
