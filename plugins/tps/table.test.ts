// The scanner's lookup structures: the page checksum and the (identity, salt) hash table.
import t from "tap";
import { KeyTable, checksum } from "./table.js";

t.test("checksum: equal identities agree, different ones differ, 32 bits", (t) => {
  const ids = [0, 1, 2, 2 ** 32, 2 ** 32 + 1, 2 ** 48 + 7, 2 ** 53 - 1, 123_456_789_012];
  const sums = ids.map(checksum);
  t.equal(new Set(sums).size, ids.length);
  for (const s of sums) t.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
  t.equal(checksum(2 ** 48 + 7), sums[5]);
  t.end();
});

t.test("insert, find, set; salts keep equal keys apart; remove shifts entries back; clear", (t) => {
  const tab = new KeyTable(16);
  t.equal(tab.capacity, 16);
  const big = 2 ** 53 - 5; // both halves of the identity matter
  tab.insert(5, 0, 1, 10);
  tab.insert(5, 3, 2, 20);
  tab.insert(big, 0, 3, 30);
  t.equal(tab.size, 3);
  t.equal(tab.val(tab.find(5, 0)), 1);
  t.equal(tab.val(tab.find(5, 3)), 2);
  t.equal(tab.val2(tab.find(5, 3)), 20);
  t.equal(tab.key(tab.find(big, 0)), big);
  t.equal(tab.find(5, 1), -1);
  t.equal(tab.find(big - 2 ** 32, 0), -1, "same low half, other high half");
  tab.set(tab.find(5, 3), 7, 70);
  t.same([tab.val(tab.find(5, 3)), tab.val2(tab.find(5, 3))], [7, 70]);
  tab.removeAt(tab.find(5, 0));
  t.equal(tab.find(5, 0), -1);
  t.equal(tab.val(tab.find(5, 3)), 7);
  t.equal(tab.val(tab.find(big, 0)), 3);
  tab.clear();
  t.equal(tab.size, 0);
  t.equal(tab.find(big, 0), -1);
  tab.clear();
  t.end();
});

t.test("sixteen consecutive identities share a run of slots (four cache lines)", (t) => {
  const tab = new KeyTable(1024);
  const base = 2 ** 48 + 2 ** 32 + 400;
  const h = tab.homeOf(base, 0);
  t.same(Array.from({ length: 15 }, (_, i) => tab.homeOf(base + i + 1, 0) - h), Array.from({ length: 15 }, (_, i) => i + 1));
  t.equal(h % 16, 0);
  t.not(tab.homeOf(base + 16, 0), h + 16, "the next group lands elsewhere");
  t.end();
});

t.test("the identity's halves come from its bits exactly, at every magnitude", (t) => {
  // The reference: the halves by division (slow in V8, exact below 2^53).
  const ref = (x: number): number => {
    const lo = x >>> 0;
    const hi = ((x - lo) / 4294967296) | 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  };
  const xs = [0, 1, 2, 3, 255, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 48, 2 ** 48 + 2 ** 32 + 77, 2 ** 52 - 1, 2 ** 52, 2 ** 52 + 1, 2 ** 53 - 1];
  for (let b = 0; b < 53; b++) xs.push(2 ** b + 12345 * b, 2 ** b - 1);
  t.equal(xs.filter((x) => checksum(x) !== ref(x)).length, 0);
  const tab = new KeyTable(16);
  for (const x of xs) if (tab.find(x, 0) < 0) tab.insert(x, 0, 1);
  t.equal(xs.filter((x) => tab.key(tab.find(x, 0)) !== x).length, 0, "keys read back");
  t.end();
});

t.test("colliding keys: each is found after removals anywhere in the probe chain, across the wrap", (t) => {
  const tab = new KeyTable(16);
  // Keys whose home is the last slot, so their chain wraps to the start of the table.
  const keys: number[] = [];
  for (let k = 1; keys.length < 6; k++) if (tab.homeOf(k, 0) === 15) keys.push(k);
  keys.forEach((k, i) => tab.insert(k, 0, i));
  // and one whose home is slot 1, which the wrapped chain passes over
  let other = 1;
  while (tab.homeOf(other, 0) !== 1 || keys.includes(other)) other++;
  tab.insert(other, 0, 99);
  t.equal(tab.size, 7);
  for (const gone of [keys[1]!, keys[4]!, keys[0]!]) {
    tab.removeAt(tab.find(gone, 0));
    t.equal(tab.find(gone, 0), -1);
  }
  for (const k of [keys[2]!, keys[3]!, keys[5]!]) t.equal(tab.val(tab.find(k, 0)), keys.indexOf(k));
  t.equal(tab.val(tab.find(other, 0)), 99);
  t.equal(tab.size, 4);
  t.end();
});

t.test("the table grows past half full (or on reserve) and keeps every entry", (t) => {
  const tab = new KeyTable(16);
  for (let i = 0; i < 1000; i++) tab.insert(i * 7919, i % 3, i, -i);
  t.ok(tab.capacity >= 2000);
  tab.reserve(5000);
  t.ok(tab.capacity >= 10_000);
  let wrong = 0;
  for (let i = 0; i < 1000; i++) {
    const s = tab.find(i * 7919, i % 3);
    if (tab.val(s) !== i || tab.val2(s) !== -i) wrong++;
  }
  t.equal(wrong, 0);
  t.equal(tab.size, 1000);
  t.end();
});
