// The report's sections as HTML tables, with the same units as the terminal summary.
import type { Report } from "../../core/report/json.js";
import { formatTime } from "../../core/sim/time.js";
import { formatByteRate, formatBytes, formatDuration, formatRate } from "../summary.js";

export { formatByteRate };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** A cell: text, or a number (right-aligned, so columns of figures line up). */
export type Cell = string | number | { readonly text: string; readonly num: boolean };

function cell(c: Cell, tag: "td" | "th"): string {
  if (typeof c === "number") return `<${tag} class="num">${escapeHtml(String(c))}</${tag}>`;
  if (typeof c === "string") return `<${tag}>${escapeHtml(c)}</${tag}>`;
  return `<${tag}${c.num ? ' class="num"' : ""}>${escapeHtml(c.text)}</${tag}>`;
}

/** A figure with a unit, right-aligned like a number. */
export function num(text: string): Cell {
  return { text, num: true };
}

/** A table; the first column names its row (a `<th>`) unless `rowHeaders` is false. */
export function htmlTable(headers: readonly string[], rows: readonly (readonly Cell[])[], rowHeaders = true): string {
  const head = `<thead><tr>${headers.map((h) => cell(h, "th")).join("")}</tr></thead>`;
  const body = rows.map((r) => `<tr>${r.map((c, i) => cell(c, i === 0 && rowHeaders ? "th" : "td")).join("")}</tr>`).join("\n");
  return `<table>\n${head}\n<tbody>\n${body}\n</tbody>\n</table>`;
}

type Rec = Record<string, unknown>;

