// Deterministic JSON: the same value always gives the same bytes, whatever order its object
// keys were inserted in, so two runs of a scenario with one seed produce identical reports.
import { kernelError } from "../errors.js";
import { KERNEL_VERSION, REPORT_SCHEMA } from "../version.js";

function isTypedArray(v: object): v is ArrayLike<number | bigint> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) return "null";
  if (n === 0) return "0"; // also -0
  // Integers print in full ("1e+21" is still an integer, but not written as one).
  if (Number.isInteger(n) && Math.abs(n) >= 1e21) return BigInt(n).toString();
  return String(n);
}

/**
 * JSON text with object keys sorted (recursively; arrays keep their order). Integers print
 * as integers, NaN and ±Infinity as null, bigints as integers, typed arrays as arrays, Maps as
 * objects with sorted keys and Sets as arrays. `toJSON()` is honoured as by JSON.stringify.
 * `indent` 0 gives one line. A cycle is a TypeError.
 */
export function stableStringify(value: unknown, indent = 2): string {
  const pad = " ".repeat(Math.max(0, indent));
  const stack = new Set<object>();

  function entries(pairs: [string, unknown][], depth: number): string {
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const parts: string[] = [];
    for (const [k, v] of pairs) {
      const text = write(v, k, depth + 1);
      if (text !== undefined) parts.push(`${JSON.stringify(k)}:${pad === "" ? "" : " "}${text}`);
    }
    return wrap("{", "}", parts, depth);
  }

  function wrap(open: string, close: string, parts: string[], depth: number): string {
    if (parts.length === 0) return open + close;
    if (pad === "") return open + parts.join(",") + close;
    const inner = "\n" + pad.repeat(depth + 1);
    return open + inner + parts.join("," + inner) + "\n" + pad.repeat(depth) + close;
  }

  function items(list: Iterable<unknown>, depth: number): string {
    const parts: string[] = [];
    let i = 0;
    for (const v of list) parts.push(write(v, String(i++), depth + 1) ?? "null");
    return wrap("[", "]", parts, depth);
  }

  /** undefined for values JSON leaves out (undefined, functions, symbols). */
  function write(v: unknown, key: string, depth: number): string | undefined {
    if (typeof v === "object" && v !== null && typeof (v as { toJSON?: unknown }).toJSON === "function") {
      v = (v as { toJSON(key: string): unknown }).toJSON(key);
    }
    switch (typeof v) {
      case "string":
        return JSON.stringify(v);
      case "number":
        return numberText(v);
      case "boolean":
        return v ? "true" : "false";
      case "bigint":
        return v.toString();
      case "undefined":
      case "function":
      case "symbol":
        return undefined;
    }
    if (v === null) return "null";
    const obj = v as object;
    if (stack.has(obj)) throw new TypeError(`stableStringify: the value contains a cycle (at key "${key}")`);
    stack.add(obj);
    try {
      if (Array.isArray(obj)) return items(obj, depth);
      if (isTypedArray(obj)) return items(Array.from(obj as ArrayLike<number>), depth);
      if (obj instanceof Set) return items(obj, depth);
      if (obj instanceof Map) return entries([...obj].map(([k, x]) => [String(k), x]), depth);
      return entries(Object.entries(obj), depth);
    } finally {
      stack.delete(obj);
    }
  }

  return write(value, "", 0) ?? "null";
}

export interface ReportInput {
  /** The scenario's name or path, as the user gave it. */
  readonly scenario: string;
  readonly seed: number;
  /** Simulated time at the end of the run, in ns. */
  readonly simulatedTimeNs: number;
  /** Top-level sections by name: metric groups ("migration", "ksm"), "series", "expectations" ... */
  readonly sections: Readonly<Record<string, unknown>>;
}

export interface Report {
  readonly schema: typeof REPORT_SCHEMA;
  readonly kernel: string;
  readonly scenario: string;
  readonly seed: number;
  readonly simulatedTimeNs: number;
  readonly [section: string]: unknown;
}

const HEADER = ["schema", "kernel", "scenario", "seed", "simulatedTimeNs"];

/**
 * The JSON report: a header naming the schema and kernel versions, then one top-level key per
 * section. A section named like a header field would hide it, so that is refused (VMSCN6008).
 */
export function buildReport(input: ReportInput): Report {
  for (const name of Object.keys(input.sections)) {
    if (HEADER.includes(name)) {
      throw kernelError(
        "VMSCN6008",
        `report section "${name}" has the name of a report header field (${HEADER.join(", ")}); rename the metric group`,
      );
    }
  }
  return {
    ...input.sections,
    schema: REPORT_SCHEMA,
    kernel: KERNEL_VERSION,
    scenario: input.scenario,
    seed: input.seed,
    simulatedTimeNs: input.simulatedTimeNs,
  };
}
