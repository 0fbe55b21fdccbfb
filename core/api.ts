// The public API: what `import ... from "vmscn"` gives a plugin author, and all a plugin
// (built-in or third-party) may import from the kernel. Everything else under core/ is
// internal; a test fails if a file under plugins/ reaches past this module. Every runtime
// export is listed in docs/plugins.md ("The package's exports"); a test keeps the two in step.

// The kernel's services use tsyringe, which needs the Reflect polyfill loaded first: importing
// "vmscn" alone (a plugin's own test) must work.
import "reflect-metadata";

// The plugin contract and the context handed to register(k).
export { definePlugin, type Plugin } from "./plugin-host/define.js";
export type {
  PluginContext,
  VerbSpec,
  VerbCall,
  ArgSpec,
  OptionSpec,
  OptionValue,
  ScenarioView,
  VerbProblem,
  KernelSignal,
  SignalHandlers,
  SpanSink,
} from "./plugin-host/context.js";
// Typed services: a provider's api.ts merges its service's type into `Services`.
export type { Services, ServiceOf } from "./plugin-host/services.js";

// Errors: a coded error fails one action with its sentence; anything else is a plugin bug.
export { VmscnError, kernelError, KERNEL_CODES, PluginHookError, classify, type Verdict, type KernelCode, type ErrorWhere, type HookWhere } from "./errors.js";

// Sizes, time and units.
export { PAGE_SIZE, type RunConfig } from "./config.js";
export { KERNEL_VERSION, REPORT_SCHEMA } from "./version.js";
export { NS, US, MS, SECOND, MINUTE, formatTime, transferTime } from "./sim/time.js";
export { toBase, UNITS, BASE_UNIT, type Dimension } from "./units.js";
export { Priority, type Scheduler, type EventHandle } from "./sim/scheduler.js";
export type { Random } from "./sim/random.js";

// Memory: page states and traps, fault results, page contents.
export { formatBytes } from "./text/bytes.js";
export { WAIT, type Memory, type Fault, type FaultHandler, type CowListener } from "./memory/memory.js";
export { PageState, STATE_MASK, Trap, TRAP_MASK, FAULT_KINDS, STATE_NAMES, type FaultKind, type PageStateValue } from "./memory/page.js";
export { ContentKind, kindOf, compressibility, pageBytes, type ContentMix } from "./memory/content.js";
export type { GuestMemory } from "./memory/guest.js";
export type { MachineMemory } from "./memory/machine.js";
export type { DirtyLog } from "./memory/dirty-log.js";

// Worlds, hosts, network, storage, workload: the types the context's fields have.
export type { World, WorldKind, WorldState } from "./world/world.js";
export type { Host } from "./world/host.js";
export type { Cluster, HostState } from "./world/cluster.js";
export type { Cause } from "./world/cause.js";
export type { Slot } from "./world/slots.js";
export type { Network, Transfer, TransferKind, Initiator, TransferOptions, RateLimit, LinkState } from "./net/network.js";
export type { Storage, Datastore, SimFile, IoRequest, IoKind } from "./storage/storage.js";
export { makeFolders } from "./storage/folders.js";
export type { DiskDirtyLog } from "./storage/disk-dirty-log.js";
export type { AbsentBlocks, BlockFetch } from "./storage/absent-blocks.js";
export type { Workload, WorkloadStats, HypercallCall, HypercallHandler } from "./workload/workload.js";
export type { VmInfo } from "./world/vm-info.js";
export type { VmSpec, DiskSpec } from "./world/vm-spec.js";
export { DEFAULT_VMM_INTERFACE } from "./world/host.js";

// Report pieces: charts for --html, tables for the terminal summary.
export type { ChartSpec, ChartAxis, ChartSeries, ChartPoint, SummaryTable } from "./report/chart.js";
