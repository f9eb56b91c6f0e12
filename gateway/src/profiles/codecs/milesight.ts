// Milesight channel/type TLV uplinks: [channel id][channel type][data]..., little-endian.
// Facts (ids, types, sizes, scaling, field names) from Milesight-IoT/SensorDecoders and
// TheThingsNetwork/lorawan-devices vendor/milesight-iot; the code is ours.
import { CodecError, type Codec, type RawFields } from './codec.js';

/** Milesight sensors send their reports on this LoRaWAN port. */
export const MILESIGHT_FPORT = 85;

type Fail = (message: string) => never;

interface Channel {
  id: number;
  type: number;
  /** Data bytes after the id and type bytes. */
  size: number;
  label: string;
  /** Raw fields this channel produces. */
  fields: readonly string[];
  /** Fields that must all be given for `encode` to send this channel (default: all of `fields`). */
  needs?: readonly string[];
  read(b: Uint8Array, at: number, out: RawFields): void;
  /** Data parts (without id/type) for `encode`; absent for what only the device itself reports. */
  write?(f: RawFields, fail: Fail): number[][];
}

const hex = (n: number): string => n.toString(16).padStart(2, '0');
const u16 = (b: Uint8Array, i: number): number => b[i]! | (b[i + 1]! << 8);
const i16 = (b: Uint8Array, i: number): number => (u16(b, i) << 16) >> 16;
const u32 = (b: Uint8Array, i: number): number => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, k) => Math.floor(v / 2 ** (8 * k)) & 0xff);

type Wire = 'u8' | 'u16' | 'i16' | 'u32';
const WIRE: Record<Wire, { n: number; min: number; max: number; read(b: Uint8Array, i: number): number }> = {
  u8: { n: 1, min: 0, max: 0xff, read: (b, i) => b[i]! },
  u16: { n: 2, min: 0, max: 0xffff, read: u16 },
  i16: { n: 2, min: -0x8000, max: 0x7fff, read: i16 },
  u32: { n: 4, min: 0, max: 0xffffffff, read: u32 },
};

/** A number the encoder must send, scaled to the wire integer and range-checked. */
function wireInt(f: RawFields, key: string, wire: Wire, div: number, fail: Fail): number[] {
  const v = f[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`field "${key}" must be a finite number, got ${JSON.stringify(v)}`);
  const w = WIRE[wire];
  const n = Math.round(v * div);
  if (n < w.min || n > w.max) return fail(`field "${key}" = ${v} does not fit the ${wire} wire format (${w.min / div}…${w.max / div})`);
  return le(n < 0 ? n + 2 ** (8 * w.n) : n, w.n);
}

/** Index of an enum text (vendor's value table), or the default when the field is absent. */
function wireEnum(f: RawFields, key: string, table: readonly string[], dflt: number | undefined, fail: Fail): number {
  const v = f[key];
  if (v === undefined && dflt !== undefined) return dflt;
  const k = typeof v === 'string' ? table.indexOf(v) : -1;
  return k >= 0 ? k : fail(`field "${key}" must be one of ${table.map((t) => `"${t}"`).join(', ')}, got ${JSON.stringify(v)}`);
}

const enumText = (table: readonly string[], v: number): string => table[v] ?? 'unknown';

/** One number per channel: raw wire integer divided by `div` (as the vendor's decoder divides). */
function numeric(id: number, type: number, field: string, wire: Wire, div = 1): Channel {
  const w = WIRE[wire];
  return {
    id, type, size: w.n, label: field, fields: [field],
    read: (b, i, out) => { out[field] = div === 1 ? w.read(b, i) : w.read(b, i) / div; },
    write: (f, fail) => [wireInt(f, field, wire, div, fail)],
  };
}

/** A number followed by the vendor's threshold-alarm status byte. */
function numericWithAlarm(id: number, type: number, field: string, alarm: string, wire: Wire, div = 1): Channel {
  const w = WIRE[wire];
  const table = ['threshold_alarm_release', 'threshold_alarm'] as const;
  return {
    id, type, size: w.n + 1, label: `${field} + ${alarm}`, fields: [field, alarm],
    read: (b, i, out) => {
      out[field] = div === 1 ? w.read(b, i) : w.read(b, i) / div;
      out[alarm] = enumText(table, b[i + w.n]!);
    },
    write: (f, fail) => [[...wireInt(f, field, wire, div, fail), wireEnum(f, alarm, table, undefined, fail)]],
  };
}

