// The --html report: self-contained, one SVG per chart, deterministic, with the report's tables.
import "reflect-metadata";
import t from "tap";
import type { Report } from "../../../core/report/json.js";
import { stableStringify } from "../../../core/report/json.js";
import { TimeSeries } from "../../../core/report/metrics.js";
import { buildSmoke } from "../../../cli/smoke.js";
import { renderHtml, type ChartSpec } from "../../../cli/html/render.js";
import { axisTitle, displayUnit, downsample, kernelCharts, MAX_SERIES } from "../../../cli/html/charts.js";
import { noLoader, quietLogger, renderChartSvg, scopeSvg, vegaLiteSpec } from "../../../cli/html/svg.js";
import { escapeHtml, flatten, formatByteRate, genericTable, htmlTable, plain } from "../../../cli/html/tables.js";

const k = buildSmoke(42);
k.run(5e9);
const report = k.report("smoke");
const series = k.metrics.allSeries();

const precopyRounds: ChartSpec = {
  title: "Pages left per pre-copy round",
  description: "Dirty pages still to send at the start of each round.",
  x: { label: "round" },
  y: { label: "pages left", unit: "pages" },
  data: { points: [1, 2, 3, 4, 5].map((round) => ({ x: round, y: Math.round(262144 / round ** 2) })) },
};

function count(text: string, re: RegExp): number {
  return (text.match(re) ?? []).length;
}

function unescapeHtml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]!);
}

