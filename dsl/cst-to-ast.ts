// CST → AST. After error recovery a CST node may lack any of its parts: every method checks
// what it needs and leaves out a node it cannot build (the parse errors already say why),
// so the visitor never throws on a partial tree.
import type { CstElement, CstNode, IToken } from "chevrotain";
import type {
  ActionStmt,
  ActivityNode,
  Atom,
  ContentMixNode,
  DatastoreDecl,
  Declaration,
  DiskNode,
  ExpectStmt,
  Expr,
  HostDecl,
  ImportStmt,
  LinkDecl,
  Loc,
  MixPart,
  Name,
  PaceNode,
  PatternNode,
  PropertyProblem,
  Quantity,
  RangeLit,
  RunStmt,
  ScenarioBlock,
  ScriptedStmt,
  HypercallStmt,
  SeedStmt,
  Statement,
  StringLit,
  TickStmt,
  UsePluginStmt,
  VmDecl,
  WordLit,
  WorkloadNode,
} from "./ast.js";
import { diag, type Diagnostic } from "./diagnostics.js";
import { numberValue, quantityParts, stringValue } from "./lexer.js";
import { parser } from "./parser.js";
import { isReal, nodeLoc, spanLoc, tokenLoc } from "./syntax/loc.js";
import { unknownWord } from "./syntax/messages.js";
import { Quantity as QuantityTok, Str } from "./tokens.js";

type Ch = Record<string, CstElement[] | undefined>;

const isToken = (e: CstElement): e is IToken => (e as IToken).tokenType !== undefined;

/** The i-th token under `name`, unless the parser invented it while recovering. */
function tok(ch: Ch, name: string, i = 0): IToken | undefined {
  const e = ch[name]?.[i];
  return e !== undefined && isToken(e) && isReal(e) ? e : undefined;
}

function node(ch: Ch, name: string, i = 0): CstNode | undefined {
  const e = ch[name]?.[i];
  return e !== undefined && !isToken(e) ? e : undefined;
}

const NONE: readonly [] = [];

/** The child nodes under a rule's name (chevrotain keeps a subrule's nodes under its name). */
function nodes(ch: Ch, name: string): readonly CstNode[] {
  return (ch[name] as CstNode[] | undefined) ?? NONE;
}

/** The real tokens under `name`: tokens the parser inserted while recovering are left out. */
function tokens(ch: Ch, name: string): readonly IToken[] {
  const all: readonly IToken[] = (ch[name] as IToken[] | undefined) ?? NONE;
  return all.every((t) => isReal(t)) ? all : all.filter((t) => isReal(t));
}

const defined = <T>(x: T | undefined): x is T => x !== undefined;

/** Operators in one expression at most: far beyond any real expectation, far below the stack's depth. */
export const MAX_OPERATORS = 1000;

export interface AstResult {
  topLevel: Statement[];
  scenarios: ScenarioBlock[];
  /**
   * Offsets just past each unknown statement or property: a parse error at the next token
   * there (`write 5 pages/s uniform`: "uniform") is a consequence of the unknown word.
   */
  afterUnknown: Set<number>;
}

const BaseVisitor = parser.getBaseCstVisitorConstructor();

type Problems = { problems: PropertyProblem[] };

/** Where an unknown word stands: the enclosing block's rule and its description. */
interface Where {
  block: string;
  what: string | undefined;
}

class AstBuilder extends BaseVisitor {
  private fileName = "";
  private text = "";
  private diagnostics: Diagnostic[] = [];
  private tokens: IToken[] = [];
  private quiet: ReadonlySet<number> = new Set();
  private afterUnknown = new Set<number>();
  /** The operators of the expression being built, to hold it to MAX_OPERATORS. */
  private operators: IToken[] = [];

  constructor() {
    super();
    // Fails at load time if a grammar rule has no method here.
    this.validateVisitor();
  }

  build(cst: CstNode, file: string, text: string, tokens: IToken[], quiet: ReadonlySet<number>, diagnostics: Diagnostic[]): AstResult {
    this.fileName = file;
    this.tokens = tokens;
    this.quiet = quiet;
    this.afterUnknown = new Set();
    this.text = text;
    this.diagnostics = diagnostics;
    return this.go<AstResult>(cst)!;
  }

  // ---- helpers --------------------------------------------------------------------------

  /**
   * Dispatches like chevrotain's `visit`, but also hands the method its node, whose location
   * chevrotain has already computed ("full" tracking): cheaper than re-deriving it.
   */
  private go<T>(n: CstNode, param?: unknown): T | undefined {
    return (this as unknown as Record<string, (ch: Ch, param: unknown, n: CstNode) => T | undefined>)[n.name]!(n.children, param, n);
  }