function enumeration(id: number, type: number, field: string, table: readonly string[]): Channel {
  return {
    id, type, size: 1, label: field, fields: [field],
    read: (b, i, out) => { out[field] = enumText(table, b[i]!); },
    write: (f, fail) => [[wireEnum(f, field, table, undefined, fail)]],
  };
}

/** Sent by the device itself (power-on, device info); decoded, never simulated. */
function info(type: number, size: number, field: string, read: (b: Uint8Array, i: number) => unknown): Channel {
  return { id: 0xff, type, size, label: field, fields: [field], read: (b, i, out) => { out[field] = read(b, i); } };
}

const version = (major: number | string, minor: number | string): string => `v${major}.${minor}`;
// Hardware and firmware versions are BCD-like: 01 10 -> v1.10 (vendor README; some vendor files print decimal).
const DEVICE_INFO: Channel[] = [
  info(0x01, 1, 'ipso_version', (b, i) => version(b[i]! >> 4, b[i]! & 0x0f)),
  info(0x09, 2, 'hardware_version', (b, i) => version(b[i]!.toString(16), b[i + 1]! >> 4)),
  info(0x0a, 2, 'firmware_version', (b, i) => version(b[i]!.toString(16), b[i + 1]!.toString(16))),
  info(0xff, 2, 'tsl_version', (b, i) => version(b[i]!, b[i + 1]!)),
  info(0x16, 8, 'sn', (b, i) => Array.from(b.subarray(i, i + 8), hex).join('')),
  info(0x0f, 1, 'lorawan_class', (b, i) => enumText(['Class A', 'Class B', 'Class C', 'Class CtoB'], b[i]!)),
  // The vendor's decoder reports these two as fixed texts whatever the data byte says.
  info(0xfe, 1, 'reset_event', () => 'reset'),
  info(0x0b, 1, 'device_status', () => 'on'),
  // Echo of a configuration downlink.
  info(0x03, 2, 'report_interval', u16),
];
const COLLECTION_INTERVAL = info(0x02, 2, 'collection_interval', u16);

const BATTERY = numeric(0x01, 0x75, 'battery', 'u8');

const THRESHOLD = ['normal', 'trigger'] as const;
const TILT_ANGLES: Channel = {
  id: 0x03, type: 0xcf, size: 7, label: 'angle_x/y/z + threshold_x/y/z',
  fields: ['angle_x', 'angle_y', 'angle_z', 'threshold_x', 'threshold_y', 'threshold_z'],
  needs: ['angle_x', 'angle_y', 'angle_z'],
  read: (b, i, out) => {
    out.angle_x = i16(b, i) / 100;
    out.angle_y = i16(b, i + 2) / 100;
    out.angle_z = i16(b, i + 4) / 100;
    const t = b[i + 6]!;
    out.threshold_x = enumText(THRESHOLD, t & 1);
    out.threshold_y = enumText(THRESHOLD, (t >> 1) & 1);
    out.threshold_z = enumText(THRESHOLD, (t >> 2) & 1);
  },
  write: (f, fail) => {
    const t = ['threshold_x', 'threshold_y', 'threshold_z'].reduce((acc, k, bit) => acc | (wireEnum(f, k, THRESHOLD, 0, fail) << bit), 0);
    return [[...wireInt(f, 'angle_x', 'i16', 100, fail), ...wireInt(f, 'angle_y', 'i16', 100, fail), ...wireInt(f, 'angle_z', 'i16', 100, fail), t]];
  },
};

/** History records (0x20 0xCE): timestamp (u32, s) + one reading; each adds an entry to `history`. */
function history(label: string, readValue: (b: Uint8Array, i: number, entry: RawFields) => void, writeValue: (e: RawFields, fail: Fail) => number[]): Channel {
  return {
    id: 0x20, type: 0xce, size: 6, label: `history (timestamp + ${label})`, fields: ['history'],
    read: (b, i, out) => {
      const entry: RawFields = { timestamp: u32(b, i) };
      readValue(b, i + 4, entry);
      const list = Array.isArray(out.history) ? (out.history as RawFields[]) : (out.history = []);
      list.push(entry);
    },
    write: (f, fail) => {
      if (!Array.isArray(f.history)) return fail('field "history" must be a list of {timestamp, ...} records');
      return f.history.map((e: unknown, k) => {
        if (typeof e !== 'object' || e === null) return fail(`history[${k}] must be a record`);
        const entry = e as RawFields;
        return [...wireInt(entry, 'timestamp', 'u32', 1, fail), ...writeValue(entry, fail)];
      });
    },
  };
}

