// `vmscn checkpoint inspect` decodes a compressed file's blocks with the compression plugin's
// codecs: its service as a run has it (the built-in plugin registered on a kernel of its own),
// since the CLI reaches a plugin only through its api.ts.
import { createKernel } from "../core/run/container.js";
import type { CompressionService } from "../plugins/compression/api.js";
import { builtinPlugins } from "./builtins.js";

export async function compressionService(): Promise<CompressionService> {
  const k = createKernel();
  await k.plugins.registerAll(builtinPlugins.filter((p) => p.name === "compression"));
  return k.plugins.services.get("compression") as CompressionService;
}