  private sub<T>(ch: Ch, name: string, i = 0, param?: unknown): T | undefined {
    const n = node(ch, name, i);
    return n === undefined ? undefined : this.go<T>(n, param);
  }

  private at(n: CstNode): Loc | undefined {
    return nodeLoc(this.fileName, n);
  }

  private name(t: IToken | undefined): Name | undefined {
    return t === undefined ? undefined : { text: t.image, loc: tokenLoc(this.fileName, t) };
  }

  private quantity(t: IToken | undefined): Quantity | undefined {
    if (t === undefined) return undefined;
    const loc = tokenLoc(this.fileName, t);
    if (t.tokenType === QuantityTok || t.tokenType.CATEGORIES?.includes(QuantityTok)) {
      const { value, unit } = quantityParts(t.image);
      return { kind: "quantity", value, unit, loc };
    }
    return { kind: "quantity", value: numberValue(t.image), unit: undefined, loc };
  }

  private string(t: IToken | undefined): StringLit | undefined {
    return t === undefined ? undefined : { kind: "string", value: stringValue(t.image, t.tokenType === Str), loc: tokenLoc(this.fileName, t) };
  }

  /** Sets a property once; a second one is recorded as a problem for the validator (VMSCN0214). */
  private setOnce<T extends Problems, P extends keyof T>(decl: T, key: P, value: T[P] | undefined, n: CstNode, property: string): void {
    if (value === undefined) return;
    if (decl[key] !== undefined) {
      const loc = this.at(n);
      if (loc !== undefined) decl.problems.push({ problem: "duplicate", property, loc });
      return;
    }
    decl[key] = value;
  }

  // ---- file and statements --------------------------------------------------------------

  file(ch: Ch): AstResult {
    const out: AstResult = { topLevel: [], scenarios: [], afterUnknown: this.afterUnknown };
    let after: string | undefined;
    for (const n of nodes(ch, "topStatement")) {
      const s = this.go<Statement | ScenarioBlock>(n, { block: "file", what: after } satisfies Where);
      if (s === undefined) continue;
      if ("body" in s) {
        out.scenarios.push(s);
        after = `scenario "${s.name.value}"`;
      } else out.topLevel.push(s);
    }
    return out;
  }

  topStatement(ch: Ch, where: Where): Statement | ScenarioBlock | undefined {
    return (
      this.sub(ch, "importStmt") ??
      this.sub(ch, "usePluginStmt") ??
      this.sub(ch, "scenarioBlock") ??
      this.sub(ch, "declaration") ??
      this.sub(ch, "unknownStatement", 0, where)
    );
  }

  /** Reported here rather than by the parser: see the grammar's unknownStatement. */
  unknownStatement(ch: Ch, where: Where, n: CstNode): undefined {
    this.reportUnknown(tok(ch, "Identifier"), where, n);
    return undefined;
  }

  /** Reported here rather than by the parser: see the grammar's unknownProperty. */
  unknownProperty(ch: Ch, where: Where, n: CstNode): undefined {
    this.reportUnknown(tok(ch, "Identifier"), where, n);
    return undefined;
  }

  /** Never visited: an unknown statement's block is skipped whole. */
  anyBlock(): undefined {
    return undefined;
  }

  private reportUnknown(word: IToken | undefined, where: Where, n: CstNode): void {
    if (word === undefined) return;
    const end = n.location?.endOffset;
    if (end !== undefined && !Number.isNaN(end)) this.afterUnknown.add(end + 1);
    if (!this.quiet.has(word.startOffset)) this.diagnostics.push(unknownWord(this.fileName, this.tokens, word, where.block, where.what));
  }

  importStmt(ch: Ch, _: unknown, n: CstNode): ImportStmt | undefined {
    const path = this.string(tok(ch, "Str"));
    const loc = this.at(n);
    return path && loc && { type: "import", path, loc };
  }

  usePluginStmt(ch: Ch, _: unknown, n: CstNode): UsePluginStmt | undefined {
    const spec = this.string(tok(ch, "Str"));
    const loc = this.at(n);
    return spec && loc && { type: "use-plugin", spec, loc };
  }

  scenarioBlock(ch: Ch, _: unknown, n: CstNode): ScenarioBlock | undefined {
    const loc = this.at(n);
    if (loc === undefined) return undefined;
    // A scenario whose name is missing still holds statements worth validating.
    const name = this.string(tok(ch, "Str")) ?? { kind: "string", value: "", loc: spanLoc(loc, loc) };
    const where: Where = { block: "scenarioBlock", what: name.value === "" ? "the scenario" : `scenario "${name.value}"` };
    const body = nodes(ch, "scenarioStatement")
      .map((n) => this.go<Statement>(n, where))
      .filter(defined);
    return { name, body, loc };
  }