t.test("the smoke run's page is self-contained, deterministic and complete", async (t) => {
  const [html, again] = await Promise.all([
    renderHtml({ report, series, charts: [precopyRounds] }),
    renderHtml({ report, series, charts: [precopyRounds] }),
  ]);
  t.equal(html, again, "same input, same bytes (even rendered concurrently)");
  t.equal(html, await renderHtml({ report, series, charts: [precopyRounds] }), "and again, sequentially");

  t.match(html, /^<!doctype html>\n<html lang="en">/);
  t.equal(count(html, /\b(?:src|href)\s*=\s*["']?\s*(?:[a-z]+:)?\/\//gi), 0, "no remote src= or href=");
  t.equal(count(html, /https?:/g), 0, "no URL at all (not even the SVG namespaces)");
  t.equal(count(html, /<script|<link|<iframe|<img|@import|@font-face/gi), 0, "no scripts, stylesheets, frames, images or fonts");

  t.equal(count(html, /<svg/g), 3, "one SVG per chart: memory, bandwidth, the plugin's rounds");
  t.equal(count(html, /<figure/g), 3);
  for (const title of ["Memory used per host", "Bandwidth per link", "Pages left per pre-copy round"]) t.match(html, `<h3>${title}</h3>`);
  t.match(html, "memory used (GiB)", "bytes are shown in a readable unit");
  t.match(html, "bandwidth (Gbit/s)", "link rates in bits per second");
  t.match(html, "simulated time (s)");

  // Host names: in the hosts table and in the memory chart's legend.
  t.match(html, "<tr><th>a</th><td>yes</td>");
  t.match(html, "<tr><th>b</th><td>yes</td>");
  t.match(html, /<text[^>]*>a<\/text>/);
  t.match(html, /<text[^>]*>b<\/text>/);
  t.match(html, "<tr><th>web</th><td>a</td><td>running</td>");
  t.match(html, "<tr><th>a&lt;-&gt;b</th>", "link names are escaped");
  t.notMatch(html, "a<->b", "nowhere raw, SVG included");
  for (const id of ["charts", "hosts", "vms", "links", "datastores", "transfers", "actions", "report-json"]) t.match(html, `id="${id}"`);
  t.match(html, '<nav><a href="#charts">Charts</a><a href="#hosts">Hosts</a>');
  t.match(html, "<p class=\"meta\">seed 42 · simulated 5 s · kernel 1.0.0 · vmscn.report/2 · 29076 events</p>");

  const pre = /<details id="report-json">\n<summary>Full JSON report \(vmscn.report\/2\)<\/summary>\n<pre>([^<]*)<\/pre>\n<\/details>/.exec(html);
  t.ok(pre, "the JSON report is in a collapsible <details>");
  t.equal(unescapeHtml(pre![1]!), stableStringify(report), "the full JSON report, byte for byte");
});

t.test("a report with no series and no links has no charts and no empty sections", async (t) => {
  const bare = { schema: "vmscn.report/2", kernel: "1.0.0", scenario: "x <&> y", seed: 1, simulatedTimeNs: 0, hosts: {}, vms: {}, links: {}, actions: [] } as unknown as Report;
  const html = await renderHtml({ report: bare, series: [] });
  t.equal(count(html, /<svg/g), 0);
  t.notMatch(html, 'id="charts"');
  t.notMatch(html, "<table>");
  t.match(html, "<title>vmscn · x &lt;&amp;&gt; y</title>");
  t.match(html, '<nav><a href="#report-json">JSON</a></nav>');
});

t.test("plugin sections become tables, plugins are named in the header", async (t) => {
  const withPlugin = {
    ...report,
    run: { events: 7, plugins: [{ name: "precopy-migration", version: "1.0.0" }] },
    migration: { web: { status: "completed", downtime: 12, ram: { transferred: 4096, total: 8192 } }, db: { status: "active", downtime: null } },
    ksm: { pages_shared: 3, pages_sharing: 9 },
    "odd name": [{ round: 1, pages: 10 }, { round: 2, pages: 4 }],
  } as unknown as Report;
  const html = await renderHtml({ report: withPlugin, series: [] });
  t.match(html, "plugins: precopy-migration 1.0.0");
  t.match(html, '<section id="section-migration">\n<h2>migration</h2>');
  t.match(html, "<thead><tr><th>name</th><th>status</th><th>downtime</th><th>ram.transferred</th><th>ram.total</th></tr></thead>");
  t.match(html, '<tr><th>db</th><td>active</td><td>–</td><td>–</td><td>–</td></tr>');
  t.match(html, '<section id="section-ksm">');
  t.match(html, '<tr><td class="num">3</td><td class="num">9</td></tr>');
  t.match(html, '<section id="section-odd-name">\n<h2>odd name</h2>');
  t.ok(html.indexOf('id="section-ksm"') < html.indexOf('id="section-migration"'), "plugin sections in name order");
});

t.test("every kind of chart compiles without a Vega warning", async (t) => {
  const charts: ChartSpec[] = [
    ...kernelCharts(series),
    precopyRounds,
    { title: "grouped", x: { label: "round" }, y: { label: "sent", unit: "B" }, legend: "vm", data: { points: [1, 2].flatMap((x) => [{ x, y: x * 1e6, series: "web" }, { x, y: x * 3e6, series: "db" }]) } },
    { title: "step", mark: "step", x: { label: "time", unit: "ns" }, y: { label: "dirty rate", unit: "pages/s" }, data: { series: [{ name: "web", x: [0, 1e6, 2e6], y: [5, 7, 1] }] } },
    { title: "points", mark: "point", x: { label: "phase" }, y: { label: "latency", unit: "ns" }, data: { points: [{ x: "setup", y: 2e6 }, { x: "copy", y: 9e8 }] } },
    { title: "line of points", mark: "line", x: { label: "n" }, y: { label: "v" }, data: { points: [{ x: 1, y: 1 }, { x: 2, y: 4 }] } },
  ];
  for (const [i, c] of charts.entries()) {
    const r = await renderChartSvg(c, `t${i}-`);
    t.same(r.warnings, [], c.title);
    t.match(r.svg, /^<svg version="1.1" class="marks" width="\d+" height="\d+" viewBox="0 0 \d+ \d+">/, `${c.title}: an inline SVG without namespaces`);
  }
});

t.test("Vega-Lite specs: units, scales and marks", (t) => {
  const line = vegaLiteSpec({ title: "m", x: { label: "time", unit: "ns" }, y: { label: "memory", unit: "B" }, legend: "host", data: { series: [{ name: "a", x: new Float64Array([0, 2e9]), y: new Float64Array([0, 3 * 1024 ** 3]) }] } }) as any;
  t.same(line.data.values, [
    { x: 0, y: 0, series: "a" },
    { x: 2, y: 3, series: "a" },
  ]);
  t.same(line.mark, { type: "line", strokeWidth: 1.5 });
  t.same(line.encoding.x, { field: "x", type: "quantitative", title: "time (s)", scale: { nice: false, zero: false } });
  t.same(line.encoding.color, { field: "series", type: "nominal", title: "host", sort: ["a"], scale: { domain: ["a"] } });
  t.equal(line.description, "m");
  const bars = vegaLiteSpec(precopyRounds) as any;
  t.same(bars.mark, { type: "bar" });
  t.same(bars.encoding.x, { field: "x", type: "ordinal", title: "round", sort: null, axis: { labelAngle: 0 } });
  t.same(bars.encoding.y.title, "pages left (pages)");
  t.notOk("color" in bars.encoding, "one unnamed group: no legend");
  t.end();
});

t.test("display units follow the data", (t) => {
  t.same(displayUnit("ns", 5e9), { name: "s", factor: 1e9 });
  t.same(displayUnit("ns", 9 * 60e9), { name: "s", factor: 1e9 }, "minutes only from 10 min");
  t.same(displayUnit("ns", 20 * 60e9), { name: "min", factor: 60e9 });
  t.same(displayUnit("ns", 1500), { name: "us", factor: 1e3 });
  t.same(displayUnit("ns", 0), { name: "s", factor: 1e9 });
  t.same(displayUnit("ns", 0.5), { name: "ns", factor: 1 });
  t.same(displayUnit("B", 3 * 1024 ** 3), { name: "GiB", factor: 1024 ** 3 });
  t.same(displayUnit("B", 100), { name: "B", factor: 1 });
  t.same(displayUnit("B/s", 1.25e9), { name: "Gbit/s", factor: 1e9 / 8 });
  t.same(displayUnit("B/s", 1.25e6), { name: "Mbit/s", factor: 1e6 / 8 });
  t.same(displayUnit("B/s", 0), { name: "Mbit/s", factor: 1e6 / 8 });
  t.same(displayUnit("B/s", Number.NaN), { name: "Mbit/s", factor: 1e6 / 8 });
  t.same(displayUnit("pages", 1e9), { name: "pages", factor: 1 });
  t.same(displayUnit(undefined, 1), { name: "", factor: 1 });
  t.equal(axisTitle("round", { name: "", factor: 1 }), "round");
  t.equal(axisTitle("memory", { name: "GiB", factor: 1 }), "memory (GiB)");
  t.end();
});

t.test("downsampling keeps the extremes and the ends, in order", (t) => {
  const n = 10_000;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const y = Float64Array.from({ length: n }, (_, i) => (i === 4321 ? 1e9 : i === 777 ? -5 : i % 10));
  const d = downsample(x, y, 100);
  t.ok(d.x.length <= 400 && d.x.length >= 200, `${d.x.length} points`);
  t.equal(d.x[0], 0);
  t.equal(d.x[d.x.length - 1], n - 1);
  t.ok(d.y.includes(1e9) && d.y.includes(-5), "the peak and the dip survive");
  t.same(d.x, [...d.x].sort((a, b) => a - b), "times stay in order");
  t.same(downsample(x, y, 100), d, "deterministic");
  t.same(downsample([1, 2], [3, 4]), { x: [1, 2], y: [3, 4] }, "short series unchanged");
  t.end();
});

t.test("kernel charts: the largest series when there are too many", (t) => {
  const many: TimeSeries[] = [];
  for (let i = 0; i < MAX_SERIES + 2; i++) {
    const s = new TimeSeries(`host.h${String(i).padStart(2, "0")}.memory.used`, "B");
    s.append(0, 0);
    s.append(1e9, i === 0 ? 1e12 : i * 1024);
    many.push(s);
  }
  many.push(new TimeSeries("link.empty.rate", "B/s"), new TimeSeries("vm.web.other", "x"));
  const charts = kernelCharts(many);
  t.equal(charts.length, 1, "an empty series draws no chart");
  const c = charts[0]!;
  t.ok("series" in c.data);
  const names = "series" in c.data ? c.data.series.map((s) => s.name) : [];
  t.same(names, ["h00", "h03", "h04", "h05", "h06", "h07", "h08", "h09", "h10", "h11", "h12", "h13"]);
  t.match(c.description!, "Showing the 12 of 14 hosts with the highest peaks.");
  t.end();
});

t.test("ids are scoped per chart and namespaces dropped", (t) => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"><use href="#clip1"/><a href="#elsewhere"/></g></svg>';
  t.equal(scopeSvg(svg, "c2-"), '<svg><defs><clipPath id="c2-clip1"><rect/></clipPath></defs><g clip-path="url(#c2-clip1)"><use href="#c2-clip1"/><a href="#elsewhere"/></g></svg>');
  t.equal(scopeSvg("<svg><g/></svg>", "c1-"), "<svg><g/></svg>");
  t.end();
});

t.test("table helpers", (t) => {
  t.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  t.equal(htmlTable(["k", "v"], [["x", 1]]), '<table>\n<thead><tr><th>k</th><th>v</th></tr></thead>\n<tbody>\n<tr><th>x</th><td class="num">1</td></tr>\n</tbody>\n</table>');
  t.same(flatten({ a: { b: 1, c: { d: 2 } }, e: [1], f: {} }), [["a.b", 1], ["a.c.d", 2], ["e", [1]], ["f", {}]]);
  t.same([plain(Number.NaN), plain(null), plain(undefined), plain(true), plain(false), plain([1, 2]), plain("s")], ["–", "–", "–", "yes", "no", "[1,2]", "s"]);
  t.equal(formatByteRate(1e9), "1 GB/s");
  t.equal(formatByteRate(1500), "1.5 KB/s");
  const long = Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`k${i}`, i]));
  t.match(genericTable(long), "<thead><tr><th>figure</th><th>value</th></tr></thead>");
  t.equal(genericTable(42), '<p>42</p>');
  t.equal(genericTable([]), "<p>[]</p>");
  t.end();
});

