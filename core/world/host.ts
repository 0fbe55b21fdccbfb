import { Extendable } from "./slots.js";
import type { World } from "./world.js";

export interface HostSpec {
  name: string;
  cpus: number;
  /** Machine memory in bytes. */
  memoryBytes: number;
  /** NIC bandwidth in bytes/s. */
  nicBandwidth: number;
  rdma: boolean;
}

export class Host extends Extendable<Host> {
  readonly name: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly nicBandwidth: number;
  readonly rdma: boolean;
  /** Datastores this host can reach (names). */
  readonly datastores: string[] = [];
  up = true;
  /** Worlds placed on this host, in placement order. */
  readonly worlds: World[] = [];
  /** CPU demand of running worlds, in cores (kept up to date by the cluster). */
  demand = 0;

  constructor(
    readonly id: number,
    spec: HostSpec,
  ) {
    super();
    this.name = spec.name;
    this.cpus = spec.cpus;
    this.memoryBytes = spec.memoryBytes;
    this.nicBandwidth = spec.nicBandwidth;
    this.rdma = spec.rdma;
  }
}