  scenarioStatement(ch: Ch, where: Where): Statement | undefined {
    const misplaced = this.sub<ImportStmt | UsePluginStmt>(ch, "importStmt") ?? this.sub<ImportStmt | UsePluginStmt>(ch, "usePluginStmt");
    if (misplaced !== undefined) {
      const what = misplaced.type === "import" ? '"import"' : '"use plugin"';
      this.diagnostics.push(diag("VMSCN0101", `${what} belongs at the top level of the file, outside the scenario block`, misplaced.loc, "parse"));
      return undefined;
    }
    return (
      this.sub(ch, "seedStmt") ??
      this.sub(ch, "tickStmt") ??
      this.sub(ch, "declaration") ??
      this.sub(ch, "actionStmt") ??
      this.sub(ch, "runStmt") ??
      this.sub(ch, "expectStmt") ??
      this.sub(ch, "unknownStatement", 0, where)
    );
  }

  seedStmt(ch: Ch, _: unknown, n: CstNode): SeedStmt | undefined {
    const value = this.sub<Quantity>(ch, "countValue");
    const loc = this.at(n);
    return value && loc && { type: "seed", value, loc };
  }

  tickStmt(ch: Ch, _: unknown, n: CstNode): TickStmt | undefined {
    const value = this.sub<Quantity>(ch, "timeValue");
    const loc = this.at(n);
    return value && loc && { type: "tick", value, loc };
  }

  // ---- declarations ---------------------------------------------------------------------

  declaration(ch: Ch): Declaration | undefined {
    return this.sub(ch, "hostDecl") ?? this.sub(ch, "linkDecl") ?? this.sub(ch, "datastoreDecl") ?? this.sub(ch, "vmDecl");
  }

  hostDecl(ch: Ch, _: unknown, n: CstNode): HostDecl | undefined {
    const name = this.name(tok(ch, "Name"));
    const loc = this.at(n);
    if (name === undefined || loc === undefined) return undefined;
    const decl: HostDecl = { type: "host", name, problems: [], loc };
    for (const n of nodes(ch, "hostProperty")) this.go(n, decl);
    return decl;
  }

  hostProperty(ch: Ch, decl: HostDecl, n: CstNode): void {
    if (ch.unknownProperty) return this.sub(ch, "unknownProperty", 0, { block: "hostDecl", what: `host "${decl.name.text}"` } satisfies Where);
    if (ch.Kw_cpus) this.setOnce(decl, "cpus", this.sub<Quantity>(ch, "countValue"), n, "cpus");
    else if (ch.Kw_memory) this.setOnce(decl, "memory", this.sub<Quantity>(ch, "sizeValue"), n, "memory");
    else if (ch.Kw_nic) this.setOnce(decl, "nic", this.sub<Quantity>(ch, "bandwidthValue"), n, "nic");
    else if (ch.Kw_nodes) this.setOnce(decl, "nodes", this.sub<Quantity>(ch, "countValue"), n, "nodes");
    else if (ch.Kw_vmm) this.setOnce(decl, "vmm", this.string(tok(ch, "Str")), n, "vmm");
    else if (ch.Kw_hypercalls) this.setOnce(decl, "hypercalls", this.string(tok(ch, "Str")), n, "hypercalls");
    else {
      const t = tok(ch, "Kw_rdma");
      if (t !== undefined) this.setOnce(decl, "rdma", { loc: tokenLoc(this.fileName, t) }, n, "rdma");
    }
  }

  linkDecl(ch: Ch, _: unknown, n: CstNode): LinkDecl | undefined {
    const a = this.name(tok(ch, "Name", 0));
    const b = this.name(tok(ch, "Name", 1));
    const loc = this.at(n);
    if (a === undefined || b === undefined || loc === undefined) return undefined;
    const decl: LinkDecl = { type: "link", a, b, problems: [], loc };
    for (const n of nodes(ch, "linkProperty")) this.go(n, decl);
    return decl;
  }

  linkProperty(ch: Ch, decl: LinkDecl, n: CstNode): void {
    if (ch.unknownProperty) return this.sub(ch, "unknownProperty", 0, { block: "linkDecl", what: `link "${decl.a.text}<->${decl.b.text}"` } satisfies Where);
    if (ch.Kw_bandwidth) this.setOnce(decl, "bandwidth", this.sub<Quantity>(ch, "bandwidthValue"), n, "bandwidth");
    else this.setOnce(decl, "latency", this.sub<Quantity>(ch, "timeValue"), n, "latency");
  }

