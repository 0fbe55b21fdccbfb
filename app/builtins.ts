// The built-in plugins every run loads, in the order they register (dependencies first is
// not required: the plugin host orders them). Each lives in its own folder with a README.
import type { Plugin } from "../core/api.js";
import precopyMigration from "../plugins/precopy-migration/index.js";
import cloneApi from "../plugins/clone-api/index.js";
import hypercallFork from "../plugins/hypercall-fork/index.js";
import tps from "../plugins/tps/index.js";
import rdmaShare from "../plugins/rdma-share/index.js";
import compression from "../plugins/compression/index.js";
import lazyCheckpoint from "../plugins/lazy-checkpoint/index.js";

export const builtinPlugins: readonly Plugin[] = [precopyMigration, cloneApi, hypercallFork, tps, rdmaShare, compression, lazyCheckpoint];
