// The grammar of docs/language.md as one chevrotain CstParser. Rules that hold a list of
// mixed statements or properties go through a wrapper rule (`scenarioStatement`,
// `hostProperty`, ...) so the CST keeps their source order; operators go through token
// categories (`AddOp`, `CmpOp`) for the same reason.
//
// The value rules (`sizeValue`, `timeValue`, ...) all accept a quantity or a bare number:
// the validator checks dimensions. They exist separately so that an error message can say
// which kind of value was expected ("a time such as \"10 s\"").
import { CstParser, EOF, tokenMatcher, type CstNode, type IOrAlt, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import {
  AddOp,
  allTokens,
  AtomWord,
  CmpOp,
  Colon,
  Comma,
  Dot,
  DotDot,
  ExprWord,
  Identifier,
  K,
  LCurly,
  LinkArrow,
  LParen,
  Minus,
  MulOp,
  Name,
  NotBrace,
  NumberLit,
  Quantity,
  RCurly,
  RParen,
  Str,
  VerbWord,
} from "./tokens.js";
import { errorMessageProvider } from "./syntax/messages.js";

export class ScenarioParser extends CstParser {
  constructor() {
    super(allTokens, {
      recoveryEnabled: true,
      nodeLocationTracking: "full",
      maxLookahead: 2,
      errorMessageProvider,
    });
    this.performSelfAnalysis();
  }

  /**
   * Each OR's alternatives, built once: chevrotain would otherwise allocate the array and
   * its closures on every call, which is most of the garbage of a large parse.
   */
  private readonly alts: Record<string, IOrAlt<unknown>[]> = {};

  // ---- file -----------------------------------------------------------------------------

  file = this.RULE("file", () => {
    this.MANY(() => this.SUBRULE(this.topStatement));
  });

  topStatement = this.RULE("topStatement", () => {
    this.OR((this.alts.topStatement ??= [
      { ALT: () => this.SUBRULE(this.importStmt) },
      { ALT: () => this.SUBRULE(this.usePluginStmt) },
      { ALT: () => this.SUBRULE(this.scenarioBlock) },
      { ALT: () => this.SUBRULE(this.declaration) },
      { ALT: () => this.SUBRULE(this.unknownStatement) },
    ]));
  });

  importStmt = this.RULE("importStmt", () => {
    this.CONSUME(K.import);
    this.CONSUME(Str);
  });

  usePluginStmt = this.RULE("usePluginStmt", () => {
    this.CONSUME(K.use);
    this.CONSUME(K.plugin);
    this.CONSUME(Str);
  });

  scenarioBlock = this.RULE("scenarioBlock", () => {
    this.CONSUME(K.scenario);
    this.CONSUME(Str);
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.scenarioStatement));
    this.CONSUME(RCurly);
  });

  // `import` and `use plugin` belong outside the block; they are parsed here anyway so that
  // one misplaced line is one error (from the AST builder), not a block closed too early.
  scenarioStatement = this.RULE("scenarioStatement", () => {
    this.OR((this.alts.scenarioStatement ??= [
      { ALT: () => this.SUBRULE(this.seedStmt) },
      { ALT: () => this.SUBRULE(this.importStmt) },
      { ALT: () => this.SUBRULE(this.usePluginStmt) },
      { ALT: () => this.SUBRULE(this.tickStmt) },
      { ALT: () => this.SUBRULE(this.declaration) },
      { ALT: () => this.SUBRULE(this.actionStmt) },
      { ALT: () => this.SUBRULE(this.runStmt) },
      { ALT: () => this.SUBRULE(this.expectStmt) },
      { ALT: () => this.SUBRULE(this.unknownStatement) },
    ]));
  });

  // Misspelt statements and properties (`hots a { ... }`, `cpu 16`) are parsed as such, braces
  // included, and reported by the AST builder: chevrotain's own recovery would stop at the
  // first "}" inside and close the enclosing block too early.

  /**
   * A name that starts no statement, with its arguments and block. Only plain identifiers:
   * any word here would make every word a point where recovery resumes at this level, and a
   * typo deep inside a VM would close the VM and its workload.
   */
  unknownStatement = this.RULE("unknownStatement", () => {
    this.CONSUME(Identifier);
    this.MANY(() => this.SUBRULE(this.atom));
    this.OPTION(() => this.SUBRULE(this.anyBlock));
  });

  /** A name that is no property of its block, with its values and block. */
  unknownProperty = this.RULE("unknownProperty", () => {
    this.CONSUME(Identifier);
    this.MANY(() => {
      this.OR((this.alts.unknownProperty ??= [
        { ALT: () => this.CONSUME(Quantity) },
        { ALT: () => this.CONSUME(NumberLit) },
        { ALT: () => this.CONSUME(Str) },
        { ALT: () => this.CONSUME(Comma) },
        { ALT: () => this.SUBRULE(this.anyBlock) },
      ]));
    });
  });

  /** Balanced braces around anything. */
  anyBlock = this.RULE("anyBlock", () => {
    this.CONSUME(LCurly);
    this.MANY(() => {
      this.OR((this.alts.anyBlock ??= [{ ALT: () => this.SUBRULE(this.anyBlock) }, { ALT: () => this.CONSUME(NotBrace) }]));
    });
    this.CONSUME(RCurly);
  });

  seedStmt = this.RULE("seedStmt", () => {
    this.CONSUME(K.seed);
    this.SUBRULE(this.countValue);
  });

  tickStmt = this.RULE("tickStmt", () => {
    this.CONSUME(K.tick);
    this.SUBRULE(this.timeValue);
  });

  // ---- declarations ---------------------------------------------------------------------

  declaration = this.RULE("declaration", () => {
    this.OR((this.alts.declaration ??= [
      { ALT: () => this.SUBRULE(this.hostDecl) },
      { ALT: () => this.SUBRULE(this.linkDecl) },
      { ALT: () => this.SUBRULE(this.datastoreDecl) },
      { ALT: () => this.SUBRULE(this.vmDecl) },
    ]));
  });

  hostDecl = this.RULE("hostDecl", () => {
    this.CONSUME(K.host);
    this.CONSUME(Name);
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.hostProperty));
    this.CONSUME(RCurly);
  });

  hostProperty = this.RULE("hostProperty", () => {
    this.OR((this.alts.hostProperty ??= [
      {
        ALT: () => {
          this.CONSUME(K.cpus);
          this.SUBRULE(this.countValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.memory);
          this.SUBRULE(this.sizeValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.nic);
          this.SUBRULE(this.bandwidthValue);
        },
      },
      { ALT: () => this.CONSUME(K.rdma) },
      {
        ALT: () => {
          this.CONSUME(K.nodes);
          this.SUBRULE1(this.countValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.vmm);
          this.CONSUME(Str);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.hypercalls);
          this.CONSUME1(Str);
        },
      },
      { ALT: () => this.SUBRULE(this.unknownProperty) },
    ]));
  });

  linkDecl = this.RULE("linkDecl", () => {
    this.CONSUME(K.link);
    this.CONSUME1(Name);
    this.CONSUME(LinkArrow);
    this.CONSUME2(Name);
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.linkProperty));
    this.CONSUME(RCurly);
  });

  linkProperty = this.RULE("linkProperty", () => {
    this.OR((this.alts.linkProperty ??= [
      {
        ALT: () => {
          this.CONSUME(K.bandwidth);
          this.SUBRULE(this.bandwidthValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.latency);
          this.SUBRULE(this.timeValue);
        },
      },
      { ALT: () => this.SUBRULE(this.unknownProperty) },
    ]));
  });

  datastoreDecl = this.RULE("datastoreDecl", () => {
    this.CONSUME(K.datastore);
    this.CONSUME(Name);
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.datastoreProperty));
    this.CONSUME(RCurly);
  });

  datastoreProperty = this.RULE("datastoreProperty", () => {
    this.OR((this.alts.datastoreProperty ??= [
      {
        ALT: () => {
          this.CONSUME(K["shared-by"]);
          this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.CONSUME1(Name) });
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.on);
          this.CONSUME2(Name);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.bandwidth);
          this.SUBRULE(this.bandwidthValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.latency);
          this.SUBRULE(this.timeValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.iops);
          this.SUBRULE(this.countValue);
        },
      },
      { ALT: () => this.SUBRULE(this.unknownProperty) },
    ]));
  });

  vmDecl = this.RULE("vmDecl", () => {
    this.CONSUME(K.vm);
    this.CONSUME1(Name);
    this.CONSUME(K.on);
    this.CONSUME2(Name);
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.vmProperty));
    this.CONSUME(RCurly);
  });

  vmProperty = this.RULE("vmProperty", () => {
    this.OR((this.alts.vmProperty ??= [
      {
        ALT: () => {
          this.CONSUME(K.vcpus);
          this.SUBRULE(this.countValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.memory);
          this.SUBRULE1(this.sizeValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.disk);
          this.CONSUME(Name);
          this.SUBRULE2(this.sizeValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K["device-state"]);
          this.SUBRULE3(this.sizeValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.mac);
          this.CONSUME(Str);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.boot);
          this.SUBRULE(this.timeValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.init);
          this.SUBRULE1(this.timeValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K["app-launch"]);
          this.SUBRULE2(this.timeValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.guest);
          this.CONSUME1(Str);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.usage);
          this.CONSUME2(Str);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.initial);
          this.SUBRULE(this.contentMix);
        },
      },
      { ALT: () => this.SUBRULE(this.workloadBlock) },
      { ALT: () => this.SUBRULE(this.unknownProperty) },
    ]));
  });

  contentMix = this.RULE("contentMix", () => {
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.mixPart) });
  });

  mixPart = this.RULE("mixPart", () => {
    this.OR((this.alts.mixPart ??= [
      {
        ALT: () => {
          this.CONSUME(K.zero);
          this.SUBRULE1(this.percentValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.image);
          this.CONSUME(Str);
          this.SUBRULE2(this.percentValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.random);
          this.SUBRULE3(this.percentValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.compressible);
          this.SUBRULE4(this.percentValue);
          this.OPTION(() => {
            this.CONSUME(K.at);
            this.SUBRULE5(this.percentValue);
          });
        },
      },
    ]));
  });

  workloadBlock = this.RULE("workloadBlock", () => {
    this.CONSUME(K.workload);
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.workloadProperty));
    this.CONSUME(RCurly);
  });

  workloadProperty = this.RULE("workloadProperty", () => {
    this.OR((this.alts.workloadProperty ??= [
      {
        ALT: () => {
          this.CONSUME(K.writes);
          this.SUBRULE1(this.rateValue);
          this.SUBRULE1(this.pattern);
          this.OPTION1(() => this.SUBRULE1(this.pace));
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.reads);
          this.SUBRULE2(this.rateValue);
          this.SUBRULE2(this.pattern);
          this.OPTION2(() => this.SUBRULE2(this.pace));
        },
      },
      {
        // `disk writes 20 MB/s sequential`: guest disk IO on the VM's first disk.
        ALT: () => {
          this.CONSUME(K.disk);
          this.OR2([{ ALT: () => this.CONSUME2(K.writes) }, { ALT: () => this.CONSUME2(K.reads) }]);
          this.SUBRULE3(this.rateValue);
          this.SUBRULE3(this.pattern);
          // Parsed so that validation can say guest disk IO takes no pace.
          this.OPTION3(() => this.SUBRULE3(this.pace));
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.content);
          this.SUBRULE(this.contentMix);
        },
      },
      {
        // `write-size 64 B`: the bytes of its page one guest write changes (XBZRLE's deltas).
        ALT: () => {
          this.CONSUME(K["write-size"]);
          this.SUBRULE4(this.sizeValue);
        },
      },
      {
        // `write-offset 128 B`: where in its page each write's bytes start (default: anywhere).
        ALT: () => {
          this.CONSUME(K["write-offset"]);
          this.SUBRULE5(this.sizeValue);
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.trace);
          this.CONSUME(Str);
        },
      },
      { ALT: () => this.SUBRULE(this.unknownProperty) },
    ]));
  });

  pattern = this.RULE("pattern", () => {
    this.OR((this.alts.pattern ??= [
      { ALT: () => this.CONSUME(K.uniform) },
      {
        // `sequential over 25%`: the cursor wraps inside the first quarter of the pages.
        ALT: () => {
          this.CONSUME(K.sequential);
          this.OPTION(() => {
            this.CONSUME2(K.over);
            this.SUBRULE2(this.percentValue);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(K.zipf);
          this.SUBRULE(this.numberValue);
          this.CONSUME(K.over);
          this.SUBRULE(this.percentValue);
        },
      },
    ]));
  });

  /** What becomes of the accesses of time a vCPU could not run: dropped (`paced`) or issued later (`catch-up`). */
  pace = this.RULE("pace", () => {
    this.OR((this.alts.pace ??= [{ ALT: () => this.CONSUME(K.paced) }, { ALT: () => this.CONSUME(K["catch-up"]) }]));
  });

  // ---- actions --------------------------------------------------------------------------

  /**
   * `at T: verb atoms... { atoms... }`. Atoms are `AtomWord`s, which leave out the statement
   * keywords, so an action ends where the next statement begins even on the same line.
   * The price: a VM or option literally named `at`, `expect`, `run`, `seed`, `tick`, `host`,
   * `link`, `datastore`, `vm`, `scenario`, `import` or `use` cannot appear among an action's
   * atoms (the verb may be `link`).
   */
  actionStmt = this.RULE("actionStmt", () => {
    this.CONSUME(K.at);
    // A minus parses so that validation can say the time is in the past (VMSCN0211).
    this.OPTION2(() => this.CONSUME(Minus));
    this.SUBRULE(this.timeValue);
    this.CONSUME(Colon);
    this.CONSUME(VerbWord);
    this.MANY(() => this.SUBRULE(this.atom));
    this.OPTION(() => this.SUBRULE(this.optionBlock));
  });

  optionBlock = this.RULE("optionBlock", () => {
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.atom));
    this.CONSUME(RCurly);
  });

  atom = this.RULE("atom", () => {
    this.OR((this.alts.atom ??= [
      {
        ALT: () => {
          this.CONSUME1(AtomWord);
          this.OPTION1(() => {
            this.CONSUME(LinkArrow);
            this.CONSUME(Name);
          });
        },
      },
      { ALT: () => this.CONSUME(Quantity) },
      {
        ALT: () => {
          this.CONSUME1(NumberLit);
          this.OPTION2(() => {
            this.CONSUME(DotDot);
            this.CONSUME2(NumberLit);
          });
        },
      },
      { ALT: () => this.CONSUME(Str) },
      { ALT: () => this.CONSUME(Comma) },
    ]));
  });

  runStmt = this.RULE("runStmt", () => {
    this.CONSUME(K.run);
    this.CONSUME(K.until);
    this.SUBRULE(this.runTarget);
  });

  runTarget = this.RULE("runTarget", () => {
    this.OR((this.alts.runTarget ??= [{ ALT: () => this.CONSUME(K.done) }, { ALT: () => this.CONSUME(Quantity) }, { ALT: () => this.CONSUME(NumberLit) }]));
  });

  expectStmt = this.RULE("expectStmt", () => {
    this.CONSUME(K.expect);
    this.SUBRULE(this.orExpr);
  });

  // ---- expressions: or < and < not < comparison < + - < * / < unary - < primary ----------

  orExpr = this.RULE("orExpr", () => {
    this.SUBRULE1(this.andExpr);
    this.MANY(() => {
      this.CONSUME(K.or);
      this.SUBRULE2(this.andExpr);
    });
  });

  andExpr = this.RULE("andExpr", () => {
    this.SUBRULE1(this.notExpr);
    this.MANY(() => {
      this.CONSUME(K.and);
      this.SUBRULE2(this.notExpr);
    });
  });

  notExpr = this.RULE("notExpr", () => {
    this.OR((this.alts.notExpr ??= [
      {
        ALT: () => {
          this.CONSUME(K.not);
          this.SUBRULE(this.notExpr);
        },
      },
      { ALT: () => this.SUBRULE(this.cmpExpr) },
    ]));
  });

  // A chain `a < b < c` is parsed so that the AST builder can say how to write it.
  cmpExpr = this.RULE("cmpExpr", () => {
    this.SUBRULE1(this.addExpr);
    this.MANY(() => {
      this.OR((this.alts.cmpExpr ??= [
        {
          ALT: () => {
            this.CONSUME(CmpOp);
            this.SUBRULE2(this.addExpr);
          },
        },
        {
          ALT: () => {
            this.CONSUME(K.within);
            this.SUBRULE(this.percentValue);
            this.CONSUME(K.of);
            this.SUBRULE3(this.addExpr);
          },
        },
      ]));
    });
  });

  addExpr = this.RULE("addExpr", () => {
    this.SUBRULE1(this.mulExpr);
    this.MANY(() => {
      this.CONSUME(AddOp);
      this.SUBRULE2(this.mulExpr);
    });
  });

  mulExpr = this.RULE("mulExpr", () => {
    this.SUBRULE1(this.unaryExpr);
    this.MANY(() => {
      this.CONSUME(MulOp);
      this.SUBRULE2(this.unaryExpr);
    });
  });

  unaryExpr = this.RULE("unaryExpr", () => {
    this.OR((this.alts.unaryExpr ??= [
      {
        ALT: () => {
          this.CONSUME(Minus);
          this.SUBRULE(this.unaryExpr);
        },
      },
      { ALT: () => this.SUBRULE(this.primary) },
    ]));
  });

  primary = this.RULE("primary", () => {
    this.OR((this.alts.primary ??= [
      { ALT: () => this.CONSUME(Quantity) },
      { ALT: () => this.CONSUME(NumberLit) },
      { ALT: () => this.CONSUME(Str) },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.SUBRULE(this.orExpr);
          this.CONSUME(RParen);
        },
      },
      { ALT: () => this.SUBRULE(this.reference) },
    ]));
  });

  /** `head`, `head.path...`, `head(arg).path...`; `true`/`false` are references to the visitor. */
  reference = this.RULE("reference", () => {
    this.CONSUME(ExprWord);
    this.OPTION(() => {
      this.CONSUME(LParen);
      this.SUBRULE(this.refArg);
      this.CONSUME(RParen);
    });
    this.MANY(() => {
      this.CONSUME(Dot);
      this.CONSUME(Name);
    });
  });

  refArg = this.RULE("refArg", () => {
    this.OR((this.alts.refArg ??= [
      {
        ALT: () => {
          this.CONSUME1(Name);
          this.OPTION(() => {
            this.CONSUME(LinkArrow);
            this.CONSUME2(Name);
          });
        },
      },
      { ALT: () => this.CONSUME(Str) },
    ]));
  });

  // ---- values ---------------------------------------------------------------------------

  private value(): void {
    this.OR((this.alts.value ??= [{ ALT: () => this.CONSUME(Quantity) }, { ALT: () => this.CONSUME(NumberLit) }]));
  }

  countValue = this.RULE("countValue", () => this.value());
  sizeValue = this.RULE("sizeValue", () => this.value());
  bandwidthValue = this.RULE("bandwidthValue", () => this.value());
  timeValue = this.RULE("timeValue", () => this.value());
  percentValue = this.RULE("percentValue", () => this.value());
  rateValue = this.RULE("rateValue", () => this.value());
  numberValue = this.RULE("numberValue", () => this.value());

  // ---- recovery ---------------------------------------------------------------------------
  //
  // When a rule fails, chevrotain skips tokens up to one that may follow a rule on the stack.
  // Its search does not know braces: in `vm { cpus 1 }` (no name) it would stop at the VM's
  // "}", take it for the scenario's, and report the scenario's own "}" as a second error.
  // These two overrides of chevrotain's (11.x) internals skip whole "{...}" groups instead,
  // and a third keeps the single-token repair from deleting a brace.

  private resyncDistance = 0;

  /** chevrotain's findReSyncTokenType, skipping over balanced braces. */
  findReSyncTokenType(): TokenType {
    const self = this as unknown as RecoveryInternals;
    const follows = self.flattenFollowSet();
    let depth = 0;
    for (let k = 1; ; k++) {
      const t = this.LA(k);
      if (t.tokenType === EOF) {
        this.resyncDistance = k;
        return EOF;
      }
      if (depth === 0) {
        const match = follows.find((f) => tokenMatcher(t, f));
        if (match !== undefined) {
          this.resyncDistance = k;
          return match;
        }
      }
      if (t.tokenType === LCurly) depth++;
      else if (t.tokenType === RCurly && depth > 0) depth--;
    }
  }

  /** chevrotain's reSyncTo: skips to the token findReSyncTokenType found. */
  reSyncTo(_tokType: TokenType): IToken[] {
    const self = this as unknown as RecoveryInternals;
    const skipped: IToken[] = [];
    for (let i = 1; i < this.resyncDistance; i++) self.addToResyncTokens(self.SKIP_TOKEN(), skipped);
    // like chevrotain's: the token resynced to is not part of the error
    skipped.pop();
    return skipped;
  }

  /** Never by deleting a brace: the blocks after it would all shift by one. */
  canRecoverWithSingleTokenDeletion(expected: TokenType): boolean {
    const t = this.LA(1).tokenType;
    if (t === LCurly || t === RCurly) return false;
    return (CstParser.prototype as unknown as { canRecoverWithSingleTokenDeletion(this: CstParser, e: TokenType): boolean }).canRecoverWithSingleTokenDeletion.call(this, expected);
  }

  private saved = 0;
  /** Where parsing stopped after MAX_SYNTAX_ERRORS errors, if it did. */
  stoppedAt: IToken | undefined;

  /**
   * chevrotain's SAVE_ERROR, MAX_SYNTAX_ERRORS times at most. Its recovery inside a repetition
   * recurses once per error, so thousands of errors in one list (a flat expression outside a
   * scenario) would exhaust the stack: past the limit, parsing stops.
   */
  SAVE_ERROR(error: IRecognitionException): IRecognitionException {
    if (++this.saved > MAX_SYNTAX_ERRORS) {
      this.stoppedAt = error.token;
      throw new TooManyErrors();
    }
    return (CstParser.prototype as unknown as { SAVE_ERROR(this: CstParser, e: IRecognitionException): IRecognitionException }).SAVE_ERROR.call(this, error);
  }

  /** Parses `tokens` into the CST of a file; the errors are in `this.errors`. */
  parseTokens(tokens: IToken[]): CstNode {
    this.input = tokens;
    this.saved = 0;
    this.stoppedAt = undefined;
    // chevrotain signals each syntax error with an exception; their stack traces are never
    // read, and capturing them is most of the cost of a file with many errors.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return this.file();
    } catch (e) {
      if (!(e instanceof TooManyErrors)) throw e;
      // The statements parsed so far are lost with the rules' stack: the errors say enough.
      return { name: "file", children: {} };
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/** Syntax errors reported at most in a file. */
export const MAX_SYNTAX_ERRORS = 100;

class TooManyErrors extends Error {}

/** The parts of chevrotain's recovery the overrides above use. */
interface RecoveryInternals {
  flattenFollowSet(): TokenType[];
  SKIP_TOKEN(): IToken;
  addToResyncTokens(token: IToken, into: IToken[]): IToken[];
}

/** The one parser instance: building one analyses the grammar, which is the slow part. */
export const parser = new ScenarioParser();

export { EOF };