  datastoreDecl(ch: Ch, _: unknown, n: CstNode): DatastoreDecl | undefined {
    const name = this.name(tok(ch, "Name"));
    const loc = this.at(n);
    if (name === undefined || loc === undefined) return undefined;
    const decl: DatastoreDecl = { type: "datastore", name, problems: [], loc };
    for (const n of nodes(ch, "datastoreProperty")) this.go(n, decl);
    return decl;
  }

  datastoreProperty(ch: Ch, decl: DatastoreDecl, n: CstNode): void {
    if (ch.unknownProperty) return this.sub(ch, "unknownProperty", 0, { block: "datastoreDecl", what: `datastore "${decl.name.text}"` } satisfies Where);
    if (ch["Kw_shared_by"]) {
      const hosts = tokens(ch, "Name").map((t) => this.name(t)!);
      this.setOnce(decl, "sharedBy", hosts.length > 0 ? hosts : undefined, n, "shared-by");
    } else if (ch.Kw_on) this.setOnce(decl, "on", this.name(tok(ch, "Name")), n, "on");
    else if (ch.Kw_bandwidth) this.setOnce(decl, "bandwidth", this.sub<Quantity>(ch, "bandwidthValue"), n, "bandwidth");
    else if (ch.Kw_latency) this.setOnce(decl, "latency", this.sub<Quantity>(ch, "timeValue"), n, "latency");
    else this.setOnce(decl, "iops", this.sub<Quantity>(ch, "countValue"), n, "iops");
  }

  vmDecl(ch: Ch, _: unknown, n: CstNode): VmDecl | undefined {
    const name = this.name(tok(ch, "Name", 0));
    const host = this.name(tok(ch, "Name", 1));
    const loc = this.at(n);
    if (name === undefined || host === undefined || loc === undefined) return undefined;
    const decl: VmDecl = { type: "vm", name, host, disks: [], problems: [], loc };
    for (const n of nodes(ch, "vmProperty")) this.go(n, decl);
    return decl;
  }

  vmProperty(ch: Ch, decl: VmDecl, n: CstNode): void {
    if (ch.unknownProperty) return this.sub(ch, "unknownProperty", 0, { block: "vmDecl", what: `vm "${decl.name.text}"` } satisfies Where);
    if (ch.Kw_vcpus) this.setOnce(decl, "vcpus", this.sub<Quantity>(ch, "countValue"), n, "vcpus");
    else if (ch.Kw_memory) this.setOnce(decl, "memory", this.sub<Quantity>(ch, "sizeValue"), n, "memory");
    else if (ch.Kw_disk) {
      const datastore = this.name(tok(ch, "Name"));
      const size = this.sub<Quantity>(ch, "sizeValue");
      const loc = this.at(n);
      if (datastore && size && loc) decl.disks.push({ datastore, size, loc } satisfies DiskNode);
    } else if (ch["Kw_device_state"]) this.setOnce(decl, "deviceState", this.sub<Quantity>(ch, "sizeValue"), n, "device-state");
    else if (ch.Kw_mac) this.setOnce(decl, "mac", this.string(tok(ch, "Str")), n, "mac");
    else if (ch.Kw_boot) this.setOnce(decl, "boot", this.sub<Quantity>(ch, "timeValue"), n, "boot");
    else if (ch.Kw_init) this.setOnce(decl, "init", this.sub<Quantity>(ch, "timeValue"), n, "init");
    else if (ch["Kw_app_launch"]) this.setOnce(decl, "appLaunch", this.sub<Quantity>(ch, "timeValue"), n, "app-launch");
    else if (ch.Kw_guest) this.setOnce(decl, "guest", this.string(tok(ch, "Str")), n, "guest");
    else if (ch.Kw_usage) this.setOnce(decl, "usage", this.string(tok(ch, "Str")), n, "usage");
    else if (ch.Kw_initial) this.setOnce(decl, "initial", this.sub<ContentMixNode>(ch, "contentMix"), n, "initial");
    else this.setOnce(decl, "workload", this.sub<WorkloadNode>(ch, "workloadBlock"), n, "workload");
  }

  contentMix(ch: Ch, _: unknown, n: CstNode): ContentMixNode | undefined {
    const parts = nodes(ch, "mixPart")
      .map((n) => this.go<MixPart>(n))
      .filter(defined);
    const loc = this.at(n);
    return loc && parts.length > 0 ? { parts, loc } : undefined;
  }

