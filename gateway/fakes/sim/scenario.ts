import type { RawFields } from '../../src/profiles/codecs/codec.js';
import type { DeviceProfile, MetricSpec } from '../../src/profiles/schema.js';
import type { MetricValue } from '../../src/model/readings.js';

/** A fault a simulated device goes through: one of its profile's named faults, or going silent. */
export interface FaultWindow {
  deviceId: string;
  fault: string; // a key of profile.simulation.faults, or 'silent'
  fromS: number;
  toS: number;
}

/** Small deterministic PRNG (mulberry32): the same seed gives the same traffic, so demos and tests repeat. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function activeFault(plan: readonly FaultWindow[], deviceId: string, tS: number): string | undefined {
  return plan.find((f) => f.deviceId === deviceId && tS >= f.fromS && tS < f.toS)?.fault;
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

/** A random fault plan: each device has one fault (or a silence) at a random moment, lasting 20–60 s. */
export function randomFaultPlan(devices: ReadonlyArray<{ id: string; profile: DeviceProfile }>, durationS: number, random: () => number, share = 0.3): FaultWindow[] {
  const plan: FaultWindow[] = [];
  for (const d of devices) {
    if (random() >= share) continue;
    const faults = [...Object.keys(d.profile.simulation?.faults ?? {}), 'silent'];
    const fault = faults[Math.floor(random() * faults.length)]!;
    const fromS = Math.floor(random() * Math.max(1, durationS - 30));
    plan.push({ deviceId: d.id, fault, fromS, toS: fromS + 20 + Math.floor(random() * 40) });
  }
  return plan;
}
