// Trace files replay a recorded guest access stream (format: docs/trace-format.md):
//   # comment
//   <time> <r|w> <first-page>[..<last-page>] [vcpu <n>]
// <time> is an integer number of ns, or a number with a unit (ns, us, ms, s).
import { kernelError } from "../errors.js";
import type { ScriptedAccess } from "./spec.js";

const UNIT: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };

export function parseTrace(text: string, file: string, pages: number): ScriptedAccess[] {
  const out: ScriptedAccess[] = [];
  const lines = text.split(/\r?\n/);
  let last = 0;
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const fail = (why: string) => kernelError("VMSCN5013", `${file}:${i + 1}: ${why} (line: "${raw.trim()}")`);
    const m = /^(\d+(?:\.\d+)?)\s*(ns|us|ms|s)?\s+([rw])\s+(\d+)(?:\.\.(\d+))?(?:\s+vcpu\s+(\d+))?$/.exec(line);
    if (!m) throw fail("expected `<time> <r|w> <page>[..<page>] [vcpu <n>]`");
    const at = Math.round(Number(m[1]) * UNIT[m[2] ?? "ns"]!);
    const first = Number(m[4]);
    const lastPage = m[5] === undefined ? first : Number(m[5]);
    if (at < last) throw fail(`time goes backwards (${at} ns after ${last} ns)`);
    if (lastPage < first) throw fail(`page range ${first}..${lastPage} is empty`);
    if (lastPage >= pages) throw fail(`page ${lastPage} is outside the guest (${pages} pages)`);
    last = at;
    const acc: ScriptedAccess = { at, op: m[3] === "w" ? "write" : "read", first, count: lastPage - first + 1 };
    if (m[6] !== undefined) acc.vcpu = Number(m[6]);
    out.push(acc);
  });
  return out;
}
