// The `balloon` verb's argument and options, and their typed form.
import type { ArgSpec, OptionSpec, ScenarioView, VerbCall, VerbProblem } from "vmscn";
import { MS } from "vmscn";

export const BALLOON_ARGS: ArgSpec[] = [{ name: "host", kind: "host", description: "the host whose VMs get a balloon driver" }];

export const BALLOON_OPTIONS: Record<string, OptionSpec> = {
  low: { type: "quantity", dimension: "percent", min: 0, max: 1, default: 0.1, description: "low watermark: balloons inflate when the host's free memory falls under this share of its memory" },
  high: { type: "quantity", dimension: "percent", min: 0, max: 1, default: 0.2, description: "high watermark: balloons inflate until free memory is back at this share, and deflate while it is above" },
  interval: { type: "quantity", dimension: "time", min: 1 * MS, default: 100 * MS, description: "how often the host looks at its free memory" },
  rate: { type: "quantity", dimension: "rate", min: 1, default: 262_144, description: "pages all balloons of the host inflate (or deflate) per second at most" },
  max: { type: "quantity", dimension: "percent", min: 0, max: 1, default: 0.5, description: "the largest share of a VM's memory its balloon may hold" },
};

export interface BalloonOptions {
  host: string;
  /** Fractions of the host's frames. */
  low: number;
  high: number;
  intervalNs: number;
  /** Pages per second. */
  rate: number;
  /** Fraction of each VM's pages. */
  max: number;
}

export function parseOptions(call: Pick<VerbCall, "args" | "options">): BalloonOptions {
  const o = call.options;
  return {
    host: String(call.args["host"]),
    low: Number(o["low"]),
    high: Number(o["high"]),
    intervalNs: Number(o["interval"]),
    rate: Number(o["rate"]),
    max: Number(o["max"]),
  };
}

/** Checks what the scenario as written already tells: the watermarks' order. */
export function checkBalloon(call: Pick<VerbCall, "args" | "options">, _scenario: ScenarioView): VerbProblem[] {
  const o = parseOptions(call);
  if (o.high <= o.low) {
    return [{ message: `the high watermark (${o.high * 100}%) must be above the low watermark (${o.low * 100}%)`, at: "high", hint: "balloons inflate under low and deflate over high" }];
  }
  return [];
}
