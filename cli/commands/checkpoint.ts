// `vmscn checkpoint inspect FILE`: what a checkpoint file holds (docs/checkpoint-format.md):
// its header, the two parts of its IO blocks, its maps; with --verify every IO block is read,
// checked and decoded. A file that is not a valid checkpoint is refused with the restore's
// code, naming the file and the offset.
import { compressionService } from "../../app/checkpoint-inspect.js";
import type { CompressionService } from "../../plugins/compression/api.js";
import { FormatError, NO_BLOCK, StoreRefusal, ZERO_BLOCK, codecLabel, inspectCheckpoint, type Inspection } from "../../plugins/lazy-checkpoint/api.js";
import { parseArgs, UsageError } from "../args.js";
import { formatBytes } from "../summary.js";

// Reading the file is the plugin's: the command describes what it read.
export { inspectCheckpoint, writerName, type Inspection } from "../../plugins/lazy-checkpoint/api.js";

export const CHECKPOINT_USAGE = "vmscn checkpoint inspect FILE [--maps] [--verify] [--json]";

function describe(x: Inspection, withMaps: boolean, compression: CompressionService): string {
  const h = x.header;
  const P = h.pagesPerBlock;
  const lines = [
    `checkpoint file ${x.file} (${formatBytes(x.size)}, ${x.size} bytes)`,
    `  format         version ${h.version}, complete${h.compressed ? ", compressed" : ""}`,
    `  VM             ${h.vmName} on host ${h.hostName}, ${h.vcpus} vCPU${h.vcpus === 1 ? "" : "s"}, ${h.guestPages} pages (${formatBytes(h.guestPages * h.pageSize)}), checkpoint at ${h.savedAt / 1e9} s`,
    `  geometry       ${h.pageSize}-byte pages, ${P} pages per memory block, ${h.blocksPerIo} memory blocks per IO block (IO blocks of ${h.ioBlockSize} bytes)`,
    `  codec          ${codecLabel(h, compression)}`,
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
          if (mb !== NO_BLOCK) ids.push(mb);
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
    ioMemoryMap: x.header.compressed ? null : Array.from({ length: x.header.ioBlocks }, (_, io) => Array.from(maps.ioMem.subarray(io * x.header.blocksPerIo, (io + 1) * x.header.blocksPerIo)).filter((m) => m !== NO_BLOCK)),
  };
}

export async function checkpointCommand(argv: string[], out: (s: string) => void, err: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "inspect") throw new UsageError(`checkpoint takes a subcommand: inspect (got ${sub === undefined ? "none" : `"${sub}"`})\nusage: ${CHECKPOINT_USAGE}`);
  const args = parseArgs(rest, [], ["maps", "verify", "json"]);
  if (args.positionals.length !== 1) throw new UsageError(`checkpoint inspect takes one file\nusage: ${CHECKPOINT_USAGE}`);
  const file = args.positionals[0]!;
  const compression = await compressionService();
  let x: Inspection;
  try {
    x = inspectCheckpoint(file, args.flags.has("verify"), compression);
  } catch (e) {
    if (e instanceof FormatError) {
      err(`vmscn: error ${e.code}: checkpoint file "${file}" is refused at offset ${e.offset}: ${e.message}`);
      return 2;
    }
    // Missing (VMSCN7306), or no regular file (VMSCN7310: a folder, a FIFO, a device, opened
    // without waiting for a writer); an IO error reading it is VMSCN7306 too.
    if (e instanceof StoreRefusal) {
      err(`vmscn: error ${e.code}: checkpoint file "${file}" ${e.code === "VMSCN7306" ? "cannot be read" : "is refused"}: ${e.message}`);
      return 2;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && code.startsWith("E")) {
      err(`vmscn: error VMSCN7306: checkpoint file "${file}" cannot be read: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
  out(args.flags.has("json") ? JSON.stringify(asJson(x), null, 2) : describe(x, args.flags.has("maps"), compression));
  return 0;
}
