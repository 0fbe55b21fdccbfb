// Every path a scenario or a flag names, against every kind of file-system target: the right
// kind, missing, a missing parent, the wrong kind (a folder for a file, a file for a folder),
// links inside and out of the tree, a dangling link, a FIFO, /dev/null, a /proc file, a path
// through a file and a path through a linked folder. Each cell either succeeds (the kinds a
// user would expect to work) or is refused with a code and a sentence; in every cell nothing
// crashes or hangs, nothing outside what was named changes, special files stay what they
// were, and no temporary file is left behind (docs/security.md).
import t, { type Test } from "tap";
import { spawn } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { VmscnError } from "../../core/errors.js";
import { run, type RunOutcome } from "../../app/pipeline.js";
import { BUNDLE, mkfifo, NO_FIFO, otherDir } from "./helpers.js";

// About 90 processes of the command, two at a time: a minute or two on a loaded machine, more
// than tap's default per-file limit (a hang is caught per cell, by vmscn()'s own limit).
t.setTimeout(600_000);

const KINDS = ["expected", "missing", "missing-parent", "wrong-type", "link-in", "link-out", "dangling", "fifo", "dev-null", "proc", "not-a-folder", "link-folder-out"] as const;
type Kind = (typeof KINDS)[number];

/** What a role holds when it is right: a file's bytes, or a folder's files. */
type Valid = { file: Buffer | string } | { folder: Record<string, string> };

const SENTINEL = "keep me\n";

/**
 * Makes a target of `kind` called `name` in folder `base` and gives the path to name it by:
 * relative to `base`, or absolute for /dev/null and /proc. A link out leads to `outside`,
 * where the valid content is too (a read through it would find a good file: only the rule
 * refuses it), except for outputs, whose link out leads to the sentinel.
 */
function target(kind: Kind, base: string, name: string, valid: Valid, outside: string, output: boolean): string | null {
  mkdirSync(base, { recursive: true });
  const put = (path: string): void => {
    mkdirSync(dirname(path), { recursive: true });
    if ("file" in valid) writeFileSync(path, valid.file);
    else {
      mkdirSync(path, { recursive: true });
      for (const [n, text] of Object.entries(valid.folder)) writeFileSync(join(path, n), text);
    }
  };
  switch (kind) {
    case "expected":
      put(join(base, name));
      return name;
    case "missing":
      return name;
    case "missing-parent":
      return join("nope", "deeper", name);
    case "wrong-type":
      if ("file" in valid) mkdirSync(join(base, name));
      else writeFileSync(join(base, name), "a file where a folder should be\n");
      return name;
    case "link-in":
      put(join(base, `real-${name}`));
      symlinkSync(join(base, `real-${name}`), join(base, name));
      return name;
    case "link-out":
      if (output) symlinkSync(join(outside, "sentinel.txt"), join(base, name));
      else {
        put(join(outside, name));
        symlinkSync(join(outside, name), join(base, name));
      }
      return name;
    case "dangling":
      symlinkSync(join(outside, "nowhere", name), join(base, name));
      return name;
    case "fifo":
      return mkfifo(join(base, name)) ? name : null;
    case "dev-null":
      return "/dev/null";
    case "proc":
      return output ? "/proc/self/x.json" : "/proc/self/status";
    case "not-a-folder":
      writeFileSync(join(base, "plain.txt"), "plain\n");
      return join("plain.txt", name);
    case "link-folder-out":
      if (!output) put(join(outside, name));
      symlinkSync(outside, join(base, "lnk"));
      return join("lnk", name);
  }
}

/** Every `.tmp-` name under `dir`, links not followed. */
function temporaries(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.includes(".tmp-")) out.push(join(dir, e.name));
    if (e.isDirectory()) out.push(...temporaries(join(dir, e.name)));
  }
  return out;
}

