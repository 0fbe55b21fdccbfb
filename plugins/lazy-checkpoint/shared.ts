// Pieces the save and the restore share: codecs by the ids files carry (from the compression
// service, k.use("compression")), modelled costs, the throttle, checkpoint files of the run.
import { crc32 } from "node:zlib";
import { VmscnError, type PluginContext, type SimFile } from "../../core/api.js";
import type { Codec, CompressionService } from "../compression/api.js";
import { FormatError, H, type Header } from "./format.js";
import type { ByteStore } from "./store.js";

/** The plugin's name: the cause of the changes it makes to worlds names it. */
export const PLUGIN = "lazy-checkpoint";

/** A step of a save's or a restore's states: one its table does not allow is this plugin's bug. */
export function step<S extends string>(table: Readonly<Record<S, readonly S[]>>, from: S, to: S, what: string): S {
  if (!table[from].includes(to)) throw new Error(`${what} cannot go from ${from} to ${to}`);
  return to;
}

// ---- codecs, from the compression service (plugins/compression/README.md) -------------------

/** The codec a file's header names by its id (docs/checkpoint-format.md), undefined when unknown. */
export function codecName(svc: CompressionService, id: number): string | undefined {
  return svc.codecNames.find((n) => svc.codec(n).id === id);
}

/**
 * The codec a compressed file's blocks decode with (zlib at the file's level), null for a file
 * not compressed. A codec id no codec has is refused (VMSCN7303), and so is a level the codec
 * does not take (VMSCN7301: vmscn never writes one), at the header's byte.
 */
export function fileCodec(svc: CompressionService, h: Pick<Header, "compressed" | "codec" | "level">): Codec | null {
  if (!h.compressed) return null;
  const name = codecName(svc, h.codec);
  if (name === undefined) throw new FormatError("VMSCN7303", `it uses codec ${h.codec}, which this vmscn does not know`, H.codec);
  try {
    return svc.codec(name, h.level);
  } catch (err) {
    if (!(err instanceof VmscnError)) throw err;
    throw new FormatError("VMSCN7301", `its header is inconsistent: ${err.message}`, H.level);
  }
}

/** CRC-32 of `length` bytes of a store from `offset`, 16 MiB at a time (a device state may be large); null when the store ends sooner. */
export function crcOfStore(store: ByteStore, offset: number, length: number): number | null {
  let c = 0;
  for (let done = 0; done < length; ) {
    const chunk = store.read(offset + done, Math.min(CRC_CHUNK, length - done));
    if (chunk.length === 0) return null;
    c = crc32(chunk, c);
    done += chunk.length;
  }
  return c >>> 0;
}

const CRC_CHUNK = 16 * 1024 * 1024;

// ---- modelled costs (README.md, "Model") -----------------------------------------------------

/** Copying memory: 0.1 ns per byte (10 GB/s): a memory block into a buffer, or back into guest memory. */
export const COPY_NS_PER_BYTE = 0.1;
/** Installing a trace on a page (clearing its present bit or write-protecting it), batched. */
export const TRACE_NS_PER_PAGE = 2;
/** Marking a page absent before a lazy restore resumes the VM. */
export const SETUP_NS_PER_PAGE = 2;
/** How often the vCPU save threads' rate is looked at, and quiesce's look at IOs still in flight. */
export const RATE_WINDOW_NS = 10_000_000;
export const QUIESCE_POLL_NS = 100_000;

// ---- checkpoint files of the run -------------------------------------------------------------

/** A checkpoint file this run wrote or opened: its bytes, and the datastore file that times its IO. */
export interface CheckpointFile {
  key: string;
  datastore: string;
  name: string;
  store: ByteStore;
  sim: SimFile;
  /** Contents of every page at the checkpoint, when this run wrote it (for the restore's check). */
  snapshot: Float64Array | null;
  /** A save still writing it. */
  busy: boolean;
  /** The save that wrote it failed: the file is incomplete (and no real file is left of it). */
  failed?: boolean;
}

/**
 * Background threads must not starve the guest's own disk IO (the document: "throttled to avoid
 * IO contention with a VM that may be accessing the same disk"). While other IOs are in flight
 * on the datastore, a background thread spaces its IO blocks so that the background threads
 * together use at most `share` of the datastore's bandwidth; with nothing else in flight they
 * run at full speed.
 */
export class Throttle {
  waits = 0;
  waitNs = 0;
  /** IOs of this save or restore in flight on the datastore (they are not "others"). */
  ours = 0;

  constructor(
    private readonly k: PluginContext,
    private readonly datastore: string,
    private readonly share: number,
    private readonly threads: number,
  ) {}

  /** Delay before a background IO of `bytes`, given that the thread's previous IO took `lastNs`. */
  delay(bytes: number, lastNs: number): number {
    const ds = this.k.storage.datastore(this.datastore);
    const others = ds.inFlight - this.ours;
    if (others <= 0 || this.share >= 1) return 0;
    const perThread = (this.share * ds.bandwidth) / Math.max(1, this.threads);
    const d = Math.max(0, Math.round((bytes / perThread) * 1e9 - lastNs));
    if (d > 0) {
      this.waits++;
      this.waitNs += d;
    }
    return d;
  }
}

/** A deterministic stand-in for device state bytes: pages of a private random kind named by the VM. */
export function deviceStateIdentity(vm: string, i: number): number {
  let h = 0x811c9dc5;
  for (let j = 0; j < vm.length; j++) h = Math.imul(h ^ vm.charCodeAt(j), 0x01000193);
  return 2 * 2 ** 48 + ((h >>> 0) % 16384) * 2 ** 34 + 2 ** 33 + i;
}
