// What a chart of the HTML report shows, independent of how it is drawn (cli/html draws it).
// The kernel's own charts come from its time series; a plugin adds its own with k.chart().

export interface ChartAxis {
  /** What the axis shows: "time", "memory used", "round". */
  readonly label: string;
  /**
   * The unit of the data. The base units of the report ("ns", "B", "B/s") are shown in a
   * readable unit chosen from the data (s, GiB, Gbit/s); any other unit is shown as given.
   */
  readonly unit?: string;
}

/** One named line: x and y of equal length (plain arrays or typed arrays). */
export interface ChartSeries {
  readonly name: string;
  readonly x: ArrayLike<number>;
  readonly y: ArrayLike<number>;
}

/** One bar or point; `series` groups points into coloured groups side by side. */
export interface ChartPoint {
  readonly x: number | string;
  readonly y: number;
  readonly series?: string;
}

export interface ChartSpec {
  readonly title: string;
  /** A sentence under the title: what the chart shows and how to read it. */
  readonly description?: string;
  /** Default: "line" for series, "bar" for points. "step" holds each value until the next. */
  readonly mark?: "line" | "step" | "bar" | "point";
  readonly x: ChartAxis;
  readonly y: ChartAxis;
  /** The legend's title, naming what the series are ("host", "link"). */
  readonly legend?: string;
  readonly data: { readonly series: readonly ChartSeries[] } | { readonly points: readonly ChartPoint[] };
}


/**
 * A table for the readable summary `vmscn run` prints (one per migration, checkpoint, fork...).
 * Values in base units (ns, B, B/s) are shown in a readable unit by the CLI.
 */
export interface SummaryTable {
  readonly title: string;
  readonly columns: readonly { readonly name: string; readonly unit?: "ns" | "B" | "B/s" | string }[];
  readonly rows: readonly (readonly (string | number | null)[])[];
}
