// `vmscn checkpoint inspect FILE`: what a checkpoint file holds (docs/checkpoint-format.md):
// its header, the two parts of its IO blocks, its maps; with --verify every IO block is read,
// checked and decoded. A file that is not a valid checkpoint is refused with the restore's
// code, naming the file and the offset.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { PAGE_SIZE } from "../../core/config.js";
import { pageBytes } from "../../core/memory/content.js";
import { FormatError, HEADER_SIZE, ZERO_BLOCK, BACKGROUND_WRITER, decodeHeader, decodeMaps, parseIoBlock, type Header, type Maps } from "../../plugins/lazy-checkpoint/format.js";
import { CODEC_BY_ID } from "../../plugins/lazy-checkpoint/shared.js";
import { CodecError, makeCodec, type CodecName } from "../../plugins/compression/codecs.js";
import { parseArgs, UsageError } from "../args.js";
import { formatBytes } from "../summary.js";

export const CHECKPOINT_USAGE = "vmscn checkpoint inspect FILE [--maps] [--verify] [--json]";

function readAt(fd: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, offset + done);
    if (n === 0) return out.subarray(0, done);
    done += n;
  }
  return out;
}

export interface Inspection {
  file: string;
  size: number;
  header: Header;
  /** IO block indices of each part, in order. */
  firstPart: number[];
  secondPart: number[];
  zeroBlocks: number;
  maps: Maps;
  verified?: { ioBlocks: number; memoryBlocks: number; pages: number };
}

