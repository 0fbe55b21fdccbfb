// The plugin context: everything a plugin may touch. (Placeholder; the lead engineer fills it in.)
export interface PluginContext {
  readonly pluginName: string;
}
