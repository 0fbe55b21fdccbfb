// MAC addresses come from the cluster's common name space, so a VM keeps its address when it
// moves between hosts and no two VMs ever share one.
import { kernelError } from "../errors.js";

const FORMAT = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export class MacPool {
  private readonly used = new Map<string, string>();
  private next = 1;

  /** Takes `wanted` if given (checked), else the next free address 02:00:00:xx:xx:xx. */
  assign(owner: string, wanted?: string): string {
    if (wanted !== undefined) {
      const mac = wanted.toLowerCase();
      if (!FORMAT.test(mac)) throw kernelError("VMSCN5011", `"${wanted}" is not a MAC address (six hex pairs separated by colons) for "${owner}"`);
      const holder = this.used.get(mac);
      if (holder !== undefined) throw kernelError("VMSCN5006", `MAC address ${mac} of "${owner}" is already used by "${holder}"`);
      this.used.set(mac, owner);
      return mac;
    }
    for (;;) {
      const n = this.next++;
      const mac = `02:00:00:${hex(n >>> 16)}:${hex(n >>> 8)}:${hex(n)}`;
      if (!this.used.has(mac)) {
        this.used.set(mac, owner);
        return mac;
      }
    }
  }

  release(mac: string): void {
    this.used.delete(mac);
  }
}

function hex(n: number): string {
  return (n & 0xff).toString(16).padStart(2, "0");
}
