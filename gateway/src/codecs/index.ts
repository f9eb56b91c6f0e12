import type { Codec, RawFields } from './codec.js';
import { decentlabCodecs } from './decentlab.js';
import { milesightCodecs } from './milesight.js';

export { CodecError, type Codec, type RawFields } from './codec.js';

/** Codecs by id, as profiles name them. */
export type CodecRegistry = ReadonlyMap<string, Codec>;

/** Per-device parameters (profile params merged with the device's overrides). */
export type CodecParams = Readonly<Record<string, unknown>>;

/**
 * A codec whose byte layout depends on per-device parameters, e.g. the Decentlab DL-PR26 whose pressure
 * scale is the transducer's range (pmin_bar..pmax_bar). Codecs that need none simply ignore the argument.
 */
export interface ParamCodec extends Codec {
  decode(bytes: Uint8Array, fPort: number, params?: CodecParams): RawFields;
  encode?(fields: RawFields, params?: CodecParams): { bytes: Uint8Array; fPort: number };
}

/** A fresh registry of every built-in codec; callers may add their own to the returned map. */
export function builtinCodecs(): Map<string, Codec> {
  const all = [...milesightCodecs(), ...decentlabCodecs()];
  return new Map(all.map((c) => [c.id, c]));
}

// Codec.decode/encode take no params in codec.ts; passing an extra argument is harmless to codecs that
// ignore it, so every codec is called the ParamCodec way.
export function decodeBytes(codec: Codec, bytes: Uint8Array, fPort: number, params?: CodecParams): RawFields {
  return (codec as ParamCodec).decode(bytes, fPort, params);
}

export function encodeFields(codec: Codec, fields: RawFields, params?: CodecParams): { bytes: Uint8Array; fPort: number } | undefined {
  return (codec as ParamCodec).encode?.(fields, params);
}
