import { CodecError, type Codec, type RawFields } from '../../profiles/codecs/codec.js';
import { decodeBytes } from '../../profiles/codecs/index.js';
import type { DeviceProfile, MetricSpec } from '../../profiles/schema.js';
import { Rejection, type CanonicalMetric, type MetricValue, type UplinkContent } from '../../model/readings.js';

/** A profile metric, prepared once per profile object: the hot path only reads these fields. */
interface Plan {
  name: string;
  source: string;
  path: readonly string[];
  type: MetricSpec['type'];
  unit: string | undefined;
  scale: number;
  offset: number;
  map: ReadonlyMap<string, MetricValue> | undefined;
  min: number;
  max: number;
}

const plans = new WeakMap<DeviceProfile, readonly Plan[]>();

function planFor(profile: DeviceProfile): readonly Plan[] {
  let p = plans.get(profile);
  if (!p) {
    p = profile.metrics.map((m) => ({
      name: m.name,
      source: m.source,
      path: m.source.split('.'),
      type: m.type,
      unit: m.unit,
      scale: m.scale,
      offset: m.offset,
      map: m.map ? new Map(Object.entries(m.map)) : undefined,
      min: m.min ?? -Infinity,
      max: m.max ?? Infinity,
    }));
    plans.set(profile, p);
  }
  return p;
}

const has = Object.prototype.hasOwnProperty;

/** Value at a dot path; undefined when any step is missing or not an object. */
function read(raw: RawFields, path: readonly string[]): unknown {
  let v: unknown = raw;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || !has.call(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'a list' : 'an object';
  return String(v);
};
const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
const hexOf = (b: Uint8Array): string => Array.from(b.subarray(0, 48), (x) => x.toString(16).padStart(2, '0')).join('') + (b.length > 48 ? '…' : '');

// Scaling leaves binary noise (57 × 0.01 = 0.5700000000000001); 12 significant digits is far finer than any sensor.
const tidy = (x: number): number => Number(x.toPrecision(12));

function field(p: Plan): string {
  return p.source === p.name ? `field "${p.source}"` : `field "${p.source}" (metric ${p.name})`;
}

function runCodec(profile: DeviceProfile, codecs: ReadonlyMap<string, Codec>, bytes: Uint8Array, fPort: number, params: Readonly<Record<string, unknown>>): RawFields {
  if (!profile.codec) throw new Rejection('codec-mismatch', `device profile ${profile.id} has no binary codec; it expects JSON, not ${bytes.length} bytes on fPort ${fPort}`);
  const codec = codecs.get(profile.codec);
  if (!codec) throw new Rejection('codec-mismatch', `device profile ${profile.id} names codec "${profile.codec}", which this gateway does not have`);
  try {
    return decodeBytes(codec, bytes, fPort, params);
  } catch (e) {
    const why = e instanceof CodecError ? e.message : `${profile.codec}: decoder failed: ${(e as Error)?.message ?? String(e)}`;
    throw new Rejection('codec-mismatch', `payload does not match device profile ${profile.id} (fPort ${fPort}, ${bytes.length} bytes ${hexOf(bytes)}): ${why}`);
  }
}

function parseJsonObject(text: string): RawFields {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Rejection('malformed-json', `payload is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Rejection('malformed-json', `payload must be a JSON object ({"field": value, ...}), got ${kind(v)}`);
  return v as RawFields;
}

/**
 * Turns one uplink into the vendor's raw fields and the profile's canonical metrics. Pure; throws a
 * Rejection a field engineer can act on. `params` are the device's overrides of the profile's params.
 */
export function decodeUplink(
  profile: DeviceProfile,
  codecs: ReadonlyMap<string, Codec>,
  content: UplinkContent,
  params?: Record<string, unknown>,
): { raw: RawFields; metrics: Record<string, CanonicalMetric>; problems: Rejection[] } {
  const plan = planFor(profile);
  let raw: RawFields;
  if (content.kind === 'bytes') raw = runCodec(profile, codecs, content.bytes, content.fPort, params ? { ...profile.params, ...params } : profile.params);
  else if (content.kind === 'json') raw = parseJsonObject(content.text);
  else raw = content.values;

  const metrics: Record<string, CanonicalMetric> = {};
  // A bad field costs only itself: a failed barometer must not drop the PM10 reading beside it.
  const problems: Rejection[] = [];
  let found = 0;
  for (const p of plan) {
    try {
      found += readMetric(p, raw, metrics);
    } catch (e) {
      if (!(e instanceof Rejection)) throw e;
      problems.push(e);
    }
  }
  if (!found) {
    if (problems.length) throw problems[0]!;
    const keys = Object.keys(raw);
    throw new Rejection('no-metrics', `none of the fields device profile ${profile.id} reads (${plan.map((p) => p.source).join(', ')}) is in the payload; it has ${keys.length ? keys.slice(0, 12).join(', ') : 'no fields'}`);
  }
  return { raw, metrics, problems };
}

/** Reads, checks and converts one metric into `metrics`; 1 when present, 0 when absent; throws a Rejection. */
function readMetric(p: Plan, raw: RawFields, metrics: Record<string, CanonicalMetric>): number {
  {
    let v = p.path.length === 1 ? (has.call(raw, p.source) ? raw[p.source] : undefined) : read(raw, p.path);
    if (v === undefined || v === null) return 0; // the device did not report it this time
    if (p.map) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new Rejection('wrong-type', `${field(p)} is ${kind(v)}; expected one of ${[...p.map.keys()].join(', ')}`);
      const mapped = p.map.get(String(v));
      if (mapped === undefined) throw new Rejection('out-of-range', `${field(p)} is ${show(v)}, which the profile does not know; expected one of ${[...p.map.keys()].join(', ')}`);
      v = mapped;
    }
    if (typeof v !== p.type) throw new Rejection('wrong-type', `${field(p)} is ${kind(v)} (${show(v)}); expected a ${p.type}`);
    if (p.type === 'number') {
      let x = v as number;
      if (!Number.isFinite(x)) throw new Rejection('non-finite', `${field(p)} is ${x}, not a finite number`);
      if (p.scale !== 1 || p.offset !== 0) {
        x = tidy(x * p.scale + p.offset);
        if (!Number.isFinite(x)) throw new Rejection('non-finite', `${field(p)} = ${v as number} overflows when scaled to ${p.unit ?? p.name}`);
      }
      if (x < p.min || x > p.max) {
        const unit = p.unit ? ` ${p.unit}` : '';
        const from = x !== v ? ` (raw ${v as number})` : '';
        throw new Rejection('out-of-range', `${field(p)} gives ${p.name} = ${x}${unit}${from}, outside the plausible range ${p.min}…${p.max}${unit}`);
      }
      v = x;
    }
    metrics[p.name] = p.unit === undefined ? { value: v as MetricValue } : { value: v as MetricValue, unit: p.unit };
    return 1;
  }
}
