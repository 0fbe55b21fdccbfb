// Trace files replay a recorded guest access stream (format: docs/trace-format.md):
//   # comment
//   <time> <r|w> <first-page>[..<last-page>] [vcpu <n>]
// <time> is an integer number of ns, or a number with a unit (ns, us, ms, s). Lines end with
// \n, \r\n or a lone \r. A file that is not a trace is refused without a word of its text:
// a trace path may name anything (a key, /etc/shadow), and the error is printed.
import { kernelError, type VmscnError } from "../errors.js";
import type { ScriptedAccess } from "./spec.js";

const UNIT: ReadonlyMap<string, number> = new Map([
  ["ns", 1],
  ["us", 1e3],
  ["ms", 1e6],
  ["s", 1e9],
]);

const RECORD = /^(\d+(?:\.\d+)?)[ \t]*(ns|us|ms|s)?[ \t]+([rw])[ \t]+(\d+)(?:\.\.(\d+))?(?:[ \t]+vcpu[ \t]+(\d+))?$/;

/** A line longer than this is no trace record (the longest real one is under 80 characters). */
const MAX_RECORD = 200;

/**
 * The accesses of a trace for a guest of `pages` pages and `vcpus` vCPUs, in file order.
 * Throws VMSCN5013 with the file and line for the first line that is not a valid record.
 */
export function parseTrace(text: string, file: string, pages: number, vcpus = 1): ScriptedAccess[] {
  const out: ScriptedAccess[] = [];
  if (text.includes("\0")) throw kernelError("VMSCN5013", `${file} is not a trace file: it is not text (it has NUL characters)`);
  let last = 0;
  let lineNo = 0;
  for (let start = 0; start <= text.length; ) {
    const end = lineEnd(text, start);
    lineNo++;
    const raw = text.slice(start, Math.min(end, start + MAX_RECORD + 1));
    const long = end - start > MAX_RECORD;
    start = end + (text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10 ? 2 : 1);
    const line = (lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw).replace(/#.*/, "").trim();
    if (line === "") continue;
    const fail = (why: string): VmscnError => kernelError("VMSCN5013", `${file}:${lineNo}: ${why}`);
    const m = long ? null : RECORD.exec(line);
    if (!m) {
      // Before any record, the file is no trace: nothing of it is shown. Within a trace, a
      // short excerpt of the line helps find the typo.
      if (out.length === 0) throw fail("expected `<time> <r|w> <page>[..<page>] [vcpu <n>]`: this is not a trace file (docs/trace-format.md), and its text is not shown");
      throw fail(`expected \`<time> <r|w> <page>[..<page>] [vcpu <n>]\` (line: "${excerpt(line)}")`);
    }
    const at = Math.round(Number(m[1]) * UNIT.get(m[2] ?? "ns")!);
    const first = Number(m[4]);
    const lastPage = m[5] === undefined ? first : Number(m[5]);
    if (!(at <= Number.MAX_SAFE_INTEGER)) throw fail(`time ${m[1]}${m[2] ?? ""} is beyond the largest simulated time (2^53 - 1 ns, about 104 days)`);
    if (at < last) throw fail(`time goes backwards (${at} ns after ${last} ns)`);
    if (lastPage < first) throw fail(`page range ${first}..${lastPage} is empty`);
    if (lastPage >= pages) throw fail(`page ${lastPage} is outside the guest (${pages} pages)`);
    last = at;
    const acc: ScriptedAccess = { at, op: m[3] === "w" ? "write" : "read", first, count: lastPage - first + 1 };
    if (m[6] !== undefined) {
      const vcpu = Number(m[6]);
      if (!(vcpu < vcpus)) throw fail(`vcpu ${m[6]} is not a vCPU of the guest (it has ${vcpus}: ${vcpus === 1 ? "vcpu 0" : `vcpu 0 to ${vcpus - 1}`})`);
      acc.vcpu = vcpu;
    }
    out.push(acc);
  }
  return out;
}

/** The offset of the line break that ends the line starting at `start` (text.length at the end). */
function lineEnd(text: string, start: number): number {
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return text.length;
}

/** At most 40 characters of a line, printable ASCII only. */
function excerpt(line: string): string {
  const s = line.length > 40 ? `${line.slice(0, 40)}...` : line;
  return s.replace(/[^\x20-\x7e]/g, "?");
}
