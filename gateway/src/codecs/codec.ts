/** Values as the vendor's own decoder names them (the `raw` of `gridgate decode`). */
export type RawFields = Record<string, unknown>;

/** A binary payload that does not match the codec's layout. The message says where and why. */
export class CodecError extends Error {
  constructor(readonly codec: string, message: string) {
    super(`${codec}: ${message}`);
    this.name = 'CodecError';
  }
}

/**
 * A LoRaWAN payload codec: a pure function from bytes to the vendor's fields, written from the vendor's
 * published byte layout. `encode` exists for the simulator and round-trip tests.
 */
export interface Codec {
  id: string;
  decode(bytes: Uint8Array, fPort: number): RawFields;
  encode?(fields: RawFields): { bytes: Uint8Array; fPort: number };
}