t.test("failures show in the VM and action tables; missing figures as dashes", async (t) => {
  const failed = {
    ...report,
    hosts: { h: { up: false } },
    vms: { v: { host: "h", state: "stopped", failure: "VMSCN3001: host h crashed", memory: 4096, pages: { present: 1 }, accesses: {}, workload: null } },
    links: {},
    datastores: {},
    actions: [{ time: 1e9, verb: "migrate", args: { vm: "v", to: "g" }, options: { bandwidth: 125000000, after: ["demand-paging"] }, state: "failed", failure: "VMSCN4001: no route", finishedAt: null }],
  } as unknown as Report;
  const html = await renderHtml({ report: failed, series: [] });
  t.match(html, '<tr><th>h</th><td>no</td><td>–</td><td class="num">–</td>');
  t.match(html, "<td>stopped: VMSCN3001: host h crashed</td>");
  t.match(html, '<td class="num">4 KiB</td><td class="num">4 KiB</td><td>–</td>');
  t.match(html, '<tr><th class="num">1 s</th><td>migrate v g</td><td>bandwidth=125000000 after=[&quot;demand-paging&quot;]</td><td>failed: VMSCN4001: no route</td><td class="num">–</td></tr>');
});

t.test("the Vega logger keeps warnings and throws errors; the loader fetches nothing", async (t) => {
  const warnings: string[] = [];
  const logger = quietLogger(warnings);
  t.equal(logger.level(), 0);
  t.equal(logger.level(3), logger);
  t.equal(logger.level(), 3);
  logger.warn("careful", 1).info("ignored").debug("ignored");
  t.same(warnings, ["careful 1"]);
  t.throws(() => logger.error("bad spec"), { message: "chart: bad spec" });
  const calls: (() => Promise<unknown>)[] = [() => noLoader.load("https://example.org/x.json"), () => noLoader.sanitize("x.png", { context: "image" }), () => noLoader.http("u", {}), () => noLoader.file("f")];
  for (const call of calls) {
    await t.rejects(call(), /^the HTML report loads nothing/);
  }
});