  mixPart(ch: Ch, _: unknown, n: CstNode): MixPart | undefined {
    const percent = this.sub<Quantity>(ch, "percentValue", 0);
    const loc = this.at(n);
    if (percent === undefined || loc === undefined) return undefined;
    if (ch.Kw_zero) return { kind: "zero", percent, loc };
    if (ch.Kw_random) return { kind: "random", percent, loc };
    if (ch.Kw_image) {
      const image = this.string(tok(ch, "Str"));
      return image && { kind: "image", image, percent, loc };
    }
    const at = this.sub<Quantity>(ch, "percentValue", 1);
    return at === undefined ? { kind: "compressible", percent, loc } : { kind: "compressible", percent, at, loc };
  }

  workloadBlock(ch: Ch, _: unknown, n: CstNode): WorkloadNode | undefined {
    const loc = this.at(n);
    if (loc === undefined) return undefined;
    const w: WorkloadNode = { activities: [], disk: [], problems: [], loc };
    for (const n of nodes(ch, "workloadProperty")) this.go(n, w);
    return w;
  }

  workloadProperty(ch: Ch, w: WorkloadNode, n: CstNode): void {
    if (ch.unknownProperty) return this.sub(ch, "unknownProperty", 0, { block: "workloadBlock", what: "the workload" } satisfies Where);
    if (ch.Kw_writes || ch.Kw_reads) {
      const rate = this.sub<Quantity>(ch, "rateValue");
      const pattern = this.sub<PatternNode>(ch, "pattern");
      const pace = this.sub<PaceNode>(ch, "pace");
      const loc = this.at(n);
      const op = ch.Kw_writes ? "write" : "read";
      if (rate && pattern && loc) {
        const a: ActivityNode = pace ? { op, rate, pattern, pace, loc } : { op, rate, pattern, loc };
        if (ch.Kw_disk) w.disk.push(a);
        else w.activities.push(a);
      }
    } else if (ch.Kw_content) this.setOnce(w, "content", this.sub<ContentMixNode>(ch, "contentMix"), n, "content");
    else if (ch["Kw_write_size"]) this.setOnce(w, "writeSize", this.sub<Quantity>(ch, "sizeValue"), n, "write-size");
    else if (ch["Kw_write_offset"]) this.setOnce(w, "writeOffset", this.sub<Quantity>(ch, "sizeValue"), n, "write-offset");
    else this.setOnce(w, "trace", this.string(tok(ch, "Str")), n, "trace");
  }

  pattern(ch: Ch, _: unknown, n: CstNode): PatternNode | undefined {
    const loc = this.at(n);
    if (loc === undefined) return undefined;
    if (ch.Kw_uniform) return { kind: "uniform", loc };
    if (ch.Kw_sequential) {
      const over = this.sub<Quantity>(ch, "percentValue");
      return over ? { kind: "sequential", over, loc } : { kind: "sequential", loc };
    }
    const p: PatternNode = { kind: "zipf", loc };
    const skew = this.sub<Quantity>(ch, "numberValue");
    const over = this.sub<Quantity>(ch, "percentValue");
    if (skew) p.skew = skew;
    if (over) p.over = over;
    return p;
  }

  pace(ch: Ch, _: unknown, n: CstNode): PaceNode | undefined {
    const loc = this.at(n);
    if (loc === undefined) return undefined;
    return { value: ch.Kw_paced ? "paced" : "catch-up", loc };
  }

  // ---- actions --------------------------------------------------------------------------

  actionStmt(ch: Ch, _: unknown, n: CstNode): ActionStmt | ScriptedStmt | HypercallStmt | undefined {
    let time = this.sub<Quantity>(ch, "timeValue");
    const minus = tok(ch, "Minus");
    if (time !== undefined && minus !== undefined) {
      time = { ...time, value: -time.value, loc: { ...time.loc, column: minus.startColumn ?? time.loc.column, start: minus.startOffset } };
    }
    const verb = this.name(tok(ch, "VerbWord"));
    const loc = this.at(n);
    if (time === undefined || verb === undefined || loc === undefined) return undefined;
    const args = nodes(ch, "atom")
      .map((n) => this.go<Atom>(n))
      .filter(defined);
    const block = this.sub<{ atoms: Atom[]; loc: Loc }>(ch, "optionBlock");
    if (isScripted(args)) return this.scripted(time, verb, args, block?.loc, loc);
    if (isWord(args[0], "hypercall")) return this.hypercall(time, verb, args, block, loc);
    return { type: "action", time, verb, args, options: block?.atoms, optionsLoc: block?.loc, loc };
  }

