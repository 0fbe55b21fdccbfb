// The migration's one state machine: the document's paths are legal, anything else is a bug
// (VMSCN5014, which stops the run), and each state has its QEMU status.
import t from "tap";
import { VmscnError, classify } from "../../core/api.js";
import { STATUS, cancellable, ended, statusOf, transition, type State } from "./state.js";

const walk = (path: State[]): State => path.slice(1).reduce((from, to) => transition("web", from, to, 0, "web@a"), path[0]!);

t.test("the document's paths: stop-and-copy, post-copy, pure demand paging", async (t) => {
  t.equal(walk(["setup", "precopy", "switch-over", "stop-and-copy", "device-state", "completed"]), "completed");
  t.equal(walk(["setup", "precopy", "switch-over", "device-state", "postcopy", "completed"]), "completed");
  t.equal(walk(["setup", "precopy", "switch-over", "stop-and-copy", "device-state", "postcopy", "completed"]), "completed");
});

t.test("a failure ends every state not ended already", async (t) => {
  for (const s of ["setup", "precopy", "switch-over", "stop-and-copy", "device-state", "postcopy"] as const) {
    t.equal(transition("web", s, "failed", 0, "web@a"), "failed", s);
    t.notOk(ended(s), s);
  }
  t.ok(ended("completed"));
  t.ok(ended("failed"));
});

t.test("anything else is refused as a broken invariant", async (t) => {
  for (const [from, to] of [["setup", "completed"], ["precopy", "postcopy"], ["postcopy", "precopy"], ["completed", "failed"], ["failed", "completed"], ["device-state", "stop-and-copy"]] as const) {
    let thrown: unknown;
    try {
      transition("web", from, to, 7, "web@a");
    } catch (e) {
      thrown = e;
    }
    t.ok(thrown instanceof VmscnError, `${from} → ${to}`);
    t.match(thrown, { code: "VMSCN5014", message: `migration of "web" cannot go from ${from} to ${to}`, time: 7 });
    t.equal(classify(thrown), "fatal", "it stops the run");
  }
});

t.test("QEMU's status of each state", async (t) => {
  t.same(Object.entries(STATUS), [
    ["setup", "setup"],
    ["precopy", "active"],
    ["switch-over", "active"],
    ["stop-and-copy", "active"],
    ["device-state", "active"],
    ["postcopy", "postcopy-active"],
    ["completed", "completed"],
    ["failed", "failed"],
    ["cancelled", "cancelled"],
  ]);
});

t.test("a cancel (QEMU's migrate_cancel) ends any state before the VM runs on the destination, and no other", async (t) => {
  for (const s of ["setup", "precopy", "switch-over", "stop-and-copy", "device-state"] as const) {
    t.ok(cancellable(s), s);
    t.equal(transition("web", s, "cancelled", 0, "web@a"), "cancelled", s);
  }
  for (const s of ["postcopy", "completed", "failed", "cancelled"] as const) t.notOk(cancellable(s), s);
  t.ok(ended("cancelled"));
  t.throws(() => transition("web", "postcopy", "cancelled", 0, "web@a"), { code: "VMSCN5014" });
});

t.test("QEMU's status through the switch-over: active before a completion, postcopy-active before a post-copy", async (t) => {
  for (const s of ["switch-over", "stop-and-copy", "device-state"] as const) {
    t.equal(statusOf(s, false), "active", s);
    t.equal(statusOf(s, true), "postcopy-active", s);
  }
  t.equal(statusOf("precopy", true), "active", "pre-copy itself is active either way");
  t.equal(statusOf("setup", true), "setup");
  t.equal(statusOf("completed", true), "completed");
});
