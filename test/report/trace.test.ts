import "reflect-metadata";
import t from "tap";
import { container } from "tsyringe";
import { TOKENS } from "../../core/di/tokens.js";
import type { SpanSink } from "../../core/plugin-host/context.js";
import { TraceRecorder } from "../../core/report/trace.js";
import { MS, SECOND, US } from "../../core/sim/time.js";

function recorder(): TraceRecorder {
  const r = new TraceRecorder();
  r.enabled = true;
  return r;
}

t.test("spans, instants and counters with pid/tid in first-seen order", (t) => {
  const r = recorder();
  r.span("round 1", "migration", { host: "a", world: "web" }, 0, 1500, { pages: 512 });
  r.instant("switch-over", "migration", { host: "b", world: "web" }, 2 * MS);
  r.span("scan", "ksm", { host: "a", world: "ksmd" }, 10 * US, 10 * US + 1);
  r.counter("memory", "b", 1 * SECOND, { used: 4096, free: 1024 });
  r.instant("link down", "net", { host: "a" }, 3 * MS, { link: "l1" });
  r.instant("action", "scenario", {}, 0);
  t.same(r.toJSON(), {
    traceEvents: [
      { name: "process_name", ph: "M", pid: 1, tid: 0, args: { name: "a" } },
      { name: "thread_name", ph: "M", pid: 1, tid: 1, args: { name: "web" } },
      { name: "process_name", ph: "M", pid: 2, tid: 0, args: { name: "b" } },
      { name: "thread_name", ph: "M", pid: 2, tid: 1, args: { name: "web" } },
      { name: "thread_name", ph: "M", pid: 1, tid: 2, args: { name: "ksmd" } },
      { name: "thread_name", ph: "M", pid: 1, tid: 0, args: { name: "a" } },
      { name: "process_name", ph: "M", pid: 3, tid: 0, args: { name: "cluster" } },
      { name: "thread_name", ph: "M", pid: 3, tid: 0, args: { name: "cluster" } },
      { name: "round 1", cat: "migration", ph: "X", pid: 1, tid: 1, ts: 0, dur: 1.5, args: { pages: 512 } },
      { name: "switch-over", cat: "migration", ph: "i", s: "t", pid: 2, tid: 1, ts: 2000 },
      { name: "scan", cat: "ksm", ph: "X", pid: 1, tid: 2, ts: 10, dur: 0.001 },
      { name: "memory", ph: "C", pid: 2, ts: 1_000_000, args: { used: 4096, free: 1024 } },
      { name: "link down", cat: "net", ph: "i", s: "t", pid: 1, tid: 0, ts: 3000, args: { link: "l1" } },
      { name: "action", cat: "scenario", ph: "i", s: "t", pid: 3, tid: 0, ts: 0 },
    ],
    displayTimeUnit: "ns",
    otherData: { generator: "vmscn", kernel: "1.0.0" },
  });
  t.equal(r.size, 6);
  t.end();
});

t.test("begin/end pairs become complete events; open spans are written as begins", (t) => {
  const r = recorder();
  const a = r.begin("precopy", "migration", { host: "a", world: "web" }, 1000, { round: 1 });
  const b = r.begin("fetch", "postcopy", { host: "b" }, 2000);
  const c = r.begin("save", "checkpoint", { host: "a", world: "web" }, 3000);
  t.same([a, b, c], [1, 2, 3]);
  r.end(a, 5000, { rounds: 4 });
  r.end(b, 2500);
  t.same(r.toJSON().traceEvents.slice(4), [
    { name: "precopy", cat: "migration", ph: "X", pid: 1, tid: 1, ts: 1, dur: 4, args: { round: 1, rounds: 4 } },
    { name: "fetch", cat: "postcopy", ph: "X", pid: 2, tid: 0, ts: 2, dur: 0.5 },
    { name: "save", cat: "checkpoint", ph: "B", pid: 1, tid: 1, ts: 3 },
  ]);
  const d = r.begin("restore", "checkpoint", { host: "a" }, 4000, { file: "web.ckpt" });
  t.same(r.toJSON().traceEvents.at(-1), { name: "restore", cat: "checkpoint", ph: "B", pid: 1, tid: 0, ts: 4, args: { file: "web.ckpt" } });
  r.end(d, 4000);
  t.throws(() => r.end(a, 6000), { code: "VMSCN5011", message: "trace: end() of span 1, which is not open" });
  t.throws(() => r.span("x", "y", { host: "a" }, 10, 5), {
    code: "VMSCN5011",
    message: 'trace: span "x" ends at 5 ns, before it starts at 10 ns',
  });
  t.end();
});

t.test("disabled: every call is a no-op", (t) => {
  const r = new TraceRecorder();
  t.equal(r.enabled, false);
  r.span("x", "c", { host: "a", world: "w" }, 0, 1);
  r.instant("x", "c", { host: "a" }, 0);
  r.counter("x", "a", 0, { v: 1 });
  const token = r.begin("x", "c", { host: "a" }, 0);
  t.equal(token, 0);
  r.end(token, 5);
  t.same(r.toJSON().traceEvents, []);
  t.equal(r.size, 0);
  t.end();
});

t.test("the file: one event per line, keys sorted, the same every time", (t) => {
  const make = () => {
    const r = recorder();
    r.otherData.scenario = "precopy.vmscn";
    r.span("round 1", "migration", { host: "a", world: "web" }, 0, 1500);
    r.counter("memory", undefined, 0, { used: 1 });
    return r;
  };
  const text = make().toText();
  t.equal(
    text,
    `{"displayTimeUnit":"ns","otherData":{"generator":"vmscn","kernel":"1.0.0","scenario":"precopy.vmscn"},"traceEvents":[
{"args":{"name":"a"},"name":"process_name","ph":"M","pid":1,"tid":0},
{"args":{"name":"web"},"name":"thread_name","ph":"M","pid":1,"tid":1},
{"args":{"name":"cluster"},"name":"process_name","ph":"M","pid":2,"tid":0},
{"cat":"migration","dur":1.5,"name":"round 1","ph":"X","pid":1,"tid":1,"ts":0},
{"args":{"used":1},"name":"memory","ph":"C","pid":2,"ts":0}
]}
`,
  );
  t.same(JSON.parse(text), JSON.parse(JSON.stringify(make().toJSON())));
  t.equal(new TraceRecorder().toText(), `{"displayTimeUnit":"ns","otherData":{"generator":"vmscn","kernel":"1.0.0"},"traceEvents":[]}\n`);
  t.end();
});

t.test("TraceRecorder resolves from a container and is a plugin's span sink", (t) => {
  const c = container.createChildContainer();
  c.registerSingleton(TOKENS.Trace, TraceRecorder);
  const r = c.resolve<TraceRecorder>(TOKENS.Trace);
  t.ok(r instanceof TraceRecorder);
  const sink: SpanSink = r;
  r.enabled = true;
  sink.span("x", "c", { world: "w" }, 0, 1000);
  t.same(r.toJSON().traceEvents.at(-1), { name: "x", cat: "c", ph: "X", pid: 1, tid: 1, ts: 0, dur: 1 });
  t.end();
});