function isRecord(v: unknown): v is Rec {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function rec(v: unknown): Rec {
  return isRecord(v) ? v : {};
}

function n(v: unknown): number {
  return typeof v === "number" ? v : Number.NaN;
}

/** Reads report figures defensively: a section a run did not produce shows as a dash. */
function fmt(v: unknown, f: (x: number) => string): Cell {
  return typeof v === "number" && Number.isFinite(v) ? num(f(v)) : num("–");
}

function yesNo(v: unknown): string {
  return v === true ? "yes" : v === false ? "no" : "–";
}

/** A value for a generic table: scalars as text, lists and objects as compact JSON. */
export function plain(v: unknown): Cell {
  if (typeof v === "number") return Number.isFinite(v) ? v : "–";
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return yesNo(v);
  return JSON.stringify(v);
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly html: string;
}

function hostsTable(hosts: Rec): string {
  return htmlTable(
    ["host", "up", "cpus", "memory", "used", "peak", "sent", "received", "worlds"],
    Object.entries(hosts).map(([name, v]) => {
      const h = rec(v);
      const mem = rec(h["memory"]);
      const net = rec(h["network"]);
      const worlds = Array.isArray(h["worlds"]) ? (h["worlds"] as unknown[]).join(" ") : "";
      return [name, yesNo(h["up"]), plain(h["cpus"]), fmt(mem["capacity"], formatBytes), fmt(mem["used"], formatBytes), fmt(mem["peak"], formatBytes), fmt(net["bytesSent"], formatBytes), fmt(net["bytesReceived"], formatBytes), worlds];
    }),
  );
}

function vmsTable(vms: Rec): string {
  return htmlTable(
    ["vm", "host", "state", "vcpus", "memory", "resident", "reads", "writes", "faults", "cow breaks", "stalled"],
    Object.entries(vms).map(([name, v]) => {
      const vm = rec(v);
      const acc = rec(vm["accesses"]);
      const state = typeof vm["failure"] === "string" ? `${String(vm["state"])}: ${vm["failure"]}` : plain(vm["state"]);
      return [
        name,
        plain(vm["host"]),
        state,
        plain(vm["vcpus"]),
        fmt(vm["memory"], formatBytes),
        fmt(n(rec(vm["pages"])["present"]) * 4096, formatBytes),
        plain(acc["reads"]),
        plain(acc["writes"]),
        plain(acc["faults"]),
        plain(acc["cowBreaks"]),
        fmt(rec(vm["workload"])["stallNs"] ?? 0, formatDuration),
      ];
    }),
  );
}

function linksTable(links: Rec): string {
  return htmlTable(
    ["link", "up", "bandwidth", "latency", "a → b", "b → a"],
    Object.entries(links).map(([name, v]) => {
      const l = rec(v);
      return [name, yesNo(l["up"]), fmt(l["bandwidth"], formatRate), fmt(l["latency"], formatDuration), fmt(l["bytesAB"], formatBytes), fmt(l["bytesBA"], formatBytes)];
    }),
  );
}

function datastoresTable(ds: Rec): string {
  return htmlTable(
    ["datastore", "hosts", "bandwidth", "latency", "read", "written", "ios", "failed", "files"],
    Object.entries(ds).map(([name, v]) => {
      const d = rec(v);
      const hosts = Array.isArray(d["hosts"]) ? (d["hosts"] as unknown[]).join(" ") : "";
      return [name, hosts, fmt(d["bandwidth"], formatByteRate), fmt(d["latency"], formatDuration), fmt(d["bytesRead"], formatBytes), fmt(d["bytesWritten"], formatBytes), plain(d["ios"]), plain(d["failed"]), plain(d["files"])];
    }),
  );
}

function actionsTable(actions: unknown[]): string {
  return htmlTable(
    ["time", "action", "options", "state", "finished"],
    actions.map((v) => {
      const a = rec(v);
      const args = Object.values(rec(a["args"])).map(String).join(" ");
      const options = Object.entries(rec(a["options"]))
        .map(([k, o]) => `${k}=${typeof o === "object" ? JSON.stringify(o) : String(o)}`)
        .join(" ");
      const state = typeof a["failure"] === "string" ? `${String(a["state"])}: ${a["failure"]}` : plain(a["state"]);
      return [fmt(a["time"], formatTime), `${String(a["verb"])} ${args}`.trim(), options, state, fmt(a["finishedAt"], formatTime)];
    }),
  );
}

/** Leaf values of a nested object under dotted keys: `{ram: {total: 1}}` → `ram.total`. */
export function flatten(v: unknown, prefix = "", out: [string, unknown][] = []): [string, unknown][] {
  if (isRecord(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix === "" ? k : `${prefix}.${k}`, out);
  } else out.push([prefix, v]);
  return out;
}

/**
 * A section the HTML page has no special table for (a plugin's, say): one row per entry when
 * it maps names to objects (`migration.web`, `migration.db`), else one row per figure.
 */
export function genericTable(value: unknown): string {
  if (isRecord(value)) {
    const entries = Object.entries(value);
    if (entries.length > 0 && entries.every(([, x]) => isRecord(x))) {
      const columns: string[] = [];
      const rows = entries.map(([name, x]) => {
        const flat = new Map(flatten(x));
        for (const k of flat.keys()) if (!columns.includes(k)) columns.push(k);
        return { name, flat };
      });
      return htmlTable(["name", ...columns], rows.map((r) => [r.name, ...columns.map((c) => plain(r.flat.get(c)))]));
    }
    const flat = flatten(value);
    // A handful of counters read best as one row; a long list of figures as one per line.
    if (flat.length <= 12) return htmlTable(flat.map(([k]) => k), [flat.map(([, x]) => plain(x))], false);
    return htmlTable(["figure", "value"], flat.map(([k, x]) => [k, plain(x)]));
  }
  if (Array.isArray(value) && value.length > 0 && value.every(isRecord)) {
    const flats = value.map((x) => new Map(flatten(x)));
    const columns = [...new Set(flats.flatMap((f) => [...f.keys()]))];
    return htmlTable(["#", ...columns], flats.map((f, i) => [String(i + 1), ...columns.map((c) => plain(f.get(c)))]));
  }
  return `<p>${escapeHtml(String(plain(value) as string | number))}</p>`;
}

const HEADER = new Set(["schema", "kernel", "scenario", "seed", "simulatedTimeNs"]);
// Shown in the page header or left to the JSON: the run's bookkeeping and per-file detail.
const NOT_TABLED = new Set(["run", "files", "series"]);

/** The report's sections in reading order: the kernel's first, then plugins' in name order. */
export function reportSections(report: Report): Section[] {
  const out: Section[] = [];
  const add = (id: string, title: string, html: string): void => void out.push({ id, title, html });
  const hosts = rec(report["hosts"]);
  if (Object.keys(hosts).length > 0) add("hosts", "Hosts", hostsTable(hosts));
  const vms = rec(report["vms"]);
  if (Object.keys(vms).length > 0) add("vms", "VMs", vmsTable(vms));
  const links = rec(report["links"]);
  if (Object.keys(links).length > 0) add("links", "Links", linksTable(links));
  const ds = rec(report["datastores"]);
  if (Object.keys(ds).length > 0) add("datastores", "Datastores", datastoresTable(ds));
  if (isRecord(report["transfers"])) add("transfers", "Transfers", genericTable(report["transfers"]));
  const actions = report["actions"];
  if (Array.isArray(actions) && actions.length > 0) add("actions", "Actions", actionsTable(actions));
  const known = new Set(["hosts", "vms", "links", "datastores", "transfers", "actions"]);
  const rest = Object.keys(report)
    .filter((k) => !HEADER.has(k) && !NOT_TABLED.has(k) && !known.has(k))
    .sort();
  for (const k of rest) add(`section-${k.replace(/[^A-Za-z0-9_-]/g, "-")}`, k, genericTable(report[k]));
  return out;
}
