// TextEncoder and TextDecoder are globals in browsers, workers and Node alike; this package
// compiles without DOM or Node types, so it declares the little of them it uses.
declare class TextEncoder {
  encode(input: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input: Uint8Array): string;
}