/** Reads and checks a checkpoint file; throws FormatError (code, offset) when it is not a valid one. */
export function inspectCheckpoint(file: string, verify: boolean): Inspection {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const header = decodeHeader(readAt(fd, 0, HEADER_SIZE), size);
    const maps = decodeMaps(readAt(fd, header.memIoOffset, header.fileLength - header.memIoOffset), header);
    const parts = [...maps.parts];
    let zeroBlocks = 0;
    for (let b = 0; b < header.memoryBlocks; b++) if (maps.memIo[b] === ZERO_BLOCK) zeroBlocks++;
    const out: Inspection = { file, size, header, firstPart: parts.slice(0, header.firstPart), secondPart: parts.slice(header.firstPart), zeroBlocks, maps };
    if (verify) out.verified = verifyBlocks(fd, header, maps);
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Every IO block parsed and CRC-checked, every memory block decoded and its pages' bytes compared with their contents. */
function verifyBlocks(fd: number, h: Header, m: Maps): { ioBlocks: number; memoryBlocks: number; pages: number } {
  const codec = h.compressed ? makeCodec(CODEC_BY_ID[h.codec] as CodecName, h.codec === 1 ? h.level : undefined) : null;
  const ref = new Uint8Array(PAGE_SIZE);
  let blocks = 0;
  let pages = 0;
  for (let io = 0; io < h.ioBlocks; io++) {
    const offset = h.ioAreaOffset + io * h.ioBlockSize;
    const view = parseIoBlock(readAt(fd, offset, h.ioBlockSize), offset, h, io);
    for (const r of view.records) {
      if (m.memIo[r.mb] !== offset) throw new FormatError("VMSCN7301", `IO block ${io} holds memory block ${r.mb}, which the memory-IO map places elsewhere`, offset + r.at);
      const count = Math.min(h.pagesPerBlock, h.guestPages - r.mb * h.pagesPerBlock);
      let bytes = r.body;
      if (codec && !r.raw) {
        let nonZero = 0;
        for (let i = 0; i < count; i++) if ((r.zeroMask & (1 << i)) === 0) nonZero++;
        try {
          bytes = codec.decompress(r.body, nonZero * PAGE_SIZE);
        } catch (err) {
          if (!(err instanceof CodecError)) throw err;
          throw new FormatError("VMSCN7301", `memory block ${r.mb}'s body does not decompress (${err.message})`, offset + r.bodyAt);
        }
      }
      let n = 0;
      for (let i = 0; i < count; i++) {
        const zero = (r.zeroMask & (1 << i)) !== 0;
        if (h.compressed && zero) continue;
        const at = h.compressed ? n++ * PAGE_SIZE : i * PAGE_SIZE;
        const c = r.identities[i]!;
        if (c !== 0) pageBytes(c, ref, 0);
        else ref.fill(0);
        const page = bytes.subarray(at, at + PAGE_SIZE);
        for (let j = 0; j < PAGE_SIZE; j++) if (page[j] !== ref[j]) throw new FormatError("VMSCN7301", `memory block ${r.mb}'s page ${i} does not hold its content's bytes`, offset + r.bodyAt + (h.compressed ? 0 : at + j));
        pages++;
      }
      blocks++;
    }
  }
  return { ioBlocks: h.ioBlocks, memoryBlocks: blocks, pages };
}

function codecName(h: Header): string {
  if (!h.compressed) return "none";
  const n = CODEC_BY_ID[h.codec] ?? `#${h.codec}`;
  return n === "zlib" ? `zlib level ${h.level}` : n;
}

function describe(x: Inspection, withMaps: boolean): string {
  const h = x.header;
  const P = h.pagesPerBlock;
  const lines = [
    `checkpoint file ${x.file} (${formatBytes(x.size)}, ${x.size} bytes)`,
    `  format         version ${h.version}, complete${h.compressed ? ", compressed" : ""}`,
    `  VM             ${h.vmName} on host ${h.hostName}, ${h.vcpus} vCPU${h.vcpus === 1 ? "" : "s"}, ${h.guestPages} pages (${formatBytes(h.guestPages * h.pageSize)}), checkpoint at ${h.savedAt / 1e9} s`,
    `  geometry       ${h.pageSize}-byte pages, ${P} pages per memory block, ${h.blocksPerIo} memory blocks per IO block (IO blocks of ${h.ioBlockSize} bytes)`,
    `  codec          ${codecName(h)}`,
    `  pages          ${h.contentPages} with contents, ${h.zeroPages} zero (${h.untouchedPages} untouched)`,
    `  memory blocks  ${h.memoryBlocks}: ${h.memoryBlocks - x.zeroBlocks} in IO blocks, ${x.zeroBlocks} zero or untouched (encoded up front)`,
    `  device state   ${h.deviceLength} bytes at offset ${h.deviceOffset}`,
    `  IO blocks      ${h.ioBlocks} at offset ${h.ioAreaOffset}: first part ${x.firstPart.length} (vCPU save threads), second part ${x.secondPart.length} (background threads)`,
    `  memory-IO map  ${h.memIoLength} bytes at offset ${h.memIoOffset}`,
    `  IO-memory map  ${h.compressed ? "not used (compressed: each memory block's metadata names it)" : `${h.ioMemLength} bytes at offset ${h.ioMemOffset}`}`,
    `  part table     ${h.partLength} bytes at offset ${h.partOffset}`,
    `  first part     ${list(x.firstPart)}`,
    `  second part    ${list(x.secondPart)}`,
  ];
  if (x.verified) lines.push(`  verified       ${x.verified.ioBlocks} IO blocks, ${x.verified.memoryBlocks} memory blocks, ${x.verified.pages} pages: every CRC-32 matches and every page holds its content's bytes`);
  if (withMaps) {
    lines.push("", "memory-IO map (memory block → IO block at file offset)");
    for (let b = 0; b < h.memoryBlocks; b++) {
      const off = x.maps.memIo[b]!;
      lines.push(off === ZERO_BLOCK ? `  mb${b}  zero` : `  mb${b}  io${(off - h.ioAreaOffset) / h.ioBlockSize} @ ${off}`);
    }
    if (!h.compressed) {
      lines.push("", "IO-memory map (IO block → its memory blocks in order)");
      for (let io = 0; io < h.ioBlocks; io++) {
        const ids: number[] = [];
        for (let j = 0; j < h.blocksPerIo; j++) {
          const mb = x.maps.ioMem[io * h.blocksPerIo + j]!;
          if (mb !== 0xffffffff) ids.push(mb);
        }
        lines.push(`  io${io}  ${ids.join(", ")}`);
      }
    }
  }
  return lines.join("\n");
}

function list(ios: number[]): string {
  if (ios.length === 0) return "(none)";
  const shown = ios.slice(0, 16).map((i) => `io${i}`).join(" ");
  return ios.length > 16 ? `${shown} ... (${ios.length})` : shown;
}

function asJson(x: Inspection): unknown {
  const { maps, ...rest } = x;
  return {
    ...rest,
    memoryIoMap: Array.from(maps.memIo, (o) => (o === ZERO_BLOCK ? null : o)),
    ioMemoryMap: x.header.compressed ? null : Array.from({ length: x.header.ioBlocks }, (_, io) => Array.from(maps.ioMem.subarray(io * x.header.blocksPerIo, (io + 1) * x.header.blocksPerIo)).filter((m) => m !== 0xffffffff)),
  };
}

/** Writers of IO blocks as the header names them: "vCPU 0", "background thread 1". */
export function writerName(w: number): string {
  return w >= BACKGROUND_WRITER ? `background thread ${w - BACKGROUND_WRITER}` : `vCPU ${w}`;
}

export async function checkpointCommand(argv: string[], out: (s: string) => void, err: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "inspect") throw new UsageError(`checkpoint takes a subcommand: inspect (got ${sub === undefined ? "none" : `"${sub}"`})\nusage: ${CHECKPOINT_USAGE}`);
  const args = parseArgs(rest, [], ["maps", "verify", "json"]);
  if (args.positionals.length !== 1) throw new UsageError(`checkpoint inspect takes one file\nusage: ${CHECKPOINT_USAGE}`);
  const file = args.positionals[0]!;
  let x: Inspection;
  try {
    x = inspectCheckpoint(file, args.flags.has("verify"));
  } catch (e) {
    if (e instanceof FormatError) {
      err(`vmscn: error ${e.code}: checkpoint file "${file}" is refused at offset ${e.offset}: ${e.message}`);
      return 2;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR" || code === "EACCES") {
      err(`vmscn: error VMSCN7306: checkpoint file "${file}" cannot be read: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
  out(args.flags.has("json") ? JSON.stringify(asJson(x), null, 2) : describe(x, args.flags.has("maps")));
  return 0;
}