// EM500-SWL: level in cm; 0xFFFF / 0xFFFD mean "collection failed" / "out of range" (newer vendor decoder).
const LEVEL_ERRORS: Record<number, string> = { 0xffff: 'collection failed', 0xfffd: 'out of range' };
function readLevel(b: Uint8Array, i: number, out: RawFields): void {
  const v = u16(b, i);
  const err = LEVEL_ERRORS[v];
  if (err) out.level_error = err;
  else out.level = v;
}
const WATER_LEVEL: Channel = {
  id: 0x03, type: 0x77, size: 2, label: 'level', fields: ['level', 'level_error'], needs: [],
  read: readLevel,
  write: (f, fail) => {
    if (f.level === undefined && typeof f.level_error === 'string') {
      const code = Object.entries(LEVEL_ERRORS).find(([, t]) => t === f.level_error)?.[0];
      return code ? [le(Number(code), 2)] : fail(`field "level_error" must be one of ${Object.values(LEVEL_ERRORS).join(', ')}`);
    }
    return [wireInt(f, 'level', 'u16', 1, fail)];
  },
};
const SWL_MEASURING_EQUIPMENT: Channel = {
  id: 0xff, type: 0x1b, size: 5, label: 'measuring_equipment', fields: ['measuring_equipment'],
  read: (b, i, out) => {
    out.measuring_equipment = {
      rate: enumText(['0.01', '0.1', '1', '10', '100', '1000'], b[i]! & 0x07),
      range_max: i16(b, i + 1) / 10,
      range_min: i16(b, i + 3) / 10,
    };
  },
};

// WS558: 2 bytes; the first is a change mask the vendor's decoder ignores, the second the relay states (bit n = switch n+1).
const SWITCHES = Array.from({ length: 8 }, (_, k) => `switch_${k + 1}`);
const ONOFF = ['off', 'on'] as const;
const WS558_SWITCHES: Channel = {
  id: 0x08, type: 0x31, size: 2, label: 'switch_1..8', fields: SWITCHES, needs: [],
  read: (b, i, out) => {
    const state = b[i + 1]!;
    SWITCHES.forEach((name, bit) => { out[name] = enumText(ONOFF, (state >> bit) & 1); });
  },
  write: (f, fail) => [[0x00, SWITCHES.reduce((acc, name, bit) => acc | (wireEnum(f, name, ONOFF, 0, fail) << bit), 0)]],
};

interface Model {
  id: string;
  model: string;
  channels: Channel[];
}

const MODELS: Model[] = [
  { id: 'milesight-em310-tilt', model: 'EM310-TILT', channels: [...DEVICE_INFO, BATTERY, TILT_ANGLES] },
  {
    id: 'milesight-em400-mud',
    model: 'EM400-MUD',
    channels: [
      ...DEVICE_INFO, COLLECTION_INTERVAL, BATTERY,
      numeric(0x03, 0x67, 'temperature', 'i16', 10),
      numeric(0x04, 0x82, 'distance', 'u16'), // mm
      enumeration(0x05, 0x00, 'position', ['normal', 'tilt']),
      numericWithAlarm(0x83, 0x67, 'temperature', 'temperature_alarm', 'i16', 10),
      numericWithAlarm(0x84, 0x82, 'distance', 'distance_alarm', 'u16'),
    ],
  },
  {
    id: 'milesight-em500-swl',
    model: 'EM500-SWL',
    channels: [
      ...DEVICE_INFO, COLLECTION_INTERVAL, SWL_MEASURING_EQUIPMENT, BATTERY, WATER_LEVEL,
      history('level', readLevel, (e, fail) => wireInt(e, 'level', 'u16', 1, fail)),
    ],
  },
  {
    id: 'milesight-em500-pp',
    model: 'EM500-PP',
    channels: [
      ...DEVICE_INFO, COLLECTION_INTERVAL, BATTERY,
      numeric(0x03, 0x7b, 'pressure', 'i16'), // kPa
      history('pressure', (b, i, e) => { e.pressure = i16(b, i); }, (e, fail) => wireInt(e, 'pressure', 'i16', 1, fail)),
    ],
  },
  {
    id: 'milesight-ws558',
    model: 'WS558',
    channels: [
      ...DEVICE_INFO,
      enumeration(0xff, 0x26, 'power_consumption_enable', ['disable', 'enable']),
      numeric(0x03, 0x74, 'voltage', 'u16', 10), // V
      numeric(0x04, 0x80, 'active_power', 'u32'), // W
      numeric(0x05, 0x81, 'power_factor', 'u8'), // %
      numeric(0x06, 0x83, 'power_consumption', 'u32'), // Wh
      numeric(0x07, 0xc9, 'total_current', 'u16'), // mA
      WS558_SWITCHES,
    ],
  },
];

