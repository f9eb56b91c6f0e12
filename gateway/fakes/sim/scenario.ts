import type { DeviceProfile } from '../../src/profiles/schema.js';

// A simulated device's values come from its profile (profiles/simulation.ts); the fault plans and the seeded
// randomness of a simulation run are the simulator's own.

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
