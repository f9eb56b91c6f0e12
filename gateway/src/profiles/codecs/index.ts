import type { Codec, CodecParams, RawFields } from './codec.js';
import { decentlabCodecs } from './decentlab.js';
import { milesightCodecs } from './milesight.js';

export { CodecError, type Codec, type CodecParams, type RawFields } from './codec.js';

/** Codecs by id, as profiles name them. */
export type CodecRegistry = ReadonlyMap<string, Codec>;

/** A fresh registry of every built-in codec; callers may add their own to the returned map. */
export function builtinCodecs(): Map<string, Codec> {
  const all = [...milesightCodecs(), ...decentlabCodecs()];
  return new Map(all.map((c) => [c.id, c]));
}

export function decodeBytes(codec: Codec, bytes: Uint8Array, fPort: number, params?: CodecParams): RawFields {
  return codec.decode(bytes, fPort, params);
}

export function encodeFields(codec: Codec, fields: RawFields, params?: CodecParams): { bytes: Uint8Array; fPort: number } | undefined {
  return codec.encode?.(fields, params);
}
