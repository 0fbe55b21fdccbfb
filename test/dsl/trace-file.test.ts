// Workload trace files (docs/trace-format.md): every line end, a vCPU the VM has, times the
// kernel can count, and a file that is not a trace refused without a word of its text.
import "reflect-metadata";
import t from "tap";
import { parseTrace } from "../../core/workload/trace-file.js";
import { VmscnError } from "../../core/errors.js";
import { files, run } from "./validate/helpers.js";

/** The VMSCN5013 message parseTrace throws, or "ok" and the records. */
function parse(text: string, pages = 64, vcpus = 1): string {
  try {
    return `ok ${JSON.stringify(parseTrace(text, "t.trace", pages, vcpus))}`;
  } catch (err) {
    return err instanceof VmscnError ? `${err.code} ${err.message}` : `threw ${String(err)}`;
  }
}

const RECORDS = '[{"at":0,"op":"write","first":0,"count":4},{"at":1500000,"op":"read","first":7,"count":1,"vcpu":1},{"at":2000000000,"op":"write","first":9,"count":1}]';

t.test("\\n, \\r\\n and a lone \\r end lines; a UTF-8 byte-order mark is allowed", (t) => {
  const lines = ["# boot", "0 w 0..3", "1.5ms r 7 vcpu 1   # config", "", "2 s w 9"];
  for (const eol of ["\n", "\r\n", "\r"]) {
    t.equal(parse(lines.join(eol), 64, 2), `ok ${RECORDS}`, JSON.stringify(eol));
    t.equal(parse(`\uFEFF${lines.join(eol)}${eol}`, 64, 2), `ok ${RECORDS}`, JSON.stringify(eol));
  }
  t.equal(parse("0 w 1\r\r5 r 2\r"), 'ok [{"at":0,"op":"write","first":1,"count":1},{"at":5,"op":"read","first":2,"count":1}]');
  t.equal(parse("0 w 1\r9 w 99\r"), "VMSCN5013 t.trace:2: page 99 is outside the guest (64 pages)", "line numbers count a lone \\r");
  t.end();
});

t.test("a vCPU the VM does not have is refused", (t) => {
  t.equal(parse("0 w 1 vcpu 99"), "VMSCN5013 t.trace:1: vcpu 99 is not a vCPU of the guest (it has 1: vcpu 0)");
  t.equal(parse("0 w 1\n1 w 2 vcpu 4", 64, 4), "VMSCN5013 t.trace:2: vcpu 4 is not a vCPU of the guest (it has 4: vcpu 0 to 3)");
  t.match(parse("0 w 1 vcpu 3", 64, 4), /^ok /);
  t.end();
});

t.test("a time beyond what simulated time counts is refused", (t) => {
  t.equal(parse("0 w 1\n9007199254740992 w 2"), "VMSCN5013 t.trace:2: time 9007199254740992 is beyond the largest simulated time (2^53 - 1 ns, about 104 days)");
  t.equal(parse("1e3 w 1"), "VMSCN5013 t.trace:1: expected `<time> <r|w> <page>[..<page>] [vcpu <n>]`: this is not a trace file (docs/trace-format.md), and its text is not shown");
  t.equal(parse("99999999999 s w 1"), "VMSCN5013 t.trace:1: time 99999999999s is beyond the largest simulated time (2^53 - 1 ns, about 104 days)");
  t.end();
});

t.test("a file that is not a trace is refused without a word of its text", (t) => {
  const secret = "root:$6$Zq8.secret-hash:19000:0:99999:7:::\nAWS_SECRET_ACCESS_KEY=abc123\n";
  const m = parse(secret);
  t.equal(m, "VMSCN5013 t.trace:1: expected `<time> <r|w> <page>[..<page>] [vcpu <n>]`: this is not a trace file (docs/trace-format.md), and its text is not shown");
  t.notMatch(m, /root|secret|AWS|abc/);
  t.equal(parse("# a comment\n\nPRIVATE KEY\n"), "VMSCN5013 t.trace:3: expected `<time> <r|w> <page>[..<page>] [vcpu <n>]`: this is not a trace file (docs/trace-format.md), and its text is not shown");
  t.equal(parse("0\0w\0 \x001\0"), "VMSCN5013 t.trace is not a trace file: it is not text (it has NUL characters)", "UTF-16 or binary");
  t.equal(parse(`0 w ${"9".repeat(300)}`), "VMSCN5013 t.trace:1: expected `<time> <r|w> <page>[..<page>] [vcpu <n>]`: this is not a trace file (docs/trace-format.md), and its text is not shown", "an over-long line is no record");
  t.end();
});

t.test("in a trace, a bad line is quoted: 40 characters at most, printable ASCII only", (t) => {
  t.equal(parse("0 w 1\n5 x 3\n"), 'VMSCN5013 t.trace:2: expected `<time> <r|w> <page>[..<page>] [vcpu <n>]` (line: "5 x 3")');
  t.equal(parse(`0 w 1\n5 w 3 \x1b[2J${"é".repeat(60)}\n`), `VMSCN5013 t.trace:2: expected \`<time> <r|w> <page>[..<page>] [vcpu <n>]\` (line: "5 w 3 ?[2J${"?".repeat(30)}...")`);
  t.end();
});

t.test("through a run: a trace for a 1-vCPU VM that names vcpu 99 fails the run before it starts", async (t) => {
  const path = files({
    "t.vmscn": `scenario "t" {
  host a { cpus 8  memory 16 GiB }
  vm web on a { vcpus 1  memory 64 MiB  workload { trace "web.trace" } }
  at 0 s: start web
  run until 1 s
}
`,
    "web.trace": "0 w 0..3\r1 ms r 7 vcpu 99\r",
  });
  const r = await run(path);
  t.equal(r.failedPhase, "run");
  t.equal(r.error?.code, "VMSCN5013");
  t.match(r.error?.message, /web\.trace:2: vcpu 99 is not a vCPU of the guest \(it has 1: vcpu 0\)$/);
});