/** What holds after every cell, whatever it did. */
function invariants(t: Test, cell: string, root: string, outside: string, fifo: string | null): void {
  t.equal(readFileSync(join(outside, "sentinel.txt"), "utf8"), SENTINEL, `${cell}: the file outside is untouched`);
  t.notOk(temporaries(root).length + temporaries(outside).length, `${cell}: no temporary file left`);
  t.notOk(readdirSync(outside).includes("nowhere"), `${cell}: nothing made where a dangling link points`);
  t.ok(statSync("/dev/null").isCharacterDevice(), `${cell}: /dev/null is still a device`);
  if (fifo) t.ok(lstatSync(fifo).isFIFO(), `${cell}: the FIFO is still a FIFO`);
}

interface Role {
  name: string;
  /** Where the target goes, under the scenario's folder `sc` (and its output folder `out`). */
  base: (sc: string, out: string) => string;
  file: string;
  valid: (ckpt: Buffer) => Valid;
  output: boolean;
  /** The kinds that work; `any` kinds may work or be refused (only the invariants hold). */
  ok: readonly Kind[];
  any?: readonly Kind[];
}

const PLATFORM = "host b { cpus 1  memory 1 GiB }\n";
const VM = `  host a { cpus 1  memory 1 GiB }
  datastore san { shared-by a  bandwidth 1 GB/s }
  vm web on a { vcpus 1  memory 4 MiB  disk san 1 GiB  initial random 100% }
`;

// ---- paths a scenario names, through the pipeline ------------------------------------------

interface ScenarioRole extends Role {
  /** The scenario that names `path`. */
  text: (path: string) => string;
  /** Named by its absolute path (a `file` is a name relative to the datastore's folder). */
  absolute: boolean;
}

const SCENARIO_ROLES: ScenarioRole[] = [
  {
    name: "import",
    absolute: true,
    base: (sc) => sc,
    file: "p.vmscn",
    valid: () => ({ file: PLATFORM }),
    output: false,
    ok: ["expected", "link-in"],
    text: (p) => `import ${JSON.stringify(p)}\nscenario "s" {\n  host a { cpus 1  memory 1 GiB }\n  run until 1 s\n}\n`,
  },
  {
    name: "trace",
    absolute: true,
    base: (sc) => sc,
    file: "w.trace",
    valid: () => ({ file: "0 w 1\n" }),
    output: false,
    ok: ["expected", "link-in"],
    text: (p) => `scenario "s" {\n${VM.replace("initial random 100%", `initial random 100%  workload { trace ${JSON.stringify(p)} }`)}  at 0 s: start web\n  run until 1 s\n}\n`,
  },
  {
    name: "restore path",
    absolute: true,
    base: (sc) => sc,
    file: "c.ckpt",
    valid: (ckpt) => ({ file: ckpt }),
    output: false,
    ok: ["expected", "link-in"],
    text: (p) => `scenario "s" {\n${VM}  at 1 s: restore web from san { path ${JSON.stringify(p)} }\n  run until 2 s\n}\n`,
  },
  {
    name: "restore file",
    absolute: false,
    base: (_sc, out) => join(out, "san"),
    file: "c.ckpt",
    valid: (ckpt) => ({ file: ckpt }),
    output: false,
    ok: ["expected"],
    text: (p) => `scenario "s" {\n${VM}  at 1 s: restore web from san { file ${JSON.stringify(p)} }\n  run until 2 s\n}\n`,
  },
  {
    name: "checkpoint file",
    absolute: false,
    base: (_sc, out) => join(out, "san"),
    file: "c.ckpt",
    valid: () => ({ file: "an older file\n" }),
    output: true,
    ok: ["expected", "missing", "missing-parent"],
    text: (p) => `scenario "s" {\n${VM}  at 0 s: start web\n  at 100 ms: checkpoint web to san { file ${JSON.stringify(p)} }\n  run until 2 s\n}\n`,
  },
];

