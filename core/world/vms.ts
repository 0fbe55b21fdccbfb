// VM worlds as the scenario declares them: their page map, initial contents, disks, MAC
// address and workload. The kernel and the plugin host (`k.createVm`: a fork child, a clone)
// both create VMs through this one service.
import { injectable, inject } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { kernelError } from "../errors.js";
import { PAGE_SIZE } from "../config.js";
import type { RandomStreams } from "../sim/random.js";
import type { Memory } from "../memory/memory.js";
import { ContentSampler } from "../memory/content.js";
import type { Storage } from "../storage/storage.js";
import type { Workload } from "../workload/workload.js";
import type { Cluster } from "./cluster.js";
import type { World } from "./world.js";
import { MacPool } from "./mac.js";
import { kernelCause } from "./cause.js";
import { DEFAULT_DEVICE_STATE_BYTES, type VmSpec } from "./vm-spec.js";
import { VM_INFO, vmInfo } from "./vm-info.js";

@injectable()
export class Vms {
  readonly macs = new MacPool();

  constructor(
    @inject(TOKENS.Cluster) private readonly cluster: Cluster,
    @inject(TOKENS.Memory) private readonly memory: Memory,
    @inject(TOKENS.Storage) private readonly storage: Storage,
    @inject(TOKENS.Workload) private readonly workload: Workload,
    @inject(TOKENS.RandomStreams) private readonly streams: RandomStreams,
  ) {}

  /** Creates a VM world with its guest memory, initial contents, disks, MAC and workload. */
  create(spec: VmSpec): World {
    const host = this.cluster.host(spec.host);
    const pages = Math.ceil(spec.memoryBytes / PAGE_SIZE);
    if (spec.memoryBytes > host.memoryBytes) {
      throw kernelError("VMSCN5011", `VM "${spec.name}" has ${spec.memoryBytes} bytes of memory, more than host "${host.name}" has (${host.memoryBytes})`);
    }
    for (const d of spec.disks ?? []) {
      if (!this.storage.reachable(d.datastore, host.name)) {
        throw kernelError("VMSCN5012", `VM "${spec.name}" has a disk on datastore "${d.datastore}", which host "${host.name}" cannot reach`);
      }
    }
    if (this.cluster.hasWorld(spec.name)) throw kernelError("VMSCN5006", `a world named "${spec.name}" already exists`);
    // Everything that can refuse the VM is checked above, so nothing is half made.
    const mac = this.macs.assign(spec.name, spec.mac);
    const world = this.cluster.createWorld({ name: spec.name, kind: "vm", vcpus: spec.vcpus }, host, (w) => {
      w.memory = this.memory.createGuest(w.id, w.name, pages, host.id);
      const disks = (spec.disks ?? []).map((d, i) => this.storage.createFile(d.datastore, `${spec.name}-disk${i}.vmdk`, d.sizeBytes));
      w.setExt(VM_INFO, { spec, mac, disks, deviceStateBytes: spec.deviceStateBytes ?? DEFAULT_DEVICE_STATE_BYTES, bootNs: spec.bootNs ?? 0 });
    });
    if (spec.initial) {
      const sampler = new ContentSampler(spec.initial, this.memory.images, world.id, this.streams.stream(`vm:${spec.name}:initial`));
      this.memory.populateAll(world.memory!, (p) => sampler.next(p));
    }
    if (spec.workload) {
      const info = world.ext(VM_INFO)!;
      // The disks as the VM sees them now: a migration that copies a disk swaps the file.
      this.workload.attach(world, spec.workload, () => info.disks);
    }
    return world;
  }

  /** Stops a world and gives back its frames and its MAC address. */
  destroy(w: World): void {
    if (w.memory) this.memory.dropGuest(w.memory);
    const info = vmInfo(w);
    if (info) this.macs.release(info.mac);
    this.cluster.destroy(w, kernelCause("destroy"));
  }
}
