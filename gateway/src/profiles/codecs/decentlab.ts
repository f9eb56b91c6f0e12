// Decentlab protocol v2 uplinks, big-endian:
//   version (1 byte, = 2) | device id (u16) | flags (u16, bit n = sensor n present) | per present sensor: its 16-bit words
// Facts (sensor order, word counts, conversions, names) from decentlab/decentlab-decoders and
// TheThingsNetwork/lorawan-devices vendor/decentlab; the code is ours. Values come out flat (the vendor's
// decoder wraps each as {displayName, value, unit}; the shared vectors and our profiles use the value).
import { CodecError, type Codec, type RawFields } from './codec.js';
import type { CodecParams } from './codec.js';

export const DECENTLAB_FPORT = 1;
export const DECENTLAB_PROTOCOL_VERSION = 2;

/** Per-device parameters of a model (e.g. a pressure sensor's range), resolved from defaults and device params. */
type Params = Readonly<Record<string, number>>;

interface SensorValue {
  name: string;
  /** Index of the 16-bit word this value is computed from. */
  word: number;
  decode(x: number, p: Params): number;
  encode(v: number, p: Params): number;
  /** encode sends 0 when it is not given (values no profile maps, so the simulator never has them). */
  optional?: boolean;
}

interface Sensor {
  label: string;
  words: number;
  values: SensorValue[];
}

interface Model {
  id: string;
  model: string;
  /** Parameter names with the vendor's published defaults. */
  params: Params;
  /** Why a set of parameters makes no sense, if it does not. */
  checkParams?(p: Params): string | undefined;
  sensors: Sensor[];
}

const BATTERY: Sensor = {
  label: 'battery',
  words: 1,
  values: [{ name: 'battery_voltage', word: 0, decode: (x) => x / 1000, encode: (v) => v * 1000 }],
};

// DL-PR26: Keller PR-26 pressure transducer; pressure (bar) depends on the device's range Pmin..Pmax.
const DL_PR26: Model = {
  id: 'decentlab-dl-pr26',
  model: 'DL-PR26',
  params: { pmin_bar: 0, pmax_bar: 1 },
  checkParams: (p) => (p.pmax_bar! > p.pmin_bar! ? undefined : `pmax_bar (${p.pmax_bar}) must be above pmin_bar (${p.pmin_bar})`),
  sensors: [
    {
      label: 'pressure + temperature',
      words: 2,
      values: [
        {
          name: 'pressure',
          word: 0,
          decode: (x, p) => ((x - 16384) / 32768) * (p.pmax_bar! - p.pmin_bar!) + p.pmin_bar!,
          encode: (v, p) => ((v - p.pmin_bar!) / (p.pmax_bar! - p.pmin_bar!)) * 32768 + 16384,
        },
        { name: 'temperature', word: 1, decode: (x) => (x - 384) * 0.003125 - 50, encode: (v) => (v + 50) / 0.003125 + 384 },
      ],
    },
    BATTERY,
  ],
};

const tenth = (name: string, word: number, optional = false): SensorValue => ({ name, word, decode: (x) => x / 10, encode: (v) => v * 10, optional });

// DL-PM: Sensirion SPS30 particulate matter + SHT humidity/temperature + barometer.
const DL_PM: Model = {
  id: 'decentlab-dl-pm',
  model: 'DL-PM',
  params: {},
  sensors: [
    BATTERY,
    {
      label: 'particulate matter',
      words: 10,
      values: [
        tenth('pm1_0_mass_concentration', 0),
        tenth('pm2_5_mass_concentration', 1),
        tenth('pm4_mass_concentration', 2),
        tenth('pm10_mass_concentration', 3),
        { name: 'typical_particle_size', word: 4, decode: (x) => x, encode: (v) => v, optional: true }, // nm
        tenth('pm0_5_number_concentration', 5, true), // 1/cm³
        tenth('pm1_0_number_concentration', 6, true),
        tenth('pm2_5_number_concentration', 7, true),
        tenth('pm4_number_concentration', 8, true),
        tenth('pm10_number_concentration', 9, true),
      ],
    },
    {
      label: 'air temperature + humidity',
      words: 2,
      values: [
        { name: 'air_temperature', word: 0, decode: (x) => (175.72 * x) / 65536 - 46.85, encode: (v) => ((v + 46.85) * 65536) / 175.72 },
        { name: 'air_humidity', word: 1, decode: (x) => (125 * x) / 65536 - 6, encode: (v) => ((v + 6) * 65536) / 125 },
      ],
    },
    {
      label: 'barometric pressure',
      words: 1,
      values: [{ name: 'barometric_pressure', word: 0, decode: (x) => x * 2, encode: (v) => v / 2 }], // Pa
    },
  ],
};

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;
const u16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;

