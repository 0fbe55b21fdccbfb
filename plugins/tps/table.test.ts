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

t.test("insert, find, salts keep equal keys apart, remove shifts entries back", (t) => {
  const tab = new KeyTable(16);
  t.equal(tab.capacity, 16);
  const put = (key: number, salt: number, v: number): number => tab.insert(key, salt, checksum(key), v, v * 10);
  put(5, 0, 1);
  put(5, 3, 2);
  put(6, 0, 3);
  t.equal(tab.size, 3);
  t.equal(tab.vals[tab.find(5, 0, checksum(5))], 1);
  t.equal(tab.vals[tab.find(5, 3, checksum(5))], 2);
  t.equal(tab.vals2[tab.find(5, 3, checksum(5))], 20);
  t.equal(tab.find(5, 1, checksum(5)), -1);
  t.equal(tab.find(7, 0, checksum(7)), -1);
  tab.removeAt(tab.find(5, 0, checksum(5)));
  t.equal(tab.find(5, 0, checksum(5)), -1);
  t.equal(tab.vals[tab.find(5, 3, checksum(5))], 2);
  t.equal(tab.vals[tab.find(6, 0, checksum(6))], 3);
  tab.clear();
  t.equal(tab.size, 0);
  t.equal(tab.find(6, 0, checksum(6)), -1);
  tab.clear();
  t.end();
});

t.test("colliding keys: each is found after removals anywhere in the probe chain, across the wrap", (t) => {
  const tab = new KeyTable(16);
  // Keys whose home is the last slot, so their chain wraps to the start of the table.
  const keys: number[] = [];
  for (let k = 1; keys.length < 6; k++) if ((checksum(k) & 15) === 15) keys.push(k);
  keys.forEach((k, i) => tab.insert(k, 0, checksum(k), i));
  // and one whose home is slot 1, which the wrapped chain passes over
  let other = 1;
  while ((checksum(other) & 15) !== 1 || keys.includes(other)) other++;
  tab.insert(other, 0, checksum(other), 99);
  t.equal(tab.size, 7);
  for (const gone of [keys[1]!, keys[4]!, keys[0]!]) {
    tab.removeAt(tab.find(gone, 0, checksum(gone)));
    t.equal(tab.find(gone, 0, checksum(gone)), -1);
  }
  for (const k of [keys[2]!, keys[3]!, keys[5]!]) t.equal(tab.vals[tab.find(k, 0, checksum(k))], keys.indexOf(k));
  t.equal(tab.vals[tab.find(other, 0, checksum(other))], 99);
  t.equal(tab.size, 4);
  t.end();
});

t.test("the table grows past half full and keeps every entry", (t) => {
  const tab = new KeyTable(16);
  for (let i = 0; i < 1000; i++) tab.insert(i * 7919, i % 3, checksum(i * 7919), i, -i);
  t.ok(tab.capacity >= 2000);
  let wrong = 0;
  for (let i = 0; i < 1000; i++) {
    const s = tab.find(i * 7919, i % 3, checksum(i * 7919));
    if (tab.vals[s] !== i || tab.vals2[s] !== -i) wrong++;
  }
  t.equal(wrong, 0);
  t.equal(tab.size, 1000);
  t.end();
});
