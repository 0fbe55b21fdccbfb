// The defaults an option schema declares, as the values a verb or hypercall receives.
import type { OptionSpec, OptionValue } from "./context.js";

export function optionDefaults(options: Readonly<Record<string, OptionSpec>>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const [name, spec] of Object.entries(options)) if (spec.default !== undefined) out[name] = spec.default as OptionValue;
  return out;
}