  optionBlock(ch: Ch, _: unknown, n: CstNode): { atoms: Atom[]; loc: Loc } | undefined {
    const loc = this.at(n);
    const atoms = nodes(ch, "atom")
      .map((n) => this.go<Atom>(n))
      .filter(defined);
    return loc && { atoms, loc };
  }

  atom(ch: Ch, _: unknown, n: CstNode): Atom | undefined {
    const loc = this.at(n);
    if (loc === undefined) return undefined;
    const word = tok(ch, "AtomWord");
    if (word !== undefined) {
      const other = tok(ch, "Name");
      // A link reference is one word, `a<->b`, whatever blanks surround the arrow.
      return { kind: "word", text: other !== undefined ? `${word.image}<->${other.image}` : word.image, loc } satisfies WordLit;
    }
    const q = tok(ch, "Quantity");
    if (q !== undefined) return this.quantity(q);
    const first = tok(ch, "NumberLit", 0);
    if (first !== undefined) {
      if (ch.DotDot === undefined) return this.quantity(first);
      const last = tok(ch, "NumberLit", 1);
      return last && ({ kind: "range", first: numberValue(first.image), last: numberValue(last.image), loc } satisfies RangeLit);
    }
    const s = tok(ch, "Str");
    if (s !== undefined) return this.string(s);
    return { kind: "comma", loc };
  }

  /** A diagnostic: `expected` was wanted at args[i] (missing, or something else found). */
  private expectedAfter(args: Atom[], i: number, expected: string): undefined {
    const after = describeAtom(this.text, args[i - 1]!);
    const at = args[i];
    this.diagnostics.push(
      at === undefined
        ? diag("VMSCN0103", `expected ${expected} after ${after}`, args[i - 1]!.loc, "parse")
        : diag("VMSCN0101", `expected ${expected} after ${after}, but found ${describeAtom(this.text, at)}`, at.loc, "parse"),
    );
    return undefined;
  }

  /** `web writes pages 0..1023 [on vcpu N]`, `web reads page 5`: checked word by word. */
  private scripted(time: Quantity, vm: Name, args: Atom[], optionsLoc: Loc | undefined, loc: Loc): ScriptedStmt | undefined {
    const op = (args[0] as WordLit).text === "writes" ? "write" : "read";
    const unit = (args[1] as WordLit).text;
    const fail = (i: number, expected: string): undefined => this.expectedAfter(args, i, expected);
    const target = args[2];
    let pages: RangeLit;
    if (unit === "pages") {
      if (target?.kind !== "range") return fail(2, 'a page range such as "0..1023"');
      pages = target;
    } else {
      if (target?.kind !== "quantity" || target.unit !== undefined) return fail(2, 'a page number such as "5"');
      pages = { kind: "range", first: target.value, last: target.value, loc: target.loc };
    }
    const s: ScriptedStmt = { type: "scripted", time, vm, op, pages, loc };
    if (args.length > 3) {
      if (!isWord(args[3], "on")) return fail(3, '"on vcpu N" or the end of the statement');
      if (!isWord(args[4], "vcpu")) return fail(4, '"vcpu"');
      const n = args[5];
      if (n?.kind !== "quantity" || n.unit !== undefined) return fail(5, 'a vCPU number such as "1"');
      if (args.length > 6) return fail(6, "the end of the statement");
      s.vcpu = n;
    }
    if (optionsLoc !== undefined) {
      this.diagnostics.push(diag("VMSCN0101", "a scripted guest access takes no options in braces", optionsLoc, "parse"));
      return undefined;
    }
    return s;
  }

  /** `web hypercall fork [on vcpu N] { options }`: a hypercall the guest issues. */
  private hypercall(time: Quantity, vm: Name, args: Atom[], block: { atoms: Atom[]; loc: Loc } | undefined, loc: Loc): HypercallStmt | undefined {
    const fail = (i: number, expected: string): undefined => this.expectedAfter(args, i, expected);
    const name = args[1];
    if (name?.kind !== "word") return fail(1, 'the hypercall\'s name, such as "fork"');
    const s: HypercallStmt = { type: "hypercall", time, vm, name: { text: name.text, loc: name.loc }, options: block?.atoms, optionsLoc: block?.loc, loc };
    if (args.length > 2) {
      if (!isWord(args[2], "on")) return fail(2, '"on vcpu N", options in braces, or the end of the statement');
      if (!isWord(args[3], "vcpu")) return fail(3, '"vcpu"');
      const n = args[4];
      if (n?.kind !== "quantity" || n.unit !== undefined) return fail(4, 'a vCPU number such as "1"');
      if (args.length > 5) return fail(5, "options in braces or the end of the statement");
      s.vcpu = n;
    }
    return s;
  }

