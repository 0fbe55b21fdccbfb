// `vmscn test PATH`: a file may read in the folder PATH names (the user named that tree), the
// walk follows no links, and a special file in the suite fails alone instead of hanging it.
import "reflect-metadata";
import t from "tap";
import { symlinkSync } from "node:fs";
import { join, relative } from "node:path";
import { testCommand } from "../../cli/commands/test.js";
import { UsageError } from "../../cli/args.js";
import { mkfifo, NO_FIFO, otherDir } from "./helpers.js";

const MAIN = new URL("../../cli/main.ts", import.meta.url);

const PLATFORM = "host a { cpus 1  memory 1 GiB }\n";
const USES = (path: string) => `# description: uses a shared platform\nimport "${path}"\nscenario "s" {\n  run until 1 ms\n}\n`;

async function suite(argv: string[]) {
  const lines: string[] = [];
  const code = await testCommand([...argv, "--jobs", "1"], (s) => lines.push(s), MAIN);
  return { code, out: lines.join("\n") };
}

t.test("the suite's folder is the tree: a file in a subfolder imports a platform beside it", async (t) => {
  const dir = t.testdir({ "platform.vmscn": PLATFORM, sub: { "a.vmscn": USES("../platform.vmscn") } });
  const r = await suite([dir]);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /# files 2: 1 passed, 0 failed, 1 skipped/);
  // Run alone, the same file's tree is its own folder: the platform is outside it.
  const alone = await suite([join(dir, "sub/a.vmscn")]);
  t.equal(alone.code, 1);
  t.match(alone.out, /VMSCN0241: cannot import \\"\.\.\/platform\.vmscn\\": it is outside the folders this scenario may read/);
  // --allow-read widens it.
  t.equal((await suite([join(dir, "sub/a.vmscn"), "--allow-read", dir])).code, 0);
  await t.rejects(suite([dir, "--allow-read", join(dir, "nope")]), new UsageError(`--allow-read needs a folder, and ${join(dir, "nope")} does not exist`));
});

t.test("the walk follows no link: a linked scenario out of the tree is not collected", async (t) => {
  const outside = otherDir(t, { "x.vmscn": USES("/etc/passwd") });
  const dir = t.testdir({ "platform.vmscn": PLATFORM, "a.vmscn": USES("platform.vmscn") });
  symlinkSync(join(outside, "x.vmscn"), join(dir, "x.vmscn"));
  symlinkSync(outside, join(dir, "far"));
  const r = await suite([dir]);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /# files 2: 1 passed, 0 failed, 1 skipped/);
  t.notMatch(r.out, /x\.vmscn/);
});

t.test("a FIFO in the suite fails alone (VMSCN0242), named as PATH it is a usage error", { skip: NO_FIFO }, async (t) => {
  const dir = t.testdir({ "platform.vmscn": PLATFORM, "a.vmscn": USES("platform.vmscn") });
  t.ok(mkfifo(join(dir, "f.vmscn")));
  const r = await suite([dir]);
  t.equal(r.code, 1);
  t.match(r.out, new RegExp(`not ok 2 - ${relative(process.cwd(), join(dir, "f.vmscn")).replace(/[.]/g, "\\.")}\\n[\\s\\S]*message: "cannot run: cannot read .*f\\.vmscn: it is a FIFO \\(named pipe\\), not a regular file \\(VMSCN0242\\)"`));
  t.match(r.out, /# files 3: 1 passed, 1 failed, 1 skipped/);
  await t.rejects(suite([join(dir, "f.vmscn")]), new UsageError(`${join(dir, "f.vmscn")} is neither a file nor a folder`));
});
