import t from "tap";
import { compareVersions, parseRange, parseVersion, satisfies } from "../../core/plugin-host/semver.js";

t.test("satisfies: a table of versions and ranges", (t) => {
  const cases: [version: string, range: string, expected: boolean][] = [
    ["1.0.0", "1.0.0", true],
    ["1.0.1", "1.0.0", false],
    ["1.0.0", "=1.0.0", true],
    ["1.9.9", "^1", true],
    ["2.0.0", "^1", false],
    ["1.2.0", "^1.2", true],
    ["1.1.9", "^1.2", false],
    ["1.2.3", "^1.2.3", true],
    ["1.2.2", "^1.2.3", false],
    ["0.2.9", "^0.2.3", true],
    ["0.3.0", "^0.2.3", false],
    ["0.0.3", "^0.0.3", true],
    ["0.0.4", "^0.0.3", false],
    ["0.0.9", "^0.0", true],
    ["0.1.0", "^0.0", false],
    ["0.9.0", "^0", true],
    ["0.9.0", "^0.x", true],
    ["1.2.9", "~1.2.3", true],
    ["1.3.0", "~1.2.3", false],
    ["1.9.0", "~1", true],
    ["1.2.0", "~1.2", true],
    ["1.0.0", ">=1.0.0", true],
    ["0.9.9", ">=1", false],
    ["1.0.1", ">1.0.0", true],
    ["1.0.0", ">1.0.0", false],
    ["1.9.9", ">1", false],
    ["2.0.0", ">1", true],
    ["1.3.0", ">1.2", true],
    ["1.2.9", ">1.2", false],
    ["1.0.0", "<1.0.0", false],
    ["0.9.9", "<1", true],
    ["1.1.9", "<1.2", true],
    ["1.2.0", "<1.2", false],
    ["1.9.9", "<=1", true],
    ["2.0.0", "<=1", false],
    ["1.2.9", "<=1.2", true],
    ["1.2.3", "<=1.2.3", true],
    ["1.2.4", "<=1.2.3", false],
    ["5.4.3", "*", true],
    ["5.4.3", "x", true],
    ["5.4.3", "", true],
    ["1.7.0", "1.x", true],
    ["1.2.7", "1.2.x", true],
    ["1.3.0", "1.2.X", false],
    ["1.3.0", "1.2", false],
    ["1.0.0", ">*", false],
    ["1.0.0", "<*", false],
    ["1.0.0", ">=*", true],
    ["1.0.0", "<=*", true],
    ["1.0.0", "~*", true],
    ["1.0.0", "^*", true],
    ["1.5.0", ">=1.2.0 <2.0.0", true],
    ["2.0.0", ">=1.2.0 <2.0.0", false],
    ["1.5.0", ">= 1.2.0 < 2", true],
    ["3.1.0", "^1 || ^3", true],
    ["2.1.0", "^1 || ^3", false],
    ["1.5.0", "1.2 - 2.3", true],
    ["2.3.9", "1.2 - 2.3", true],
    ["2.4.0", "1.2 - 2.3", false],
    ["1.1.9", "1.2.0 - 2", false],
    ["2.9.0", "1.2.0 - 2", true],
    // Prereleases: ordered before their release; an exclusive upper bound excludes them too.
    ["1.0.0-rc.1", "1.0.0", false],
    ["1.0.0-rc.1", "1.0.0-rc.1", true],
    ["1.0.0-rc.1", "<1.0.0", true],
    ["2.0.0-rc.1", "^1", false],
    ["1.1.0-dev", "^1", true],
    ["1.2.3-beta.3", "^1.2.3-beta.2", true],
    ["1.2.3-beta.1", "^1.2.3-beta.2", false],
    ["1.0.0+build.5", "1.0.0", true],
  ];
  for (const [version, range, expected] of cases) {
    t.equal(satisfies(version, range), expected, `${version} in "${range}"`);
  }
  t.end();
});

t.test("satisfies is false for garbage on either side and accepts parsed values", (t) => {
  t.equal(satisfies("1.0", "^1"), false);
  t.equal(satisfies("1.0.0", "^^1"), false);
  t.equal(satisfies("1.0.0", "1.x.3"), false);
  t.equal(satisfies("1.0.0", "1 - 2 - 3"), false);
  t.equal(satisfies("1.0.0", "- 2"), false);
  t.equal(satisfies("1.0.0", "a - 2"), false);
  t.equal(satisfies("1.0.0", "1.2-rc"), false);
  t.equal(satisfies(parseVersion("1.4.0")!, parseRange("^1")!), true);
  t.end();
});

t.test("parseVersion reads major.minor.patch, prerelease and build, and rejects garbage", (t) => {
  t.same(parseVersion("1.2.3"), { major: 1, minor: 2, patch: 3, prerelease: [] });
  t.same(parseVersion("10.20.30-rc.1+sha.abc"), { major: 10, minor: 20, patch: 30, prerelease: ["rc", "1"] });
  t.same(parseVersion(" 1.0.0 "), { major: 1, minor: 0, patch: 0, prerelease: [] });
  for (const bad of ["", "1", "1.2", "v1.2.3", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "1.2.3.4", "a.b.c", "1.2.3 4", "99999999999999999.0.0"]) {
    t.equal(parseVersion(bad), undefined, JSON.stringify(bad));
  }
  t.equal(parseVersion(42 as unknown as string), undefined);
  t.equal(parseRange(42 as unknown as string), undefined);
  t.equal(parseRange("1.2.3 - 99999999999999999"), undefined);
  t.end();
});

t.test("compareVersions follows semver precedence", (t) => {
  const order = ["1.0.0-0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"];
  for (let i = 0; i + 1 < order.length; i++) {
    const a = parseVersion(order[i]!)!;
    const b = parseVersion(order[i + 1]!)!;
    t.equal(compareVersions(a, b), -1, `${order[i]} < ${order[i + 1]}`);
    t.equal(compareVersions(b, a), 1, `${order[i + 1]} > ${order[i]}`);
  }
  t.equal(compareVersions(parseVersion("1.0.0-rc.1")!, parseVersion("1.0.0-rc.1+b")!), 0);
  t.end();
});
