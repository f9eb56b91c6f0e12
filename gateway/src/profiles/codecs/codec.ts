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
  /** `params`: the device's parameters (profile params merged with its overrides), for layouts that depend on them. */
  decode(bytes: Uint8Array, fPort: number, params?: CodecParams): RawFields;
  encode?(fields: RawFields, params?: CodecParams): { bytes: Uint8Array; fPort: number };
}

/**
 * Per-device parameters: e.g. the Decentlab DL-PR26's pressure scale is its transducer's range
 * (pmin_bar..pmax_bar). Codecs that need none ignore them.
 */
export type CodecParams = Readonly<Record<string, unknown>>;
