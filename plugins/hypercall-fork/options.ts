// The `fork` verb's arguments and options (and the `fork` hypercall's, which has no
// positional arguments: the host and the worker are options there). The launch options
// (capture, load, a clone's memory) come from plugin clone-api, so fork and clone share them.
import type { ArgSpec, OptionSpec } from "../../core/api.js";

export const PLACEMENTS = ["same-host", "next-host", "auto"] as const;
export type Placement = (typeof PLACEMENTS)[number];

export const FORK_ARGS: ArgSpec[] = [
  { name: "vm", kind: "vm", description: "the VM that forks (the parent)" },
  { name: "host", keyword: "to", kind: "host", optional: true, description: "the host for every worker: the parent's own (children) or a next host (clones)" },
  { name: "worker", keyword: "into", kind: "vm", optional: true, description: "a declared VM, never started, that receives the image (its host is the placement)" },
];

export const FORK_OPTIONS: Record<string, OptionSpec> = {
  children: { type: "integer", min: 1, max: 100_000, default: 1, description: "workers to launch from one capture of the runtime image (a fan-out)" },
  placement: { type: "enum", values: PLACEMENTS, default: "same-host", description: "same-host: child VMs on free nodes of the parent's host (copy-on-write); next-host: clones on the next hosts; auto: children while the parent's host has free nodes, then clones" },
};

/**
 * The hypercall names its host and worker as options, `to "b"` and `into "w"`, as the verb's
 * keywords do: a guest has no scenario arguments (and `host` is a statement word).
 */
export const HYPERCALL_OPTIONS: Record<string, OptionSpec> = {
  ...FORK_OPTIONS,
  to: { type: "string", description: "the host for every worker (as `fork VM to HOST`)" },
  into: { type: "string", description: "a declared VM that receives the image (as `fork VM into WORKER`)" },
};