/** Whether the run did all it was asked, or was refused cleanly: a code in a diagnostic or in a failed action. */
function outcomeOf(o: RunOutcome): { ok: boolean; crash?: string; refusal?: string } {
  const errors = o.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) return { ok: false, refusal: `${errors[0]!.code} ${errors[0]!.message}` };
  if (o.error) return o.error.code === "VMSCN6006" || o.error.code === "VMSCN5003" ? { ok: false, crash: o.error.describe() } : { ok: false, refusal: o.error.describe() };
  const failed = o.kernel!.actionLog().find((a) => a.state !== "done");
  if (failed) return /VMSCN\d{4}/.test(failed.failure ?? "") ? { ok: false, refusal: failed.failure! } : { ok: false, crash: `${failed.verb} ${failed.state}: ${failed.failure ?? "no failure given"}` };
  return { ok: true };
}

/** A valid checkpoint file of VM web (4 MiB, random pages), made by a run. */
async function checkpointBytes(t: Test): Promise<Buffer> {
  const dir = otherDir(t, { "s.vmscn": `scenario "s" {\n${VM}  at 0 s: start web\n  at 100 ms: checkpoint web to san { file "c.ckpt" }\n  run until 2 s\n}\n` });
  const o = await run(join(dir, "s.vmscn"), { outDir: join(dir, "out") });
  if (o.error || o.diagnostics.length > 0) throw new Error(`the checkpoint for the targets did not save: ${o.error?.describe() ?? o.diagnostics[0]!.message}`);
  return readFileSync(join(dir, "out", "san", "c.ckpt"));
}

t.test("paths a scenario names: import, trace, restore path, restore file, checkpoint file", async (t) => {
  const ckpt = await checkpointBytes(t);
  for (const role of SCENARIO_ROLES) {
    for (const kind of KINDS) {
      const cell = `${role.name} × ${kind}`;
      if (kind === "fifo" && NO_FIFO) continue;
      const root = otherDir(t, { sc: {}, out: {}, outside: { "sentinel.txt": SENTINEL } });
      const [sc, out, outside] = [join(root, "sc"), join(root, "out"), join(root, "outside")];
      const base = role.base(sc, out);
      const name = target(kind, base, role.file, role.valid(ckpt), outside, role.output);
      if (name === null) continue;
      const named = role.absolute && !name.startsWith("/") ? join(base, name) : name;
      writeFileSync(join(sc, "s.vmscn"), role.text(named));
      let o: RunOutcome;
      try {
        o = await run(join(sc, "s.vmscn"), { outDir: out });
      } catch (err) {
        t.fail(`${cell}: run threw ${err instanceof VmscnError ? err.describe() : ((err as Error).stack ?? String(err))}`);
        continue;
      }
      const r = outcomeOf(o);
      t.equal(r.crash, undefined, `${cell}: no crash`);
      if (role.ok.includes(kind)) t.ok(r.ok, `${cell}: works${r.refusal ? ` (refused: ${r.refusal})` : ""}`);
      else if (!role.any?.includes(kind)) t.match(r.refusal, /VMSCN\d{4}/, `${cell}: refused with a code`);
      invariants(t, cell, root, outside, kind === "fifo" ? join(base, name) : null);
    }
  }
});

// ---- paths a flag names, through the command -----------------------------------------------

interface FlagRole extends Role {
  /** The command's arguments, naming `path` (relative to `sc`, the working folder). */
  args: (path: string) => string[];
}

const PASSING = `scenario "p" {\n  host a { cpus 1  memory 1 GiB }\n  run until 1 s\n  expect a.cpus == 1\n}\n`;
const SAVING = `scenario "s" {\n${VM}  at 0 s: start web\n  at 100 ms: checkpoint web to san { file "c.ckpt" }\n  run until 1 s\n}\n`;

