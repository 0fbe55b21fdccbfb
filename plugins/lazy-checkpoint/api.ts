// What the lazy checkpoint plugin offers outside itself: reading a checkpoint file
// (`vmscn checkpoint inspect`) and the file format's shapes (docs/checkpoint-format.md). The
// plugin provides no service to other plugins; they would `import type` from here only.
export { codecLabel, inspectCheckpoint, writerName, type Inspection } from "./inspect.js";
export { FormatError, NO_BLOCK, ZERO_BLOCK, type Header } from "./format.js";
export type { Maps } from "./blocks.js";
export { StoreRefusal } from "./store.js";
