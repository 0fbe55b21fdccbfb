import t from "tap";
import { setup } from "./helpers.js";
import { Trap } from "../../core/memory/page.js";

t.test("a dirty log holds exactly the pages written since it was last read", (t) => {
  const { memory } = setup(64);
  const g = memory.createGuest(0, "web", 40, 0);
  for (let p = 0; p < 40; p++) memory.populate(g, p, p + 1);
  const log = g.openLog("migration");
  for (const p of [3, 7, 3, 35, 0, 39]) memory.write(g, p, 500 + p);
  t.equal(log.count, 5);
  t.same([...log.readAndClear()], [0, 3, 7, 35, 39]);
  t.equal(log.count, 0);
  t.same([...log.readAndClear()], []);
  // cleared pages are armed again; others are not re-reported
  const pages = Int32Array.from([7, 8, 7, 31, 32]);
  const contents = Float64Array.from([1, 2, 3, 4, 5]);
  t.equal(memory.writeBatch(g, pages, contents, 0, 5), 5);
  t.same([...log.readAndClear()], [7, 8, 31, 32]);
  t.equal(memory.peek(g, 7), 3);
  t.equal(g.writes, 11);
  t.end();
});

t.test("two clients keep independent logs on the same guest", (t) => {
  const { memory } = setup(64);
  const g = memory.createGuest(0, "web", 16, 0);
  const a = g.openLog("migration");
  memory.write(g, 1, 10); // unbacked: allocation, and logged
  const b = g.openLog("checkpoint");
  memory.write(g, 2, 20);
  t.same([...a.readAndClear()], [1, 2]);
  memory.write(g, 2, 21);
  memory.write(g, 5, 50);
  t.same([...a.readAndClear()], [2, 5]);
  t.same([...b.readAndClear()], [2, 5]);
  a.close();
  memory.write(g, 6, 60);
  t.same([...b.readAndClear()], [6]);
  b.close();
  b.close();
  t.equal(g.logs.length, 0);
  t.equal(g.meta[6]! & Trap.Dirty, 0, "no log left: no trap left");
  t.end();
});

t.test("markAll marks every page, including a partial last word", (t) => {
  const { memory } = setup(64);
  const g = memory.createGuest(0, "web", 37, 0);
  const log = g.openLog("m");
  log.markAll();
  t.equal(log.count, 37);
  const pages = log.readAndClear();
  t.equal(pages.length, 37);
  t.equal(pages[36], 36);
  t.ok(log.isDirty(0) === false);
  t.end();
});
