// Puts a run's plugins in the order they register: every plugin after the plugins it
// requires, and otherwise in the order given, so the same list always registers the same way.
import { kernelError } from "../errors.js";
import { KERNEL_VERSION } from "../version.js";
import { checkPlugin, type Plugin } from "./define.js";
import { satisfies } from "./semver.js";

/** A plugin with the path or package it was loaded from (absent for plugins passed in code). */
export interface PluginEntry {
  readonly plugin: Plugin;
  readonly source?: string;
}

export interface OrderOptions {
  /** The kernel version to check `kernel` ranges against (tests only; default KERNEL_VERSION). */
  readonly kernel?: string;
}

function entryOf(item: Plugin | PluginEntry): PluginEntry {
  const isEntry = typeof item === "object" && item !== null && "plugin" in item && !("register" in item);
  return isEntry ? (item as PluginEntry) : { plugin: item as Plugin };
}

function fromWhere(source: string | undefined): string {
  return source === undefined ? "the built-in plugins" : `"${source}"`;
}

/**
 * Checks the plugins of a run and returns them in registration order.
 *
 * Errors, in the order checked: malformed object (VMSCN6005), same name twice (VMSCN6003),
 * kernel range not met (VMSCN6002), a required plugin missing (VMSCN6001), a requirement
 * cycle (VMSCN6004). Order: repeatedly take the earliest given plugin whose requirements are
 * all placed (Kahn's algorithm with the given index as priority), so a list that already
 * respects its requirements comes back unchanged.
 */
export function orderPlugins<T extends Plugin | PluginEntry>(items: readonly T[], options: OrderOptions = {}): T[] {
  const kernel = options.kernel ?? KERNEL_VERSION;
  const entries = items.map(entryOf);
  for (const e of entries) checkPlugin(e.plugin, e.source);

  const index = new Map<string, number>();
  entries.forEach((e, i) => {
    const name = e.plugin.name;
    const first = index.get(name);
    if (first !== undefined) {
      throw kernelError(
        "VMSCN6003",
        `plugin "${name}" is loaded twice, from ${fromWhere(entries[first]!.source)} and from ${fromWhere(e.source)}; load it only once`,
        { where: name },
      );
    }
    index.set(name, i);
  });

  for (const { plugin } of entries) {
    if (!satisfies(kernel, plugin.kernel)) {
      throw kernelError(
        "VMSCN6002",
        `plugin "${plugin.name}" ${plugin.version} was written for kernel ${plugin.kernel}, but this is kernel ${kernel}`,
        { where: plugin.name },
      );
    }
  }

  for (const { plugin } of entries) {
    for (const dep of plugin.requires ?? []) {
      if (!index.has(dep)) {
        throw kernelError("VMSCN6001", `plugin "${plugin.name}" requires plugin "${dep}", which is not loaded`, {
          where: plugin.name,
        });
      }
    }
  }

  const deps = entries.map((e) => (e.plugin.requires ?? []).map((d) => index.get(d)!));
  const placed = new Array<boolean>(entries.length).fill(false);
  const order: number[] = [];
  // Plugin lists are short (tens), so a scan per step is simpler than a heap and as fast.
  while (order.length < entries.length) {
    let next = -1;
    for (let i = 0; i < entries.length; i++) {
      if (!placed[i] && deps[i]!.every((d) => placed[d])) {
        next = i;
        break;
      }
    }
    if (next < 0) throw cycleError(entries, deps, placed);
    placed[next] = true;
    order.push(next);
  }
  return order.map((i) => items[i]!);
}

/** Names one cycle among the plugins left unplaced, starting at its earliest given plugin. */
function cycleError(entries: readonly PluginEntry[], deps: readonly number[][], placed: readonly boolean[]) {
  // Every unplaced plugin has an unplaced requirement, so following them must loop.
  const path: number[] = [];
  const onPath = new Map<number, number>();
  let at = placed.indexOf(false);
  while (!onPath.has(at)) {
    onPath.set(at, path.length);
    path.push(at);
    at = deps[at]!.find((d) => !placed[d])!;
  }
  const cycle = path.slice(onPath.get(at)!);
  const start = cycle.indexOf(Math.min(...cycle));
  const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
  const names = rotated.map((i) => entries[i]!.plugin.name);
  const shown = [...names, names[0]!].join(" → ");
  const who = names.length === 1 ? `plugin "${names[0]}" requires itself` : `plugins ${names.map((n) => `"${n}"`).join(", ")} require each other in a cycle`;
  return kernelError("VMSCN6004", `${who}: ${shown}; remove one of these requirements`, { where: names[0] });
}
