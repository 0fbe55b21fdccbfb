// The lazy checkpoint plugin (US 9,053,065): `checkpoint` saves a VM's state into a real
// checkpoint file while the VM runs (vCPU save threads fault blocks in as the guest touches
// them, background threads save the rest), `restore` resumes a VM before its memory is loaded
// (vCPU faults and background threads load it from the file). Compression comes from the
// compression plugin's service. See README.md and docs/checkpoint-format.md.
import { basename, relative, resolve, sep } from "node:path";
import { VmscnError, definePlugin, kernelError, type PluginContext, type World } from "../../core/api.js";
import { MAX_DEVICE_STATE, MAX_MAPS_BYTES } from "./format.js";
import { checkpointReport, restoreReport } from "./report.js";
import { CHECKPOINT_ARGS, CHECKPOINT_OPTIONS, RESTORE_ARGS, RESTORE_OPTIONS, checkCheckpoint, checkRestore, defaultDatastore, parseCheckpoint, parseRestore, type CheckpointOptions } from "./options.js";
import { Restore } from "./restore/restore.js";
import { Save } from "./save/save.js";
import { PLUGIN, type CheckpointFile } from "./shared.js";
import { FileStore, MemoryStore, StoreRefusal, type ByteStore } from "./store.js";

export const CHECKPOINT_CODES = {
  VMSCN7301: "a checkpoint file is corrupt (bad magic, checksum mismatch, malformed map or record)",
  VMSCN7302: "a checkpoint file is truncated",
  VMSCN7303: "a checkpoint file has a format version (or codec) this vmscn does not read",
  VMSCN7304: "a checkpoint does not fit the VM (memory size or page size differs)",
  VMSCN7305: "a checkpoint file is incomplete: its save did not finish",
  VMSCN7306: "a checkpoint file cannot be found",
  VMSCN7307: "no space left for a checkpoint file (disk full)",
  VMSCN7308: "a checkpoint save or restore of the VM, or of the file, is already under way",
  VMSCN7309: "a checkpoint save or restore was interrupted (host crash, IO failure, VM stopped, helper killed)",
  VMSCN7310: "a checkpoint file's path is refused: a symbolic link or a special file (folder, FIFO, device, socket) where the file or a folder on its way should be, or a name that leaves the output folder",
  VMSCN7311: "another process took a checkpoint file's name while a save wrote it (two runs sharing an output folder): the save is dropped rather than overwrite it",
} as const;

