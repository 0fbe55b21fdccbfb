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
  /**
   * Nodes for loading guests (the expedited-launch document's notion: a platform of three
   * nodes runs three guests). Default: one per CPU.
   */
  nodes?: number;
  /** The VMM application programming interface the host's VMM complies with (default "default"). */
  vmm?: string;
  /** The hypercall interface the host's VMM offers its guests (default "default"). */
  hypercalls?: string;
}

/** The VMM API and hypercall interface of a host that declares none. */
export const DEFAULT_VMM_INTERFACE = "default";

export class Host extends Extendable<Host> {
  readonly name: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly nicBandwidth: number;
  readonly rdma: boolean;
  readonly nodes: number;
  readonly vmm: string;
  readonly hypercalls: string;
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
    this.nodes = spec.nodes ?? spec.cpus;
    this.vmm = spec.vmm ?? DEFAULT_VMM_INTERFACE;
    this.hypercalls = spec.hypercalls ?? DEFAULT_VMM_INTERFACE;
  }
}