  runStmt(ch: Ch, _: unknown, n: CstNode): RunStmt | undefined {
    const target = node(ch, "runTarget");
    const loc = this.at(n);
    if (target === undefined || loc === undefined) return undefined;
    const until = this.go<Quantity | "done">(target);
    if (until === undefined) return undefined;
    return { type: "run", until: until === "done" ? undefined : until, loc };
  }

  runTarget(ch: Ch): Quantity | "done" | undefined {
    if (tok(ch, "Kw_done")) return "done";
    return this.quantity(tok(ch, "Quantity") ?? tok(ch, "NumberLit"));
  }

  expectStmt(ch: Ch, _: unknown, n: CstNode): ExpectStmt | undefined {
    this.operators = [];
    const expr = this.sub<Expr>(ch, "orExpr");
    const loc = this.at(n);
    if (expr === undefined || loc === undefined) return undefined;
    if (this.operators.length > MAX_OPERATORS) {
      // Evaluation and checks walk the tree recursively; a long flat chain is as deep as it is long.
      const first = this.operators.sort((a, b) => a.startOffset - b.startOffset)[MAX_OPERATORS]!;
      this.diagnostics.push(diag("VMSCN0101", `the expression has more than ${MAX_OPERATORS} operators`, tokenLoc(this.fileName, first), "parse", "split it into several expect lines"));
      return undefined;
    }
    return { type: "expect", expr, text: this.text.slice(expr.loc.start, expr.loc.end), loc };
  }

  // ---- expressions ----------------------------------------------------------------------

  /** Left-associative chain `e0 op e1 op e2 ...`; undefined if any operand is missing. */
  private chain(operandsOf: readonly CstNode[], ops: readonly IToken[]): Expr | undefined {
    const operands = operandsOf.map((n) => this.go<Expr>(n));
    if (operands.length === 0 || operands.some((o) => o === undefined) || operands.length !== ops.length + 1) return undefined;
    for (const op of ops) this.operators.push(op);
    let left = operands[0]!;
    for (let i = 1; i < operands.length; i++) {
      const right = operands[i]!;
      const op = ops[i - 1]!.image as "+" | "-" | "*" | "/" | "and" | "or";
      left = { kind: "binary", op, left, right, loc: spanLoc(left.loc, right.loc) };
    }
    return left;
  }

  orExpr(ch: Ch): Expr | undefined {
    return this.chain(nodes(ch, "andExpr"), tokens(ch, "Kw_or"));
  }

  andExpr(ch: Ch): Expr | undefined {
    return this.chain(nodes(ch, "notExpr"), tokens(ch, "Kw_and"));
  }

  notExpr(ch: Ch): Expr | undefined {
    const not = tok(ch, "Kw_not");
    if (not === undefined) return this.sub(ch, "cmpExpr");
    const operand = this.sub<Expr>(ch, "notExpr");
    this.operators.push(not);
    return operand && { kind: "unary", op: "not", operand, loc: spanLoc(tokenLoc(this.fileName, not), operand.loc) };
  }

  cmpExpr(ch: Ch): Expr | undefined {
    const subject = this.sub<Expr>(ch, "addExpr", 0);
    if (subject === undefined) return undefined;
    const operators = [...tokens(ch, "CmpOp"), ...tokens(ch, "Kw_within")].sort((a, b) => a.startOffset - b.startOffset);
    if (operators.length === 0) return subject;
    if (operators.length > 1) {
      const second = operators[1]!;
      const hint = second.image === "within" ? undefined : `write "a ${operators[0]!.image} b and b ${second.image} c"`;
      this.diagnostics.push(diag("VMSCN0101", `comparisons cannot be chained: unexpected ${JSON.stringify(second.image)}`, tokenLoc(this.fileName, second), "parse", hint));
      return undefined;
    }
    const other = this.sub<Expr>(ch, "addExpr", 1);
    if (other === undefined) return undefined;
    const op = operators[0]!;
    this.operators.push(op);
    if (op.image !== "within") {
      const cmp = op.image as "==" | "!=" | "<" | "<=" | ">" | ">=";
      return { kind: "binary", op: cmp, left: subject, right: other, loc: spanLoc(subject.loc, other.loc) };
    }
    const percent = this.sub<Quantity>(ch, "percentValue");
    return percent && { kind: "within", subject, percent, of: other, loc: spanLoc(subject.loc, other.loc) };
  }

