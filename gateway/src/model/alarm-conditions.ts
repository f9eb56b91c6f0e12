import type { AlarmRule, Limit } from '../profiles/schema.js';
import type { MetricValue } from './readings.js';

/** What one sample says about a rule's condition. `hold` is the hysteresis band: neither raise nor clear. */
export type Verdict = 'trip' | 'ok' | 'hold';

/** A rule with its parameter-dependent limits resolved for one device. */
export interface ResolvedRule {
  rule: AlarmRule;
  above?: number;
  below?: number;
  limit?: number;
  fixedBaseline?: number;
  offlineAfterS?: number;
}

export function resolveLimit(limit: Limit | undefined, params: Record<string, unknown>): number | undefined {
  if (limit === undefined) return undefined;
  if (typeof limit === 'number') return limit;
  const p = params[limit.param];
  if (typeof p !== 'number' || !Number.isFinite(p)) throw new Error(`parameter "${limit.param}" must be a number (got ${JSON.stringify(p)})`);
  return p * limit.factor;
}

export function resolveRule(rule: AlarmRule, params: Record<string, unknown>, reportingIntervalS: number): ResolvedRule {
  switch (rule.kind) {
    case 'threshold':
      return { rule, above: resolveLimit(rule.above, params), below: resolveLimit(rule.below, params) };
    case 'deviation':
      return { rule, limit: resolveLimit(rule.limit, params), fixedBaseline: 'fixed' in rule.baseline ? resolveLimit(rule.baseline.fixed, params) : undefined };
    case 'offline':
      return { rule, offlineAfterS: rule.afterS ?? reportingIntervalS * 2.5 };
    default:
      return { rule };
  }
}

export function thresholdVerdict(r: ResolvedRule, v: number, hysteresis: number): Verdict {
  if ((r.above !== undefined && v > r.above) || (r.below !== undefined && v < r.below)) return 'trip';
  const okHigh = r.above === undefined || v <= r.above - hysteresis;
  const okLow = r.below === undefined || v >= r.below + hysteresis;
  return okHigh && okLow ? 'ok' : 'hold';
}

export function deviationVerdict(limit: number, baseline: number, v: number, hysteresis: number): Verdict {
  const d = Math.abs(v - baseline);
  if (d > limit) return 'trip';
  return d <= limit - hysteresis ? 'ok' : 'hold';
}

export function stateVerdict(equals: MetricValue, v: MetricValue): Verdict {
  return v === equals ? 'trip' : 'ok';
}

export function rateVerdict(maxRisePerS: number | undefined, maxFallPerS: number | undefined, ratePerS: number): Verdict {
  if (maxRisePerS !== undefined && ratePerS > maxRisePerS) return 'trip';
  if (maxFallPerS !== undefined && -ratePerS > maxFallPerS) return 'trip';
  return 'ok';
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
