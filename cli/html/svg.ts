// ChartSpec → Vega-Lite → Vega → inline SVG, headless in Node: no DOM, no canvas, no network.
// Vega is imported on first use so that commands that write no HTML never load it.
import type { TopLevelSpec } from "vega-lite";
import type { Loader, LoggerInterface, View as VegaView } from "vega";
import { axisTitle, displayUnit, downsample, type ChartSpec, type DisplayUnit } from "./charts.js";

export const CHART_WIDTH = 640;
export const CHART_HEIGHT = 220;

type Row = { x: number | string; y: number; series: string };

/** Six significant digits: plenty for a chart, and keeps the SVG small. */
function round(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(6)) : 0;
}

function maxAbs(values: Iterable<number>): number {
  let m = 0;
  for (const v of values) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return m;
}

/** The Vega-Lite spec of a chart, with values already in display units. Exported for tests. */
export function vegaLiteSpec(chart: ChartSpec): TopLevelSpec {
  const rows: Row[] = [];
  const names: string[] = [];
  let xNumeric = true;
  let xUnit: DisplayUnit;
  let yUnit: DisplayUnit;
  if ("series" in chart.data) {
    const parts = chart.data.series.map((s) => ({ name: s.name, ...downsample(s.x, s.y) }));
    xUnit = displayUnit(chart.x.unit, maxAbs(parts.flatMap((p) => p.x)));
    yUnit = displayUnit(chart.y.unit, maxAbs(parts.flatMap((p) => p.y)));
    for (const p of parts) {
      names.push(p.name);
      for (let i = 0; i < p.x.length; i++) rows.push({ x: round(p.x[i]! / xUnit.factor), y: round(p.y[i]! / yUnit.factor), series: p.name });
    }
  } else {
    const points = chart.data.points;
    xNumeric = points.every((p) => typeof p.x === "number");
    xUnit = xNumeric ? displayUnit(chart.x.unit, maxAbs(points.map((p) => p.x as number))) : { name: chart.x.unit ?? "", factor: 1 };
    yUnit = displayUnit(chart.y.unit, maxAbs(points.map((p) => p.y)));
    for (const p of points) {
      const series = p.series ?? "";
      if (!names.includes(series)) names.push(series);
      rows.push({ x: typeof p.x === "number" ? round(p.x / xUnit.factor) : p.x, y: round(p.y / yUnit.factor), series });
    }
  }
  const mark = chart.mark ?? ("series" in chart.data ? "line" : "bar");
  // Bars stand on categories (round 1, 2, 3 ...) in the order given; lines run along a number line.
  const xType = mark === "bar" || !xNumeric ? "ordinal" : "quantitative";
  const grouped = names.length > 1 || (names.length === 1 && names[0] !== "");
  const legendTitle = chart.legend ?? null;
  const color = grouped
    ? { color: { field: "series", type: "nominal" as const, title: legendTitle, sort: names, scale: { domain: names } } }
    : {};
  const offset = grouped && mark === "bar" ? { xOffset: { field: "series", type: "nominal" as const, title: legendTitle, sort: names } } : {};
  return {
    description: chart.description ?? chart.title,
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    background: "white",
    data: { values: rows },
    mark:
      mark === "step"
        ? { type: "line", interpolate: "step-after", strokeWidth: 1.5 }
        : mark === "line"
          ? { type: "line", strokeWidth: 1.5 }
          : mark === "point"
            ? { type: "point", filled: true }
            : { type: "bar" },
    encoding: {
      x: {
        field: "x",
        type: xType,
        title: axisTitle(chart.x.label, xUnit),
        ...(xType === "ordinal" ? { sort: null, axis: { labelAngle: 0 } } : { scale: { nice: false, zero: false } }),
      },
      y: { field: "y", type: "quantitative", title: axisTitle(chart.y.label, yUnit) },
      ...color,
      ...offset,
    },
    config: {
      font: "system-ui, -apple-system, 'Segoe UI', sans-serif",
      view: { stroke: null },
      axis: { labelColor: "#444", titleColor: "#222", gridColor: "#e6e6e6", domainColor: "#888", tickColor: "#888" },
      legend: { labelLimit: 240 },
    },
  } as TopLevelSpec;
}

/** A Vega logger that keeps warnings (tests assert there are none) and prints nothing. */
export function quietLogger(warnings: string[]): LoggerInterface {
  let level = 0;
  const text = (args: readonly unknown[]): string => args.map(String).join(" ");
  const logger: LoggerInterface = {
    level: ((l?: number) => {
      if (l === undefined) return level;
      level = l;
      return logger;
    }) as LoggerInterface["level"],
    error(...args) {
      throw new Error(`chart: ${text(args)}`);
    },
    warn(...args) {
      warnings.push(text(args));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

// Chart data is inline: anything asking the loader for a file or URL is a bug, not a fetch.
const refuse = (what: string): Promise<never> => Promise.reject(new Error(`the HTML report loads nothing (asked for ${what})`));
export const noLoader: Loader = {
  load: (uri) => refuse(uri),
  sanitize: (uri) => refuse(uri),
  http: (uri) => refuse(uri),
  file: (name) => refuse(name),
};

interface VegaExtras {
  /** Restart the clip-path and gradient id counters (module-global in vega-scenegraph). */
  resetSVGDefIds(): void;
  /** `canvas(false)`: measure text by estimate, the same on every machine, canvas or not. */
  textMetrics: { canvas(use: boolean): void };
}

/**
 * Gives every id in one chart's SVG the prefix `idPrefix`, so several charts inline in one
 * page cannot point at each other's clip paths, and drops the XML namespace attributes, which
 * HTML does not need (inline `<svg>` is in the SVG namespace by definition).
 */
export function scopeSvg(svg: string, idPrefix: string): string {
  const ids = new Set<string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(m[1]!);
  let out = svg.replace(/ xmlns(?::xlink)?="[^"]*"/g, "");
  if (ids.size === 0) return out;
  out = out.replace(/(\sid="|url\(#|href="#)([^")]+)/g, (all, lead: string, id: string) => (ids.has(id) ? `${lead}${idPrefix}${id}` : all));
  return out;
}

export interface RenderedChart {
  readonly svg: string;
  /** Vega-Lite and Vega warnings (for tests: a clean spec has none). */
  readonly warnings: readonly string[];
}

// vega-scenegraph numbers clip paths from a module-global counter: renders run one at a time
// so that each starts from a reset counter and the output never depends on interleaving.
let queue: Promise<unknown> = Promise.resolve();

/** One chart as an inline `<svg>` element; the same chart and prefix always give the same text. */
export function renderChartSvg(chart: ChartSpec, idPrefix: string): Promise<RenderedChart> {
  const next = queue.then(() => renderNow(chart, idPrefix));
  queue = next.catch(() => undefined);
  return next;
}

async function renderNow(chart: ChartSpec, idPrefix: string): Promise<RenderedChart> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const extras = vega as unknown as VegaExtras;
  const warnings: string[] = [];
  const logger = quietLogger(warnings);
  const compiled = vl.compile(vegaLiteSpec(chart), { logger }).spec;
  extras.textMetrics.canvas(false);
  extras.resetSVGDefIds();
  const view: VegaView = new vega.View(vega.parse(compiled), { renderer: "none", loader: noLoader, logger, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    return { svg: scopeSvg(svg, idPrefix), warnings };
  } finally {
    view.finalize();
  }
}
