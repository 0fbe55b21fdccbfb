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
