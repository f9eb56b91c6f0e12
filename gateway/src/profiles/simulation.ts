import type { RawFields } from './codecs/codec.js';
import type { DeviceProfile, MetricSpec, MetricValue } from './schema.js';

// A profile's `simulation:` section as values: what a device of the profile reports (normal, or in one of its
// faults), in canonical metrics and back in the vendor's raw fields. The simulator (gateway/fakes/sim) sends
// them; `gridgate devices add` prints one as an example payload.

/** A payload the device could send, from the profile's simulated normal values (JSON devices). */
export function examplePayload(profile: DeviceProfile): string | undefined {
  if (profile.transport !== 'mqtt-json' || !profile.simulation) return undefined;
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const metrics = simulatedMetrics(profile, undefined, random);
  return metrics && JSON.stringify(toRawFields(profile, metrics));
}

/**
 * Canonical values a device of this profile reports at this moment: its normal state, overridden by the
 * active fault. Ranges `[min, max]` are drawn uniformly. Undefined while the device is silent.
 */
export function simulatedMetrics(
  profile: DeviceProfile,
  fault: string | undefined,
  random: () => number,
  previous?: Record<string, MetricValue>,
): Record<string, MetricValue> | undefined {
  if (fault === 'silent') return undefined;
  const sim = profile.simulation;
  if (!sim) throw new Error(`profile ${profile.id} has no simulation section`);
  const faultValues = fault ? sim.faults[fault] : undefined;
  if (fault && !faultValues) throw new Error(`profile ${profile.id} has no simulated fault "${fault}" (it has: ${Object.keys(sim.faults).join(', ') || 'none'})`);
  const out: Record<string, MetricValue> = {};
  for (const [name, v] of Object.entries({ ...sim.normal, ...faultValues })) {
    out[name] = Array.isArray(v) ? drift(v[0], v[1], previous?.[name], random) : v;
  }
  return out;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Real quantities drift: a value already in the range moves by at most 2% of the range per report
 * (independent draws would look like a pipe bursting every few seconds to a rate-of-change rule);
 * a value outside it (a fault began or ended) jumps into the range.
 */
function drift(lo: number, hi: number, prev: MetricValue | undefined, random: () => number): number {
  if (typeof prev === 'number' && prev >= lo && prev <= hi) return round(Math.min(hi, Math.max(lo, prev + (random() * 2 - 1) * (hi - lo) * 0.02)));
  return round(lo + random() * (hi - lo));
}

/** Inverse of the profile's metric mapping: canonical values back to the vendor's raw fields. */
export function toRawFields(profile: DeviceProfile, metrics: Record<string, MetricValue>): RawFields {
  const raw: RawFields = {};
  for (const spec of profile.metrics) {
    const v = metrics[spec.name];
    if (v === undefined) continue;
    setPath(raw, spec.source, rawValue(spec, v));
  }
  return raw;
}

function rawValue(spec: MetricSpec, v: MetricValue): unknown {
  if (spec.map) {
    const hit = Object.entries(spec.map).find(([, c]) => c === v);
    if (hit) return hit[0];
  }
  if (typeof v === 'number') return round((v - spec.offset) / spec.scale);
  return v;
}

function setPath(obj: RawFields, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = obj as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[parts[parts.length - 1]!] = value;
}
