// Typed services between plugins (Fastify's `declare module` decorators): the provider declares
// its service's type once, in its api.ts, by merging it into `Services`; a consumer's
// `k.use("name")` then has that type with no cast and no copy of the provider's types.
//
//   // plugins/tps/api.ts (built-in)             // a third-party plugin's api.ts
//   declare module "../../core/api.js" {          declare module "vmscn" {
//     interface Services { tps: TpsService }        interface Services { "page-cache": PageCache }
//   }                                             }

/** The services plugins provide, by plugin name; each provider's api.ts adds its entry. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Services {}

/** The type of the service plugin `N` provides: its declared one, else unknown. */
export type ServiceOf<N extends string> = N extends keyof Services ? Services[N] : unknown;
