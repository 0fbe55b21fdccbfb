// What crosses the wire for one guest page, counted as QEMU counts it (a disk block: below): every page carries an
// 8-byte header (offset and flags); a zero page is only that header plus one fill byte
// (RAM_SAVE_FLAG_ZERO, counted in `duplicate`), any other page the header plus 4096 bytes.
import { PAGE_SIZE } from "../../core/api.js";

export const PAGE_HEADER_BYTES = 8;
/** A zero page: header + the one byte it is filled with. */
export const ZERO_PAGE_BYTES = PAGE_HEADER_BYTES + 1;
/** A page sent in full. */
export const NORMAL_PAGE_BYTES = PAGE_HEADER_BYTES + PAGE_SIZE;

/** Bytes on the wire for a page whose content identity is `content` (0 is the zero page). */
export function wireBytes(content: number): number {
  return content === 0 ? ZERO_PAGE_BYTES : NORMAL_PAGE_BYTES;
}

/** Disk blocks are copied this many bytes at a time (QEMU's block migration uses 1 MiB). */
export const DISK_BLOCK_BYTES = 1024 * 1024;
/** Each block on the wire carries a header (offset and flags), as a page does. */
export const DISK_BLOCK_HEADER_BYTES = 8;

/**
 * The migration's wire format (`wire`): `qemu` counts bytes as QEMU sends them (the constants
 * above; a disk block's 8-byte header); `raw` carries page and block payloads only — every page
 * 4096 bytes, a zero page too, no header — as flow-level simulators and closed forms count a
 * migration.
 */
export class Wire {
  /** A page sent in full, and a zero page. */
  readonly normal: number;
  readonly zero: number;
  /** Zero pages go as markers (counted in `duplicate`). */
  readonly markers: boolean;
  readonly blockHeader: number;

  constructor(readonly format: "qemu" | "raw") {
    const raw = format === "raw";
    this.normal = raw ? PAGE_SIZE : NORMAL_PAGE_BYTES;
    this.zero = raw ? PAGE_SIZE : ZERO_PAGE_BYTES;
    this.markers = !raw;
    this.blockHeader = raw ? 0 : DISK_BLOCK_HEADER_BYTES;
  }

  /** Bytes on the wire for a page whose content identity is `content` (0 is the zero page). */
  page(content: number): number {
    return content === 0 ? this.zero : this.normal;
  }
}

