// Typed extension slots (SimGrid's Extendable): plugins keep per-world state here instead of
// subclassing worlds. A slot is declared once; each world gets its own value, made on first use.
let nextSlot = 0;

export class Slot<T, O = unknown> {
  readonly id = nextSlot++;
  constructor(
    readonly name: string,
    readonly init: (owner: O) => T,
  ) {}
}

export class Extendable<O> {
  private slots: unknown[] = [];

  ext<T>(slot: Slot<T, O>): T {
    let v = this.slots[slot.id] as T | undefined;
    if (v === undefined) {
      v = slot.init(this as unknown as O);
      this.slots[slot.id] = v;
    }
    return v;
  }

  hasExt(slot: Slot<unknown, O>): boolean {
    return this.slots[slot.id] !== undefined;
  }

  setExt<T>(slot: Slot<T, O>, value: T | undefined): void {
    this.slots[slot.id] = value;
  }
}
