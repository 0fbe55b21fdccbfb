// The AST of a .vmscn file. Every node carries its location, so every later stage
// (validation, compilation, expect evaluation) can point at the exact place in the source.

/** 1-based line and column of a node's first and last characters, in `file`. */
export interface Loc {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** 0-based character offsets [start, end). */
  start: number;
  end: number;
}

export interface Node {
  loc: Loc;
}

/** An identifier as written, with its own location. */
export interface Name extends Node {
  text: string;
}

/** A number with an optional unit, e.g. `64 GiB`; `unit` is undefined for a bare number. */
export interface Quantity extends Node {
  kind: "quantity";
  /** The number as written. */
  value: number;
  unit: string | undefined;
}

export interface StringLit extends Node {
  kind: "string";
  value: string;
}

/** `A..B` (inclusive). */
export interface RangeLit extends Node {
  kind: "range";
  first: number;
  last: number;
}

/** A word or a link reference `a<->b` (text "a<->b"). */
export interface WordLit extends Node {
  kind: "word";
  text: string;
}

/** One token of an action's arguments or options, before the verb's schema gives it meaning. */
export type Atom = Quantity | StringLit | RangeLit | WordLit | (Node & { kind: "comma" });

export interface FrontMatter {
  description?: string;
  features?: string[];
  negative?: { phase: "parse" | "validate" | "run"; code: string };
  /** Other keys, kept as text. */
  extra: Record<string, string>;
  loc?: Loc;
}

// ---- declarations ---------------------------------------------------------------------

/** A `key value...` line of a block: `cpus 16`, `memory 64 GiB`, `rdma`, `shared-by a, b`. */
export interface Property extends Node {
  name: Name;
}

export interface HostDecl extends Node {
  type: "host";
  name: Name;
  cpus?: Quantity;
  memory?: Quantity;
  nic?: Quantity;
  rdma?: Node;
  /** Nodes for guests (the expedited-launch document's notion); default one per CPU. */
  nodes?: Quantity;
  /** The VMM API the host's VMM complies with, and the hypercall interface it offers. */
  vmm?: StringLit;
  hypercalls?: StringLit;
  /** Properties given twice (the first value is kept); validation reports them. */
  problems: PropertyProblem[];
}

export interface LinkDecl extends Node {
  type: "link";
  a: Name;
  b: Name;
  bandwidth?: Quantity;
  latency?: Quantity;
  problems: PropertyProblem[];
}

export interface DatastoreDecl extends Node {
  type: "datastore";
  name: Name;
  sharedBy?: Name[];
  on?: Name;
  bandwidth?: Quantity;
  latency?: Quantity;
  iops?: Quantity;
  problems: PropertyProblem[];
}

export interface MixPart extends Node {
  kind: "zero" | "image" | "random" | "compressible";
  percent: Quantity;
  /** For image parts. */
  image?: StringLit;
  /** For compressible parts: the compressible share of each page (`at 50%`). */
  at?: Quantity;
}

export interface ContentMixNode extends Node {
  parts: MixPart[];
}

export interface PatternNode extends Node {
  kind: "uniform" | "sequential" | "zipf";
  /** zipf only */
  skew?: Quantity;
  /** zipf and sequential: the working set */
  over?: Quantity;
}

/** `paced` or `catch-up` after an activity's pattern. */
export interface PaceNode extends Node {
  value: "paced" | "catch-up";
}

export interface ActivityNode extends Node {
  op: "read" | "write";
  rate: Quantity;
  pattern: PatternNode;
  pace?: PaceNode;
}

/** `disk writes 20 MB/s sequential`: guest disk IO. */
export interface DiskActivityNode extends Node {
  op: "read" | "write";
  rate: Quantity;
  pattern: PatternNode;
  /** Refused by validation: guest disk IO takes no pace. */
  pace?: PaceNode;
}

export interface WorkloadNode extends Node {
  activities: ActivityNode[];
  disk: DiskActivityNode[];
  content?: ContentMixNode;
  writeSize?: Quantity;
  writeOffset?: Quantity;
  trace?: StringLit;
  problems: PropertyProblem[];
}