const FLAG_ROLES: FlagRole[] = [
  { name: "--json", base: (sc) => sc, file: "r.json", valid: () => ({ file: "old\n" }), output: true, ok: ["expected", "missing", "missing-parent", "link-folder-out"], args: (p) => ["run", "p.vmscn", "--json", p] },
  { name: "--trace", base: (sc) => sc, file: "t.json", valid: () => ({ file: "old\n" }), output: true, ok: ["expected", "missing", "missing-parent", "link-folder-out"], args: (p) => ["run", "p.vmscn", "--trace", p] },
  {
    name: "--out",
    base: (sc) => sc,
    file: "out",
    valid: () => ({ folder: {} }),
    output: true,
    ok: ["expected", "missing", "missing-parent", "link-folder-out"],
    any: ["link-in", "link-out"],
    args: (p) => ["run", "s.vmscn", "--out", p],
  },
  { name: "run FILE", base: (sc) => sc, file: "m.vmscn", valid: () => ({ file: PASSING }), output: false, ok: ["expected", "link-in", "link-out", "link-folder-out"], args: (p) => ["run", p] },
  { name: "check FILE", base: (sc) => sc, file: "m.vmscn", valid: () => ({ file: PASSING }), output: false, ok: ["expected", "link-in", "link-out", "link-folder-out"], args: (p) => ["check", p] },
  { name: "checkpoint inspect FILE", base: (sc) => sc, file: "c.ckpt", valid: (ckpt) => ({ file: ckpt }), output: false, ok: ["expected", "link-in", "link-out", "link-folder-out"], args: (p) => ["checkpoint", "inspect", p, "--verify"] },
  {
    name: "test PATH",
    base: (sc) => sc,
    file: "suite",
    valid: () => ({ folder: { "p.vmscn": PASSING } }),
    output: false,
    ok: ["expected", "link-in", "link-out", "link-folder-out"],
    args: (p) => ["test", p, "--jobs", "1"],
  },
];

interface Ran {
  code: number | null;
  out: string;
  err: string;
  timedOut: boolean;
}

/** The bundle, as a user runs it, with a time limit: a hang is a failure, not a stuck suite. */
function vmscn(cwd: string, args: string[], limitMs = 90_000): Promise<Ran> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BUNDLE, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, out, err, timedOut });
    });
  });
}

t.test("paths a flag names: --json, --trace, --out, the scenario file, checkpoint inspect, test PATH", { skip: statExists(BUNDLE) ? false : "dist/vmscn.js is missing: run `npm run build`" }, async (t) => {
  const ckpt = await checkpointBytes(t);
  // Two cells at a time: each is a process of its own.
  const cells: (() => Promise<void>)[] = [];
  for (const role of FLAG_ROLES) {
    for (const kind of KINDS) {
      if (kind === "fifo" && NO_FIFO) continue;
      cells.push(async () => {
        const cell = `${role.name} × ${kind}`;
        const root = otherDir(t, { sc: { "p.vmscn": PASSING, "s.vmscn": SAVING }, outside: { "sentinel.txt": SENTINEL } });
        const [sc, outside] = [join(root, "sc"), join(root, "outside")];
        const name = target(kind, role.base(sc, join(sc, "out")), role.file, role.valid(ckpt), outside, role.output);
        if (name === null) return;
        const r = await vmscn(sc, role.args(name));
        t.notOk(r.timedOut, `${cell}: ends`);
        t.ok(r.code !== null && [0, 1, 2, 3].includes(r.code), `${cell}: an exit code (${r.code})`);
        t.notMatch(r.err, /internal error|\n\s+at /, `${cell}: no internal error, no stack trace`);
        if (role.ok.includes(kind)) t.equal(r.code, 0, `${cell}: works${r.code === 0 ? "" : `: ${r.err.split("\n")[0]}`}`);
        else if (!role.any?.includes(kind)) {
          t.not(r.code, 0, `${cell}: refused`);
          t.match(r.err + r.out, /^vmscn: |VMSCN\d{4}|not ok 1/m, `${cell}: with a sentence`);
        }
        invariants(t, cell, root, outside, kind === "fifo" ? join(sc, name) : null);
      });
    }
  }
  const next = async (): Promise<void> => {
    for (let c = cells.shift(); c; c = cells.shift()) await c();
  };
  await Promise.all([next(), next()]);
});

function statExists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