export default definePlugin({
  name: PLUGIN,
  version: "1.0.0",
  kernel: "^1",
  requires: ["compression"],
  description: "lazy checkpoint save and restore with a real checkpoint file (memory blocks, IO blocks, memory-IO and IO-memory maps), optionally compressed",
  codes: CHECKPOINT_CODES,
  register(k) {
    const svc = k.use("compression");
    const files = new Map<string, CheckpointFile>();
    const saves = new Map<string, { last: Save; count: number }>();
    const restores = new Map<string, Restore>();
    const busy = new Map<World, Save | Restore>();
    const byGuest = new Map<unknown, Save | Restore>();
    let seq = 0;

    k.verb("checkpoint", {
      description: "saves a VM's state to a checkpoint file, lazily (the VM runs meanwhile) or while it is suspended",
      args: CHECKPOINT_ARGS,
      options: CHECKPOINT_OPTIONS,
      async: true,
      check: checkCheckpoint,
      run(call) {
        const o = parseCheckpoint(call);
        const world = vmOf(k, o.vm);
        const ds = datastoreFor(k, world, o.datastore);
        // Checked now so a bad request fails before anything starts.
        if (o.compression !== "none") svc.codec(o.compression, o.level);
        let n = 0;
        let failed: string | undefined;
        const one = (): void => {
          n++;
          const s = beginSave(world, ds, o, n, (end) => {
            if (end.state === "failed") {
              // A failed save ends its series: the action fails with it, and the report's save is this one.
              failed ??= k.error(end.failureCode!, end.failure!).describe();
              n = o.count;
            }
            if (n >= o.count) call.done(failed ? { failed } : undefined);
          });
          try {
            s.start();
          } catch (err) {
            if (!(err instanceof VmscnError)) throw err;
            s.fail(err.code, err.message);
          }
        };
        one();
        if (o.count > 1) {
          // A checkpoint on a timer (step 401): the next save starts a period after this one started, or when it ends.
          const tick = (): void => {
            if (n >= o.count) return;
            const cur = busy.get(world);
            if (cur instanceof Save && !cur.ended) {
              k.after(1_000_000, tick, "checkpoint timer");
              return;
            }
            try {
              one();
            } catch (err) {
              if (!(err instanceof VmscnError)) throw err;
              failed ??= err.describe();
              n = o.count;
              call.done({ failed });
              return;
            }
            if (n < o.count) k.after(o.every, tick, "checkpoint timer");
          };
          k.after(o.every, tick, "checkpoint timer");
        }
      },
    });

    function beginSave(world: World, ds: string, o: CheckpointOptions, n: number, onEnd: (s: Save) => void): Save {
      if (world.state === "stopped") throw k.error("VMSCN5004", `cannot checkpoint VM "${world.name}": it is stopped`, world.label);
      const cur = busy.get(world);
      if (cur && !cur.ended) throw k.error("VMSCN7308", `VM "${world.name}" has a checkpoint ${cur instanceof Save ? "save" : "restore"} under way (file "${cur.file.key}")`, world.label);
      // A save copies the pages on the VM's host: pages still on their way (a migration's
      // post-copy, a lazy restore) or read from another host (RDMA) would change under it.
      const c = world.memory!.census();
      const away = c.absentRestore + c.absentFetch + c.remote;
      if (away > 0) throw k.error("VMSCN5011", `cannot save VM "${world.name}" now: ${away} of its pages are not on host "${world.host.name}" yet (a migration's post-copy, a lazy restore, or pages read over RDMA); save it once they are`, world.label);
      const device = k.vmInfo(world)?.deviceStateBytes ?? 0;
      // What a restore would refuse to read, a save does not write (docs/checkpoint-format.md, "Limits").
      if (device > MAX_DEVICE_STATE) throw k.error("VMSCN5011", `cannot checkpoint VM "${world.name}": its device state of ${device} bytes is more than a checkpoint file holds (${MAX_DEVICE_STATE} bytes)`, world.label);
      const maps = Save.mapsBytes(world.memory!.pages, o, world.vcpus);
      if (maps > MAX_MAPS_BYTES) throw k.error("VMSCN5011", `cannot checkpoint VM "${world.name}": the maps of its ${world.memory!.pages} pages in memory blocks of ${o.pagesPerBlock} would take ${maps} bytes, more than a checkpoint file holds (${MAX_MAPS_BYTES} bytes); use larger blocks (block-pages)`, world.label);
      const name = fileName(o, world.name, n);
      const capacity = Save.capacity(world.memory!.pages, device, o, world.vcpus);
      const id = seq + 1;
      const previous = files.get(`${ds}/${name}`);
      const file = openForSave(ds, name, capacity);
      seq = id;
      const session = o.compression === "none" ? null : svc.session(`checkpoint:${world.name}`, svc.codec(o.compression, o.level));
      const s = new Save(k, world, o, file, session, id, (end) => {
        byGuest.delete(end.guest);
        // A failed save never replaced the file it would have: a complete one of the same name stays.
        if (end.state === "failed" && previous && !previous.failed) files.set(file.key, previous);
        onEnd(end);
      });
      busy.set(world, s);
      byGuest.set(s.guest, s);
      const rec = saves.get(world.name);
      saves.set(world.name, { last: s, count: (rec?.count ?? 0) + 1 });
      return s;
    }

    function fileName(o: CheckpointOptions, vm: string, n: number): string {
      const base = o.file ?? `${vm}.ckpt`;
      if (o.count <= 1) return base;
      const dot = base.lastIndexOf(".");
      return dot > 0 ? `${base.slice(0, dot)}-${n}${base.slice(dot)}` : `${base}-${n}`;
    }

    /** The file a save writes: a real file under the output folder (or bytes in memory) and its datastore file. */
    function openForSave(ds: string, name: string, capacity: number): CheckpointFile {
      const key = `${ds}/${name}`;
      const old = files.get(key);
      if (old && (old.busy || readers(old) > 0)) throw k.error("VMSCN7308", `checkpoint file "${key}" is being ${old.busy ? "written" : "read"}`);
      let sim = old?.sim;
      if (sim && sim.size < capacity) throw k.error("VMSCN5006", `file "${name}" on datastore "${ds}" is too small for this checkpoint (${sim.size} of ${capacity} bytes)`);
      if (!sim && k.storage.datastore(ds).hasFile(name)) throw k.error("VMSCN5006", `file "${name}" already exists on datastore "${ds}" and is not a checkpoint file of this run`);
      const store = k.config.outDir === undefined ? new MemoryStore() : createReal(ds, name);
      if (!sim) {
        try {
          sim = k.storage.createFile(ds, name, capacity);
        } catch (err) {
          store.discard(0);
          if (err instanceof VmscnError && err.code === "VMSCN5016") throw k.error("VMSCN7307", `no space left on datastore "${ds}" for checkpoint file "${name}" (${err.message})`);
          throw err;
        }
      }
      old?.store.close();
      const f: CheckpointFile = { key, datastore: ds, name, store, sim, snapshot: null, busy: true };
      files.set(key, f);
      return f;
    }

    /** A save's real file, `<out>/<datastore>/<name>`: it stays inside the output folder, through no link (store.ts). */
    function createReal(ds: string, name: string): ByteStore {
      const outDir = k.config.outDir!;
      const { root, parts, base } = inside(outDir, ds, name);
      try {
        return FileStore.create(root, parts, base);
      } catch (err) {
        if (err instanceof StoreRefusal) throw k.error(err.code, `checkpoint file "${name}" on datastore "${ds}" is refused: ${err.message}`);
        const e = err as NodeJS.ErrnoException;
        if (e.code === "ENOSPC" || e.code === "EDQUOT") throw k.error("VMSCN7307", `no space left for checkpoint file "${name}" on datastore "${ds}": ${e.message}`);
        if (typeof e.code === "string") throw k.error("VMSCN7310", `checkpoint file "${name}" on datastore "${ds}" cannot be created under the output folder "${outDir}": ${e.message}`);
        throw err;
      }
    }

    /** Where `<out>/<datastore>/<name>` is: checked to stay inside the output folder, as the folders below it and the file's name. */
    function inside(outDir: string, ds: string, name: string, how = "stored"): { root: string; parts: string[]; base: string } {
      const root = resolve(outDir);
      const path = resolve(root, ds, name);
      if (!path.startsWith(resolve(root, ds) + sep)) throw k.error("VMSCN5011", `checkpoint file "${name}" on datastore "${ds}" would be ${how} outside the output folder "${outDir}"`);
      const parts = relative(root, path).split(sep);
      return { root, parts: parts.slice(0, -1), base: parts[parts.length - 1]! };
    }

    function readers(f: CheckpointFile): number {
      let n = 0;
      for (const r of restores.values()) if (r.file === f && !r.ended) n++;
      return n;
    }

    k.verb("restore", {
      description: "restores a VM from a checkpoint file lazily: the VM resumes before its memory is loaded",
      args: RESTORE_ARGS,
      options: RESTORE_OPTIONS,
      async: true,
      check: checkRestore,
      run(call) {
        const o = parseRestore(call);
        const world = vmOf(k, o.vm);
        if (world.state === "running" || world.state === "stopped") {
          throw k.error("VMSCN5004", `cannot restore VM "${world.name}": it is ${world.state} (a restore needs it created or suspended${world.state === "running" ? "; suspend it first" : ""})`, world.label);
        }
        const cur = busy.get(world);
        if (cur && !cur.ended) throw k.error("VMSCN7308", `VM "${world.name}" has a checkpoint ${cur instanceof Save ? "save" : "restore"} under way (file "${cur.file.key}")`, world.label);
        const ds = datastoreFor(k, world, o.datastore);
        // One operation on a VM's memory at a time: a migration under way refuses the restore
        // (VMSCN5011), and a migration asked for while pages are still absent is refused.
        const release = k.cluster.claim(world, "a lazy restore");
        let r: Restore;
        try {
          const file = openForRestore(ds, o.file ?? `${world.name}.ckpt`, o.path);
          r = new Restore(k, world, o, file, svc, ++seq, (end) => {
            release();
            byGuest.delete(end.guest);
            call.done(end.state === "failed" ? { failed: k.error(end.failureCode!, end.failure!).describe() } : undefined);
          });
        } catch (err) {
          release();
          throw err;
        }
        busy.set(world, r);
        byGuest.set(r.guest, r);
        restores.set(world.name, r);
        r.start();
      },
    });

    function openForRestore(ds: string, name: string, path: string | undefined): CheckpointFile {
      if (path === undefined) {
        const f = files.get(`${ds}/${name}`);
        if (f) {
          if (f.busy) throw k.error("VMSCN7305", `checkpoint file "${f.key}" is incomplete: its save has not finished`);
          return f;
        }
      }
      const outDir = k.config.outDir;
      if (path === undefined && outDir === undefined) throw k.error("VMSCN7306", `there is no checkpoint file ${ds}/${name} (this run wrote no such checkpoint and has no output folder to look in)`);
      const real = path !== undefined ? resolve(path) : resolve(outDir!, ds, name);
      let store: FileStore;
      try {
        if (path !== undefined) store = FileStore.openPath(real);
        else {
          const { root, parts, base } = inside(outDir!, ds, name, "read from");
          store = FileStore.openInside(root, parts, base);
        }
      } catch (err) {
        if (!(err instanceof StoreRefusal)) throw err;
        if (err.code === "VMSCN7306" && err.message === "it does not exist") throw k.error("VMSCN7306", `there is no checkpoint file "${real}"`);
        throw k.error(err.code, `checkpoint file "${real}" ${err.code === "VMSCN7306" ? "cannot be opened" : "is refused"}: ${err.message}`);
      }
      // The datastore file that times the reads: the checkpoint's name, made unique if taken.
      const dsObj = k.storage.datastore(ds);
      let simName = path === undefined ? name : basename(real);
      for (let i = 2; dsObj.hasFile(simName); i++) simName = `${path === undefined ? name : basename(real)}~${i}`;
      const sim = k.storage.createFile(ds, simName, store.size);
      const f: CheckpointFile = { key: `${ds}/${simName}`, datastore: ds, name: simName, store, sim, snapshot: null, busy: false };
      files.set(f.key, f);
      return f;
    }

    // vCPU save threads and accessed-bit sampling.
    const onTrace = (f: { guest: unknown; page: number; vcpu: number; kind: string }): number => {
      const s = byGuest.get(f.guest);
      return s instanceof Save ? s.fault(f.page, f.vcpu, f.kind) : 0;
    };
    k.onFault("access-trace", onTrace);
    k.onFault("write-trace", onTrace);
    // vCPU restore threads.
    k.onFault("absent-restore", (f) => {
      const r = byGuest.get(f.guest);
      return r instanceof Restore ? r.fault(f.page, f.vcpu) : 0;
    });

    // A world a save or restore depends on stopped or moved: each tells its own doing from
    // anyone else's by the cause.
    k.on("state-changed", (w, _from, to, cause) => {
      if (to !== "stopped") return;
      for (const x of [...busy.values()]) if (!x.ended) x.worldChanged(w, "stopped", cause);
    });
    k.on("destroyed", (w, cause) => {
      for (const x of [...busy.values()]) if (!x.ended) x.worldChanged(w, "stopped", cause);
    });
    k.on("moved", (w, _from, _to, cause) => {
      const x = busy.get(w);
      if (x && !x.ended) x.worldChanged(w, "moved", cause);
    });
    k.on("simulation-end", () => {
      for (const f of files.values()) f.store.close();
    });

    k.metric("checkpoint", () => {
      // Keyed by VM names: no prototype, so a VM named `__proto__` is a key like any other.
      const out = Object.create(null) as Record<string, Record<string, unknown>>;
      const now = k.scheduler.now;
      for (const [vm, s] of saves) out[vm] = { save: checkpointReport(s.last, now), saves: s.count };
      for (const [vm, r] of restores) out[vm] = { ...(out[vm] ?? {}), restore: restoreReport(r, now) };
      return out;
    });

    k.table(() => [
      {
        title: "checkpoint saves",
        columns: [{ name: "vm" }, { name: "file" }, { name: "status" }, { name: "downtime", unit: "ns" }, { name: "total time", unit: "ns" }, { name: "file size", unit: "B" }, { name: "vCPU blocks" }, { name: "background blocks" }],
        rows: [...saves.entries()].map(([vm, { last: s }]) => {
          const r = checkpointReport(s, k.scheduler.now);
          return [vm, s.file.key, s.state, (r["downtime"] as number | null) ?? null, r["total-time"] as number, s.fileLength, s.c.vcpuBlocks, s.c.backgroundBlocks];
        }),
      },
      {
        title: "checkpoint restores",
        columns: [{ name: "vm" }, { name: "file" }, { name: "status" }, { name: "time to resume", unit: "ns" }, { name: "faults" }, { name: "IO reads" }, { name: "fully restored", unit: "ns" }],
        rows: [...restores.entries()].map(([vm, r]) => {
          const x = restoreReport(r, k.scheduler.now);
          return [vm, r.file.key, r.state, (x["time-to-resume"] as number | null) ?? null, r.c.faults, r.c.ioReads, (x["total-time"] as number | null) ?? null];
        }),
      },
    ].filter((t) => t.rows.length > 0));
  },
});

function vmOf(k: PluginContext, name: string): World {
  const w = k.cluster.world(name);
  if (w.kind !== "vm" || !w.memory) throw kernelError("VMSCN5005", `"${name}" is a system world, not a VM`, { time: k.scheduler.now });
  return w;
}

function datastoreFor(k: PluginContext, world: World, named: string | undefined): string {
  const ds = named ?? defaultDatastore({ disks: (k.vmInfo(world)?.disks ?? []).map((d) => d.datastore.name) }, world.host);
  if (ds === undefined) throw k.error("VMSCN5012", `VM "${world.name}" has no disk and host "${world.host.name}" reaches no datastore: the checkpoint file has nowhere to go`, world.label);
  if (!k.storage.reachable(ds, world.host.name)) throw k.error("VMSCN5012", `host "${world.host.name}" of VM "${world.name}" cannot reach datastore "${ds}"`, world.label);
  return ds;
}