  addExpr(ch: Ch): Expr | undefined {
    return this.chain(nodes(ch, "mulExpr"), tokens(ch, "AddOp"));
  }

  mulExpr(ch: Ch): Expr | undefined {
    return this.chain(nodes(ch, "unaryExpr"), tokens(ch, "MulOp"));
  }

  unaryExpr(ch: Ch): Expr | undefined {
    const minus = tok(ch, "Minus");
    if (minus === undefined) return this.sub(ch, "primary");
    const operand = this.sub<Expr>(ch, "unaryExpr");
    this.operators.push(minus);
    return operand && { kind: "unary", op: "-", operand, loc: spanLoc(tokenLoc(this.fileName, minus), operand.loc) };
  }

  primary(ch: Ch, _: unknown, n: CstNode): Expr | undefined {
    const loc = this.at(n);
    if (loc === undefined) return undefined;
    const number = this.quantity(tok(ch, "Quantity") ?? tok(ch, "NumberLit"));
    if (number !== undefined) return { kind: "number", value: number, loc };
    const s = tok(ch, "Str");
    if (s !== undefined) return { kind: "string", value: this.string(s)!.value, loc };
    if (ch.LParen !== undefined) {
      // The parentheses belong to the node's span, so `(a + b) * c` starts at "(".
      const inner = this.sub<Expr>(ch, "orExpr");
      return inner && { ...inner, loc };
    }
    return this.sub(ch, "reference");
  }

  reference(ch: Ch, _: unknown, n: CstNode): Expr | undefined {
    const head = this.name(tok(ch, "ExprWord"));
    const loc = this.at(n);
    if (head === undefined || loc === undefined) return undefined;
    const path = tokens(ch, "Name").map((t) => this.name(t)!);
    let arg: WordLit | StringLit | undefined;
    if (ch.LParen !== undefined) {
      arg = this.sub<WordLit | StringLit>(ch, "refArg");
      if (arg === undefined) return undefined;
    }
    if (arg === undefined && path.length === 0 && (head.text === "true" || head.text === "false")) {
      return { kind: "bool", value: head.text === "true", loc };
    }
    return { kind: "ref", head, arg, path, loc };
  }

  refArg(ch: Ch, _: unknown, n: CstNode): WordLit | StringLit | undefined {
    const s = tok(ch, "Str");
    if (s !== undefined) return this.string(s);
    const a = tok(ch, "Name", 0);
    const loc = this.at(n);
    if (a === undefined || loc === undefined) return undefined;
    const b = tok(ch, "Name", 1);
    return { kind: "word", text: b !== undefined ? `${a.image}<->${b.image}` : a.image, loc };
  }

  // ---- values ---------------------------------------------------------------------------

  private value(ch: Ch): Quantity | undefined {
    return this.quantity(tok(ch, "Quantity") ?? tok(ch, "NumberLit"));
  }

  countValue(ch: Ch): Quantity | undefined {
    return this.value(ch);
  }
  sizeValue(ch: Ch): Quantity | undefined {
    return this.value(ch);
  }
  bandwidthValue(ch: Ch): Quantity | undefined {
    return this.value(ch);
  }
  timeValue(ch: Ch): Quantity | undefined {
    return this.value(ch);
  }
  percentValue(ch: Ch): Quantity | undefined {
    return this.value(ch);
  }
  rateValue(ch: Ch): Quantity | undefined {
    return this.value(ch);
  }
  numberValue(ch: Ch): Quantity | undefined {
    return this.value(ch);
  }
}

function isWord(a: Atom | undefined, ...texts: string[]): boolean {
  return a?.kind === "word" && texts.includes(a.text);
}

/** `at T: VM writes|reads pages|page ...` is a scripted access, whatever follows. */
function isScripted(args: Atom[]): boolean {
  return isWord(args[0], "writes", "reads") && isWord(args[1], "pages", "page");
}

function describeAtom(text: string, a: Atom): string {
  return a.kind === "string" ? `the string ${text.slice(a.loc.start, a.loc.end)}` : `"${text.slice(a.loc.start, a.loc.end)}"`;
}

const builder = new AstBuilder();

/**
 * The statements of a file's CST (`tokens` are the ones it was parsed from). Problems found
 * while building (unknown statements and properties, scripted accesses) go to `diagnostics`,
 * except unknown words at `quiet` offsets: where the parser resumed after an error.
 */
export function cstToAst(cst: CstNode, file: string, text: string, tokens: IToken[], quiet: ReadonlySet<number>, diagnostics: Diagnostic[]): AstResult {
  return builder.build(cst, file, text, tokens, quiet, diagnostics);
}
