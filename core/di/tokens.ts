// Every injection token of a run, in one place. Symbols, never classes: esbuild emits no
// decorator metadata, so every constructor parameter names its token with @inject(TOKENS.X).
export const TOKENS = {
  RunConfig: Symbol("RunConfig"),
  Scheduler: Symbol("Scheduler"),
  Hooks: Symbol("Hooks"),
  RandomStreams: Symbol("RandomStreams"),
  Cluster: Symbol("Cluster"),
  Memory: Symbol("Memory"),
  FairShare: Symbol("FairShare"),
  Network: Symbol("Network"),
  Storage: Symbol("Storage"),
  Workload: Symbol("Workload"),
  Metrics: Symbol("Metrics"),
  Trace: Symbol("Trace"),
  Vms: Symbol("Vms"),
  PluginHost: Symbol("PluginHost"),
  Kernel: Symbol("Kernel"),
} as const;

export type TokenName = keyof typeof TOKENS;
