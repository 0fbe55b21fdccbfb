// Types for snappyjs (pure JavaScript Snappy, no native build), which ships none.
declare module "snappyjs" {
  /** Snappy raw format; a Uint8Array in gives a Uint8Array out. */
  export function compress(input: Uint8Array): Uint8Array;
  /** Throws on a corrupt stream or when the stated length exceeds maxLength. */
  export function uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
  const snappy: { compress: typeof compress; uncompress: typeof uncompress };
  export default snappy;
}
