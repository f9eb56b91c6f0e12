// Seeded mutations of real messages for the ingest fuzz test: each takes a valid message (JSON text, or the
// LoRaWAN payload bytes inside a network-server envelope) and breaks it one way a hostile or broken sender
// would. Pure apart from the PRNG it is given: the same seed gives the same inputs.

export type Random = () => number;

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Random, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

const HUGE_NUMBERS = ['1e308', '-1e308', '1e999', '-1e999', '9007199254740993', '5e-324', '-0', '1e21', '123456789012345678901234567890', '0.1e-400'];
const INVALID_UTF8 = [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]];
const ODD_STRINGS = ['', ' ', '\u0000', '\u202e', '😀'.repeat(100), 'NaN', 'Infinity', '__proto__', '{"a":1}', '\\', '"', '\ud800'];
const WHOLE = ['', ' ', 'null', 'true', '0', '-1', '"text"', '[]', '[1,2,3]', '{}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}'];

/** Every path to a value in a parsed JSON document (the root is []). */
function paths(v: unknown, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function setAt(doc: unknown, path: Array<string | number>, value: unknown): unknown {
  if (!path.length) return value;
  let o = doc as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path[path.length - 1]!] = value;
  return doc;
}

/** A JSON text with one value replaced by raw text (numbers JSON cannot hold, nesting JSON.stringify cannot build). */
function withRaw(text: string, r: Random, raw: string): string {
  const doc = JSON.parse(text) as unknown;
  const mark = '"\u0001raw\u0001"';
  return JSON.stringify(setAt(doc, pick(r, paths(doc)), '\u0001raw\u0001')).replace(mark, () => raw);
}

function swapType(v: unknown, r: Random): unknown {
  const options: unknown[] = [null, true, false, 0, -1, 3.5, 'x', pick(r, ODD_STRINGS), [], [v], {}, { v }];
  return pick(r, options.filter((o) => typeof o !== typeof v || Array.isArray(o) !== Array.isArray(v)));
}

function flipBits(b: Buffer, r: Random): Buffer {
  const out = Buffer.from(b);
  if (!out.length) return out;
  for (let n = int(r, 1, 4); n > 0; n--) out[int(r, 0, out.length - 1)]! ^= 1 << int(r, 0, 7);
  return out;
}

export const JSON_MUTATIONS = ['bitflip', 'truncate', 'typeswap', 'hugenum', 'deepnest', 'longstring', 'badutf8', 'protokey', 'dupkey', 'whole', 'garbage'] as const;
export type JsonMutation = (typeof JSON_MUTATIONS)[number];

/** One mutation of a valid JSON message; the result may be anything from valid JSON to bytes that are not UTF-8. */
export function mutateJson(text: string, r: Random, kind: JsonMutation = pick(r, JSON_MUTATIONS)): Buffer {
  switch (kind) {
    case 'bitflip':
      return flipBits(Buffer.from(text), r);
    case 'truncate':
      return Buffer.from(text.slice(0, int(r, 0, Math.max(0, text.length - 1))));
    case 'typeswap': {
      const doc = JSON.parse(text) as unknown;
      const path = pick(r, paths(doc));
      let v: unknown = doc;
      for (const k of path) v = (v as Record<string | number, unknown>)[k];
      return Buffer.from(JSON.stringify(setAt(doc, path, swapType(v, r))));
    }
    case 'hugenum':
      return Buffer.from(withRaw(text, r, pick(r, HUGE_NUMBERS)));
    case 'deepnest': {
      const depth = int(r, 100, 20_000);
      const [open, close] = r() < 0.5 ? ['[', ']'] : ['{"a":', '}'];
      return Buffer.from(withRaw(text, r, `${open.repeat(depth)}1${close.repeat(depth)}`));
    }
    case 'longstring':
      return Buffer.from(withRaw(text, r, JSON.stringify(pick(r, ['x', 'é', '😀', '\\', '"']).repeat(int(r, 1_000, 12_000)))));
    case 'badutf8': {
      const b = Buffer.from(text);
      const at = int(r, 0, b.length);
      return Buffer.concat([b.subarray(0, at), Buffer.from(pick(r, INVALID_UTF8)), b.subarray(at)]);
    }
    case 'protokey': {
      const key = pick(r, ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString']);
      return Buffer.from(text.replace(/^\s*\{/, `{"${key}":{"polluted":true,"prototype":{"polluted":true}},`));
    }
    case 'dupkey': {
      const doc = JSON.parse(text) as Record<string, unknown>;
      const k = Object.keys(doc).length ? pick(r, Object.keys(doc)) : 'k';
      return Buffer.from(text.replace(/\}\s*$/, `,"${k}":${JSON.stringify(swapType(doc[k], r))}}`));
    }
    case 'whole':
      return Buffer.from(pick(r, WHOLE));
    case 'garbage':
      return Buffer.from(Array.from({ length: int(r, 0, 300) }, () => int(r, 0, 255)));
  }
}

export const BYTE_MUTATIONS = ['bitflip', 'truncate', 'extend', 'random', 'empty', 'repeat'] as const;

/** One mutation of a LoRaWAN application payload (what a codec reads). */
export function mutateBytes(bytes: Uint8Array, r: Random): Uint8Array {
  const b = Buffer.from(bytes);
  switch (pick(r, BYTE_MUTATIONS)) {
    case 'bitflip':
      return flipBits(b, r);
    case 'truncate':
      return b.subarray(0, int(r, 0, Math.max(0, b.length - 1)));
    case 'extend':
      return Buffer.concat([b, Buffer.from(Array.from({ length: int(r, 1, 40) }, () => int(r, 0, 255)))]);
    case 'random':
      return Buffer.from(Array.from({ length: int(r, 1, 64) }, () => int(r, 0, 255)));
    case 'empty':
      return Buffer.alloc(0);
    case 'repeat':
      return Buffer.concat(Array.from({ length: int(r, 2, 20) }, () => b));
  }
  return b;
}