function makeCodec(m: Model): Codec {
  function fail(message: string): never {
    throw new CodecError(m.id, message);
  }

  function resolve(params: CodecParams | undefined): Params {
    if (!params) return m.params;
    const out: Record<string, number> = { ...m.params };
    for (const k of Object.keys(m.params)) {
      const v = params[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`device parameter ${k} must be a number, got ${JSON.stringify(v)}`);
      out[k] = v;
    }
    const problem = m.checkParams?.(out);
    if (problem) fail(`device parameters: ${problem}`);
    return out;
  }

  return {
    id: m.id,
    decode(bytes: Uint8Array, fPort: number, params?: CodecParams): RawFields {
      if (fPort !== DECENTLAB_FPORT) fail(`fPort ${fPort}: the ${m.model} sends its measurements on fPort ${DECENTLAB_FPORT}`);
      if (bytes.length < 5) fail(`payload has ${bytes.length} bytes; a Decentlab v2 header needs 5 (version, device id, flags)`);
      const version = bytes[0]!;
      if (version !== DECENTLAB_PROTOCOL_VERSION) fail(`byte 0: protocol version ${version}; the ${m.model} codec reads Decentlab protocol version ${DECENTLAB_PROTOCOL_VERSION}`);
      const p = resolve(params);
      const flags = u16(bytes, 3);
      if (flags >> m.sensors.length) fail(`bytes 3-4: flags ${hex4(flags)} announce sensor ${31 - Math.clz32(flags)}, but the ${m.model} has only ${m.sensors.length} (${m.sensors.map((s) => s.label).join(', ')})`);
      const out: RawFields = { protocol_version: version, device_id: u16(bytes, 1) };
      let pos = 5;
      m.sensors.forEach((s, n) => {
        if (!((flags >> n) & 1)) return;
        if (bytes.length < pos + 2 * s.words) fail(`byte ${pos}: sensor ${n} (${s.label}) needs ${2 * s.words} bytes, only ${bytes.length - pos} left (truncated payload)`);
        for (const v of s.values) out[v.name] = v.decode(u16(bytes, pos + 2 * v.word), p);
        pos += 2 * s.words;
      });
      const extra = bytes.length - pos;
      if (extra) fail(`byte ${pos}: ${extra} extra byte${extra === 1 ? '' : 's'} after the sensors that flags ${hex4(flags)} announce`);
      return out;
    },
    encode(fields: RawFields, params?: CodecParams): { bytes: Uint8Array; fPort: number } {
      const p = resolve(params);
      const known = new Set(['protocol_version', 'device_id', ...m.sensors.flatMap((s) => s.values.map((v) => v.name))]);
      for (const k of Object.keys(fields)) if (fields[k] !== undefined && !known.has(k)) fail(`encode: the ${m.model} has no field "${k}"`);
      if (fields.protocol_version !== undefined && fields.protocol_version !== DECENTLAB_PROTOCOL_VERSION) fail(`encode: protocol_version must be ${DECENTLAB_PROTOCOL_VERSION}`);
      const id = fields.device_id ?? 0; // the device's serial; the simulator has none to give
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffff) fail(`encode: device_id must be an integer 0…65535, got ${JSON.stringify(id)}`);
      let flags = 0;
      const words: number[] = [];
      m.sensors.forEach((s, n) => {
        if (!s.values.some((v) => fields[v.name] !== undefined)) return;
        const missing = s.values.filter((v) => fields[v.name] === undefined && !v.optional);
        if (missing.length) fail(`encode: sensor ${s.label} sends ${s.values.filter((v) => !v.optional).map((v) => v.name).join(', ')} together; missing ${missing.map((v) => v.name).join(', ')}`);
        flags |= 1 << n;
        const w = new Array<number>(s.words).fill(0);
        for (const v of s.values) {
          const value = fields[v.name] ?? (v.optional ? 0 : undefined);
          if (typeof value !== 'number' || !Number.isFinite(value)) fail(`encode: field "${v.name}" must be a finite number, got ${JSON.stringify(value)}`);
          const x = Math.round(v.encode(value, p));
          if (x < 0 || x > 0xffff) fail(`encode: ${v.name} = ${value} is outside what the ${m.model} can report${Object.keys(p).length ? ` with ${JSON.stringify(p)}` : ''}`);
          w[v.word] = x;
        }
        words.push(...w);
      });
      const bytes = [DECENTLAB_PROTOCOL_VERSION, id >> 8, id & 0xff, flags >> 8, flags & 0xff, ...words.flatMap((x) => [x >> 8, x & 0xff])];
      return { bytes: Uint8Array.from(bytes), fPort: DECENTLAB_FPORT };
    },
  };
}

/** The supported Decentlab models. Their decode/encode take optional device params (see CodecParams). */
export function decentlabCodecs(): Codec[] {
  return [DL_PR26, DL_PM].map(makeCodec);
}
