// The checkpoint and restore verbs' checks: what a scenario already tells is refused before
// the run (VMSCN0222).
import "reflect-metadata";
import t from "tap";
import { check } from "../../app/pipeline.js";

t.test("what the scenario already tells is refused at validation (VMSCN0222)", async (t) => {
  const text = `scenario "s" {
  host a { cpus 1  memory 1 GiB }
  host b { cpus 1  memory 1 GiB }
  datastore sb { on b  bandwidth 1 GB/s }
  datastore sa { on a  bandwidth 1 GB/s }
  vm web on a { vcpus 1  memory 4 MiB }
  at 1 s: checkpoint web to sb
  at 1 s: checkpoint web to sa { mode suspend  background-threads 0 }
  at 1 s: checkpoint web to sa { compression snappy  level 2 }
  at 1 s: checkpoint web to sa { count 3 }
  at 1 s: restore web from sa { file "x"  path "y" }
  run until 2 s
}`;
  const c = await check("inline.vmscn", { read: () => text });
  const msgs = c.diagnostics.filter((d) => d.code === "VMSCN0222").map((d) => d.message);
  t.equal(msgs.length, 5);
  t.match(msgs.join("\n"), /cannot reach datastore "sb"/);
  t.match(msgs.join("\n"), /needs at least one background thread/);
  t.match(msgs.join("\n"), /level is zlib's/);
  t.match(msgs.join("\n"), /needs a period/);
  t.match(msgs.join("\n"), /not both/);
  const none = await check("n.vmscn", { read: () => `scenario "n" {\n host a { cpus 1  memory 1 GiB }\n vm web on a { vcpus 1  memory 4 MiB }\n at 1 s: checkpoint web\n run until 2 s\n}` });
  t.match(none.diagnostics.map((d) => d.message).join("\n"), /has nowhere to go/);
});

t.test("a file name that leaves the datastore's folder is refused at validation, at the option", async (t) => {
  const refused = ["../x.ckpt", "../../etc/passwd", "/etc/passwd", "a/../../x", ".", "", "..", "a/.."];
  const kept = ["x.ckpt", "sub/x.ckpt", "./x.ckpt", "a/../x.ckpt"];
  const scenario = (file: string): string => `scenario "s" {
  host a { cpus 1  memory 1 GiB }
  datastore sa { on a  bandwidth 1 GB/s }
  vm web on a { vcpus 1  memory 4 MiB }
  at 1 s: checkpoint web to sa { file ${JSON.stringify(file)} }
  at 2 s: restore web from sa { file ${JSON.stringify(file)} }
  run until 3 s
}`;
  for (const file of refused) {
    const c = await check("f.vmscn", { read: () => scenario(file) });
    const ds = c.diagnostics.filter((d) => d.code === "VMSCN0222");
    t.same(
      ds.map((d) => [d.loc.line, d.loc.column]),
      [
        [5, 34],
        [6, 33],
      ],
      `${JSON.stringify(file)}: refused at both file options`,
    );
    t.match(ds[0]?.message, /is not a name inside the datastore's folder/);
  }
  for (const file of kept) {
    const c = await check("f.vmscn", { read: () => scenario(file) });
    t.same(c.diagnostics, [], `${JSON.stringify(file)} stays inside`);
  }
});
