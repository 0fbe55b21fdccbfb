// The defensive paths of the front end: what a bug or a surprise from chevrotain would hit.
import t from "tap";
import { EOF, MismatchedTokenException, type IRecognitionException, type IToken } from "chevrotain";
import { parseSource } from "../../../dsl/parse.js";
import { lex, quantityParts, stringValue } from "../../../dsl/lexer.js";
import { offsetLoc } from "../../../dsl/syntax/loc.js";
import { resumeOffsets, syntaxDiagnostics } from "../../../dsl/syntax/messages.js";
import { closest, suggestUnit } from "../../../dsl/syntax/suggest.js";
import { editDistance } from "../../../core/text/edit-distance.js";
import { where } from "./helpers.js";

t.test("an internal failure becomes a VMSCN0101 diagnostic, never an exception", (t) => {
  // (tap's mockImport cannot load .ts through the test loader, so a JS caller's mistake stands in for a bug)
  const r = parseSource(undefined as unknown as string, "x.vmscn");
  t.same(where(r.diagnostics), ["VMSCN0101 1:1"]);
  t.match(r.diagnostics[0]!.message, /^internal error of the parser \(please report it\): /);
  t.equal(r.file.path, "x.vmscn");
  t.same(r.file.scenarios, []);
  t.end();
});

function fakeError(message: string, token: IToken): IRecognitionException {
  const e = new MismatchedTokenException(message, token, token) as unknown as IRecognitionException;
  return e;
}

t.test("an error message not built by our provider still gives a diagnostic", (t) => {
  const { tokens } = lex("host a", "x.vmscn");
  const ds = syntaxDiagnostics([fakeError("not JSON", tokens[1]!)], { file: "x.vmscn", text: "host a", tokens });
  t.same(where(ds), ["VMSCN0101 1:6"]);
  const eof = { tokenType: EOF, image: "", startOffset: NaN } as unknown as IToken;
  const none = syntaxDiagnostics([fakeError("{}", eof)], { file: "x.vmscn", text: "", tokens: [] });
  t.same(where(none), ["VMSCN0103 1:1"]);
  t.same([...resumeOffsets([fakeError("{}", eof)], [])], []);
  t.end();
});

t.test("lexing details: long runs of bad characters, lone CR line breaks, bare numbers", (t) => {
  const r = parseSource(`host a { cpus 1 }\r${"@".repeat(30)}`, "x.vmscn");
  t.same(where(r.diagnostics), ["VMSCN0001 2:1"]);
  t.equal(r.diagnostics[0]!.message, `unexpected characters "${"@".repeat(20)}..."`);
  t.match(r.diagnostics[0]!.loc, { endColumn: 30 });
  t.same(quantityParts("42"), { value: 42, unit: undefined });
  t.equal(stringValue('"abc\\', false), "abc");
  t.match(offsetLoc("x", "a\r\nb\rc", 5, 6), { line: 3, column: 1 });
  t.end();
});

t.test("deep braces are cut like deep expressions", (t) => {
  const r = parseSource(`scenario "s" { hots ${"{".repeat(200)} }`, "x.vmscn");
  t.match(r.diagnostics.find((d) => /nested/.test(d.message)), { code: "VMSCN0101", message: /braces are nested more than 100 levels deep/ });
  t.end();
});

t.test("suggestions", (t) => {
  t.equal(editDistance("", "abc"), 3);
  t.equal(editDistance("ab", "ba"), 1);
  t.equal(editDistance("kitten", "sitting"), 3);
  t.equal(closest("hots", ["host", "vm"]), "host");
  t.equal(closest("x", ["host", "vm"]), undefined);
  t.equal(closest("datastor", ["datastore"]), "datastore");
  t.equal(suggestUnit("GiB"), undefined);
  t.equal(suggestUnit("minutes"), "min");
  t.equal(suggestUnit("Gb/s"), "Gbit/s");
  t.equal(suggestUnit("gb"), "GB");
  t.equal(suggestUnit("sx"), "s");
  t.equal(suggestUnit("start", false), undefined);
  t.equal(suggestUnit("Kib"), "KiB");
  t.equal(suggestUnit("qqqqqq"), undefined);
  t.end();
});
