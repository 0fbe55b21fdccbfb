// `vmscn plugins`: the loaded plugins with their versions, then every verb with its usage and
// its options (type, unit, default, range), as a scenario writer needs them.
import type { OptionSpec, RegisteredHypercall, RegisteredVerb } from "../../core/plugin-host/context.js";
import type { LoadedPluginInfo } from "../../core/plugin-host/plugin-host.js";
import { usage } from "../../dsl/validate/actions.js";
import { BASE_UNIT } from "../../core/units.js";
import { formatBytes, formatByteRate, formatDuration } from "../summary.js";

export function describePlugins(plugins: readonly LoadedPluginInfo[], verbs: readonly RegisteredVerb[], hypercalls: readonly RegisteredHypercall[] = []): string {
  const out: string[] = ["plugins"];
  out.push("  kernel (built into vmscn): lifecycle, host and link verbs");
  for (const p of plugins) out.push(`  ${p.name} ${p.version} (${p.source})${p.description ? `: ${p.description}` : ""}`);
  out.push("", "verbs");
  for (const v of verbs) {
    out.push(`  ${usage(v)}    [${v.plugin}]`, `      ${v.description}`);
    const names = Object.keys(v.options);
    if (names.length === 0) continue;
    const width = Math.max(...names.map((n) => n.length));
    for (const [name, spec] of Object.entries(v.options)) out.push(`      ${name.padEnd(width)}  ${kind(spec)}${defaults(spec)}  ${spec.description}`);
  }
  if (hypercalls.length > 0) {
    out.push("", "hypercalls (at T: VM hypercall NAME { options })");
    for (const h of hypercalls) {
      out.push(`  ${h.name}${Object.keys(h.options).length ? " { options }" : ""}    [${h.plugin}]`, `      ${h.description}`);
      const names = Object.keys(h.options);
      const width = Math.max(0, ...names.map((n) => n.length));
      for (const [name, spec] of Object.entries(h.options)) out.push(`      ${name.padEnd(width)}  ${kind(spec)}${defaults(spec)}  ${spec.description}`);
    }
  }
  const coded = plugins.filter((p) => Object.keys(p.codes).length > 0);
  if (coded.length > 0) {
    out.push("", "error codes");
    for (const p of coded) for (const [code, meaning] of Object.entries(p.codes)) out.push(`  ${code}  ${meaning}    [${p.name}]`);
  }
  return out.join("\n");
}

function kind(spec: OptionSpec): string {
  switch (spec.type) {
    case "quantity":
      return `${spec.dimension}${range(spec.min, spec.max, spec.dimension)}`;
    case "integer":
      return `integer${range(spec.min, spec.max, "count")}`;
    case "enum":
      return spec.values.join("|");
    case "list":
      return `list of ${spec.values.join(", ")}`;
    default:
      return spec.type;
  }
}

function range(min: number | undefined, max: number | undefined, dim: string): string {
  if (min === undefined && max === undefined) return "";
  const show = (v: number) => value(v, dim);
  return ` ${min !== undefined ? show(min) : ""}..${max !== undefined ? show(max) : ""}`;
}

function defaults(spec: OptionSpec): string {
  if (spec.required) return ", required";
  if (spec.default === undefined) return "";
  const d = spec.default;
  const dim = spec.type === "quantity" ? spec.dimension : "count";
  return `, default ${Array.isArray(d) ? d.join(", ") : typeof d === "number" ? value(d, dim) : String(d)}`;
}

/** A base-unit value the way a scenario would write it. */
function value(v: number, dim: string): string {
  if (dim === "time") return formatDuration(v);
  if (dim === "bytes") return formatBytes(v);
  if (dim === "bandwidth") return formatByteRate(v);
  if (dim === "percent") return `${Number((v * 100).toFixed(4))}%`;
  return `${v}${dim === "rate" ? ` ${BASE_UNIT.rate}` : ""}`;
}
