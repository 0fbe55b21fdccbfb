// `--html FILE`: one self-contained page (inline CSS and SVG, no script, nothing fetched) with
// the run's charts, its tables and the full JSON report. Same input ⇒ same bytes.
import type { Report } from "../../core/report/json.js";
import { stableStringify } from "../../core/report/json.js";
import type { TimeSeries } from "../../core/report/metrics.js";
import { formatTime } from "../../core/sim/time.js";
import { kernelCharts, type ChartSpec } from "./charts.js";
import { renderChartSvg } from "./svg.js";
import { escapeHtml, reportSections } from "./tables.js";

export type { ChartAxis, ChartPoint, ChartSeries, ChartSpec } from "./charts.js";
export { kernelCharts } from "./charts.js";

export interface HtmlInput {
  readonly report: Report;
  /** The run's time series (`kernel.metrics.allSeries()`): memory per host, rate per link. */
  readonly series: readonly TimeSeries[];
  /** Further charts, drawn after the kernel's, in this order (plugins' figures). */
  readonly charts?: readonly ChartSpec[];
}

const STYLE = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #dfe3ea; --band: #f6f7f9; --accent: #2f5fa7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
header, main { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 10px; }
h3 { font-size: 15px; margin: 0 0 2px; }
.meta { color: var(--muted); margin: 0 0 10px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
nav a:hover { text-decoration: underline; }
figure { margin: 0 0 24px; padding: 14px 16px 8px; border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; }
figcaption p { margin: 0 0 8px; color: var(--muted); }
figure svg { display: block; max-width: 100%; height: auto; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 0 0 8px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 12px 4px 0; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line); white-space: nowrap; }
tbody th { font-weight: 600; }
tbody tr:nth-child(even) { background: var(--band); }
.num { text-align: right; white-space: nowrap; }
details { margin: 32px 0 48px; border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
summary { cursor: pointer; font-weight: 600; }
pre { overflow-x: auto; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; margin: 12px 0 0; }
.empty { color: var(--muted); }
`.trim();

function headerMeta(report: Report): string {
  const parts = [`seed ${report.seed}`, `simulated ${formatTime(report.simulatedTimeNs)}`, `kernel ${report.kernel}`, report.schema];
  const run = report["run"] as { events?: unknown; plugins?: unknown } | undefined;
  if (typeof run?.events === "number") parts.push(`${run.events} events`);
  if (Array.isArray(run?.plugins) && run.plugins.length > 0) {
    const names = (run.plugins as { name?: unknown; version?: unknown }[]).map((p) => `${String(p.name)} ${String(p.version)}`);
    parts.push(`plugins: ${names.join(", ")}`);
  }
  return parts.join(" · ");
}

/** The report page. Charts are drawn one after another: Vega's id counters are global. */
export async function renderHtml(input: HtmlInput): Promise<string> {
  const { report } = input;
  const charts = [...kernelCharts(input.series), ...(input.charts ?? [])];
  const figures: string[] = [];
  for (const [i, chart] of charts.entries()) {
    const { svg } = await renderChartSvg(chart, `c${i + 1}-`);
    const caption = chart.description ? `<p>${escapeHtml(chart.description)}</p>` : "";
    figures.push(`<figure id="chart-${i + 1}">\n<figcaption><h3>${escapeHtml(chart.title)}</h3>${caption}</figcaption>\n${svg}\n</figure>`);
  }
  const sections = reportSections(report);
  const nav = [
    ...(figures.length > 0 ? [["charts", "Charts"]] : []),
    ...sections.map((s) => [s.id, s.title]),
    ["report-json", "JSON"],
  ]
    .map(([id, title]) => `<a href="#${escapeHtml(id!)}">${escapeHtml(title!)}</a>`)
    .join("");
  const chartsHtml = figures.length > 0 ? `<section id="charts">\n<h2>Charts</h2>\n${figures.join("\n")}\n</section>` : "";
  const tables = sections.map((s) => `<section id="${escapeHtml(s.id)}">\n<h2>${escapeHtml(s.title)}</h2>\n<div class="table-wrap">\n${s.html}\n</div>\n</section>`);
  const title = `vmscn · ${report.scenario}`;
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="vmscn ${escapeHtml(report.kernel)}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>\n${STYLE}\n</style>`,
    "</head>",
    "<body>",
    "<header>",
    `<h1>${escapeHtml(report.scenario)}</h1>`,
    `<p class="meta">${escapeHtml(headerMeta(report))}</p>`,
    `<nav>${nav}</nav>`,
    "</header>",
    "<main>",
    chartsHtml,
    ...tables,
    '<details id="report-json">',
    `<summary>Full JSON report (${escapeHtml(report.schema)})</summary>`,
    `<pre>${escapeHtml(stableStringify(report))}</pre>`,
    "</details>",
    "</main>",
    "</body>",
    "</html>",
    "",
  ]
    .filter((line) => line !== "")
    .join("\n")
    .concat("\n");
}
