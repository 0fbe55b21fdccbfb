// Per-page metadata in one byte: the page state in the low 3 bits, the trap bits above.
// One byte means the fast path of a guest access is a single load and compare.

export const PageState = {
  /** Never written: reads as the zero page, backed by no frame. */
  Unbacked: 0,
  /** Mapped to a frame on the guest's host. */
  Present: 1,
  /** Absent until restored from a checkpoint. */
  AbsentRestore: 2,
  /** Absent until fetched from another host (post-copy). */
  AbsentFetch: 3,
  /** Mapped to a frame on another host (read over RDMA). */
  Remote: 4,
} as const;
export type PageStateValue = (typeof PageState)[keyof typeof PageState];

export const STATE_MASK = 0b111;

export const Trap = {
  /** Armed by dirty logs: the kernel records the write and disarms it. */
  Dirty: 1 << 3,
  /** Write-protect: a write faults to the "write-protect" handlers. */
  WriteProtect: 1 << 4,
  /** Access trace: any read or write faults to the "access-trace" handlers. */
  AccessTrace: 1 << 5,
  /** Write trace: a write faults to the "write-trace" handlers. */
  WriteTrace: 1 << 6,
  /** Copy-on-write: the frame is shared; a write copies it into a new frame. */
  CopyOnWrite: 1 << 7,
} as const;

export const TRAP_MASK = 0b1111_1000;

/** Fault kinds a plugin can handle with `onFault(kind, handler)`. */
export const FAULT_KINDS = ["write-protect", "access-trace", "write-trace", "absent-restore", "absent-fetch", "remote"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const STATE_NAMES = ["unbacked", "present", "absent-restore", "absent-fetch", "remote"] as const;