export interface DiskNode extends Node {
  datastore: Name;
  size: Quantity;
}

export interface VmDecl extends Node {
  type: "vm";
  name: Name;
  host: Name;
  vcpus?: Quantity;
  memory?: Quantity;
  disks: DiskNode[];
  deviceState?: Quantity;
  mac?: StringLit;
  boot?: Quantity;
  /** Cold launch after boot: the guest OS's initialisation, then its applications' launch. */
  init?: Quantity;
  appLaunch?: Quantity;
  /** The guest OS kernel and software configuration, and the VM's usage (cluster presumptions). */
  guest?: StringLit;
  usage?: StringLit;
  initial?: ContentMixNode;
  workload?: WorkloadNode;
  problems: PropertyProblem[];
}

/** A property given twice in one block. */
export interface PropertyProblem extends Node {
  problem: "duplicate";
  property: string;
}

export type Declaration = HostDecl | LinkDecl | DatastoreDecl | VmDecl;

// ---- statements -----------------------------------------------------------------------

export interface ImportStmt extends Node {
  type: "import";
  path: StringLit;
}

export interface UsePluginStmt extends Node {
  type: "use-plugin";
  spec: StringLit;
}

export interface SeedStmt extends Node {
  type: "seed";
  value: Quantity;
}

export interface TickStmt extends Node {
  type: "tick";
  value: Quantity;
}

/** `at T: verb atoms... { option atoms... }` — meaning comes from the verb's schema. */
export interface ActionStmt extends Node {
  type: "action";
  time: Quantity;
  verb: Name;
  args: Atom[];
  /** The option block's atoms; undefined when there are no braces. */
  options: Atom[] | undefined;
  optionsLoc: Loc | undefined;
}

/** `at T: web writes pages 0..1023 [on vcpu N]` */
export interface ScriptedStmt extends Node {
  type: "scripted";
  time: Quantity;
  vm: Name;
  op: "read" | "write";
  pages: RangeLit;
  vcpu?: Quantity;
}

/** `at T: web hypercall fork [on vcpu N] { options }` */
export interface HypercallStmt extends Node {
  type: "hypercall";
  time: Quantity;
  vm: Name;
  name: Name;
  vcpu?: Quantity;
  options: Atom[] | undefined;
  optionsLoc: Loc | undefined;
}

export interface RunStmt extends Node {
  type: "run";
  /** undefined: `run until done`. */
  until: Quantity | undefined;
}

export interface ExpectStmt extends Node {
  type: "expect";
  expr: Expr;
  /** The expression's source text, for messages. */
  text: string;
}

export type Statement = Declaration | ImportStmt | UsePluginStmt | SeedStmt | TickStmt | ActionStmt | ScriptedStmt | HypercallStmt | RunStmt | ExpectStmt;

export interface ScenarioBlock extends Node {
  name: StringLit;
  body: Statement[];
}

/** One parsed file: top-level statements, and at most one scenario block (more are reported). */
export interface FileNode extends Node {
  path: string;
  frontMatter: FrontMatter;
  topLevel: Statement[];
  scenarios: ScenarioBlock[];
}

// ---- expressions ----------------------------------------------------------------------

export type Expr =
  | (Node & { kind: "number"; value: Quantity })
  | (Node & { kind: "string"; value: string })
  | (Node & { kind: "bool"; value: boolean })
  /** `a.b.c`, `vm(web).host`, `migration(a<->b).x`: a head, an optional call argument, a path. */
  | (Node & { kind: "ref"; head: Name; arg: WordLit | StringLit | undefined; path: Name[] })
  | (Node & { kind: "unary"; op: "-" | "not"; operand: Expr })
  | (Node & { kind: "binary"; op: "+" | "-" | "*" | "/" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "and" | "or"; left: Expr; right: Expr })
  | (Node & { kind: "within"; subject: Expr; percent: Quantity; of: Expr });