function makeCodec(m: Model): Codec {
  const byKey = new Map<number, Channel>();
  for (const c of m.channels) byKey.set((c.id << 8) | c.type, c);
  const known = m.channels.map((c) => `${hex(c.id)} ${hex(c.type)} ${c.label}`).join('; ');
  // For encode: the channels that can carry each field, the most specific (most needed fields) first.
  const carriers = new Map<string, Channel[]>();
  for (const c of m.channels) for (const f of c.fields) carriers.set(f, [...(carriers.get(f) ?? []), c]);
  for (const list of carriers.values()) list.sort((a, b) => (b.needs ?? b.fields).length - (a.needs ?? a.fields).length);
  function fail(message: string): never {
    throw new CodecError(m.id, message);
  }

  return {
    id: m.id,
    decode(bytes: Uint8Array, fPort: number): RawFields {
      if (fPort !== MILESIGHT_FPORT) fail(`fPort ${fPort}: the ${m.model} sends its reports on fPort ${MILESIGHT_FPORT}`);
      if (bytes.length === 0) fail('empty payload: expected at least one channel (id, type, data)');
      const out: RawFields = {};
      let i = 0;
      while (i < bytes.length) {
        if (bytes.length - i < 2) fail(`byte ${i}: payload ends inside a channel header (0x${hex(bytes[i]!)} and no type byte)`);
        const id = bytes[i]!;
        const type = bytes[i + 1]!;
        const c = byKey.get((id << 8) | type);
        if (!c) fail(`byte ${i}: unknown channel 0x${hex(id)} type 0x${hex(type)}; the ${m.model} sends: ${known}`);
        const left = bytes.length - i - 2;
        if (left < c.size) fail(`byte ${i}: channel 0x${hex(id)} type 0x${hex(type)} (${c.label}) needs ${c.size} data bytes, only ${left} left (truncated payload)`);
        c.read(bytes, i + 2, out);
        i += 2 + c.size;
      }
      return out;
    },
    encode(fields: RawFields): { bytes: Uint8Array; fPort: number } {
      const given = new Set(Object.keys(fields).filter((k) => fields[k] !== undefined));
      const covered = new Set<string>();
      const out: number[] = [];
      const failEncode: Fail = (msg) => fail(`encode: ${msg}`);
      for (const k of given) {
        if (covered.has(k)) continue;
        const list = carriers.get(k);
        if (!list) fail(`encode: the ${m.model} has no field "${k}"`);
        const writable = list.filter((ch) => ch.write);
        if (!writable.length) fail(`encode: "${k}" is reported by the ${m.model} itself and cannot be simulated`);
        const c = writable.find((ch) => (ch.needs ?? ch.fields).every((n) => given.has(n)));
        if (!c) {
          const last = writable[writable.length - 1]!;
          fail(`encode: "${k}" is sent together with ${(last.needs ?? last.fields).filter((n) => !given.has(n)).join(', ')}; give those too`);
        }
        for (const data of c.write!(fields, failEncode)) out.push(c.id, c.type, ...data);
        for (const f of c.fields) covered.add(f);
      }
      if (!out.length) fail('encode: no fields given');
      return { bytes: Uint8Array.from(out), fPort: MILESIGHT_FPORT };
    },
  };
}

/** One codec per supported Milesight model. */
export function milesightCodecs(): Codec[] {
  return MODELS.map(makeCodec);
}
