// Tables keyed by names a scenario chose (hosts, VMs, links, files). A plain `{}` would turn a
// VM named `__proto__` into the table's prototype (the entry vanishes) and answer `constructor`
// with Object itself; a table without a prototype holds every name as an own key.

/** An empty table without a prototype; `entries` fill it in order (a later duplicate wins). */
export function nameTable<T = unknown>(entries?: Iterable<readonly [string, T]>): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  if (entries) for (const [k, v] of entries) out[k] = v;
  return out;
}
