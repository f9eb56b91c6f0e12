// The lifecycle of one alarm rule on one device: its state (normal → pending → active, flapping, learned
// baseline) and the transitions a sample, the passing of time or an acknowledgement cause. Pure functions on
// plain data; alarm-engine.ts holds these states for every device and rule.
import type { AlarmState, Severity } from '@gridgate/contract';
import type { CanonicalMetric, MetricValue } from '../../model/readings.js';
import { deviationVerdict, median, rateVerdict, stateVerdict, thresholdVerdict, type ResolvedRule, type Verdict } from '../../model/alarm-conditions.js';

/** One alarm occurrence while it is active. Plain data: persisted as JSON. */
export interface ActiveAlarm {
  alarmId: string;
  acknowledged: boolean;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  raisedAt: number;
  severity: Severity;
  occurrences: number;
  value?: MetricValue;
  limit?: number;
  baseline?: number;
  lastUpdateAt: number;
}

/** Per (device, rule) state. Plain data: persisted as JSON so alarms and learned baselines survive restarts. */
export interface RuleState {
  phase: 'normal' | 'pending' | 'active';
  pendingSince?: number;
  pendingValue?: MetricValue;
  clearSince?: number;
  /** Re-triggered since the last `updated` (rate-limited) message. */
  unreported?: boolean;
  active?: ActiveAlarm;
  raises: number[];
  flapping: boolean;
  baseline?: number;
  learn?: number[];
  last?: { value: number; at: number };
  guard?: MetricValue;
  lastSeen?: number;
}

export interface Transition {
  deviceId: string;
  rule: ResolvedRule;
  state: AlarmState;
  alarm: ActiveAlarm;
  flapping: boolean;
  at: number;
}

export const newRuleState = (): RuleState => ({ phase: 'normal', raises: [], flapping: false });

/** Shortest interval between two `updated` messages of one alarm: re-triggers in between are counted, not sent. */
export const UPDATE_MIN_INTERVAL_MS = 60_000;

interface Step {
  verdict?: Verdict;
  value?: MetricValue;
  limit?: number;
  baseline?: number;
}

/** What a sample says for one rule; `undefined` verdict when the sample does not speak to it. */
function evaluate(r: ResolvedRule, s: RuleState, metrics: Record<string, CanonicalMetric>, at: number): Step {
  const rule = r.rule;
  if (rule.kind === 'offline') return {};
  if (rule.when) {
    const g = metrics[rule.when.metric];
    if (g) s.guard = g.value;
    if (s.guard !== rule.when.equals) return s.guard === undefined ? {} : { verdict: 'ok' };
  }
  const m = metrics[rule.metric];
  if (!m) return {};
  const v = m.value;
  switch (rule.kind) {
    case 'state':
      return { verdict: stateVerdict(rule.equals, v), value: v };
    case 'threshold':
      if (typeof v !== 'number') return {};
      return { verdict: thresholdVerdict(r, v, rule.hysteresis), value: v, limit: v > (r.above ?? Infinity) ? r.above : r.below ?? r.above };
    case 'deviation': {
      if (typeof v !== 'number') return {};
      let baseline = r.fixedBaseline ?? s.baseline;
      if (baseline === undefined) {
        const learnN = 'learnSamples' in rule.baseline ? rule.baseline.learnSamples : 5;
        s.learn = [...(s.learn ?? []), v];
        if (s.learn.length >= learnN) {
          s.baseline = median(s.learn);
          delete s.learn;
        }
        return {}; // samples that teach the baseline are not judged against it
      }
      return { verdict: deviationVerdict(r.limit!, baseline, v, rule.hysteresis), value: v, limit: r.limit, baseline };
    }
    case 'rate': {
      if (typeof v !== 'number') return {};
      const last = s.last;
      s.last = { value: v, at };
      if (!last) return {};
      const dtS = (at - last.at) / 1000;
      if (dtS <= 0 || dtS > rule.windowS) return {};
      if (Math.abs(v - last.value) < rule.minDelta) return { verdict: 'ok', value: v };
      return { verdict: rateVerdict(rule.maxRisePerS, rule.maxFallPerS, (v - last.value) / dtS), value: v };
    }
  }
}

function raise(deviceId: string, r: ResolvedRule, s: RuleState, at: number, step: Step): Transition {
  const f = r.rule.flapping;
  s.raises = [...s.raises.filter((t) => at - t < f.windowS * 1000), at];
  if (s.raises.length >= f.maxRaises) s.flapping = true;
  s.phase = 'active';
  delete s.pendingSince;
  delete s.clearSince;
  s.active = {
    alarmId: `${deviceId}/${r.rule.id}/${at}`,
    acknowledged: false,
    raisedAt: at,
    severity: r.rule.severity,
    occurrences: 1,
    lastUpdateAt: at,
    ...(step.value !== undefined && { value: step.value }),
    ...(step.limit !== undefined && { limit: step.limit }),
    ...(step.baseline !== undefined && { baseline: step.baseline }),
  };
  return { deviceId, rule: r, state: 'raised', alarm: { ...s.active }, flapping: s.flapping, at };
}

function clear(deviceId: string, r: ResolvedRule, s: RuleState, at: number): Transition {
  const alarm = { ...s.active! };
  s.phase = 'normal';
  delete s.active;
  delete s.clearSince;
  delete s.unreported;
  const flapping = s.flapping;
  s.flapping = false;
  return { deviceId, rule: r, state: 'cleared', alarm, flapping, at };
}

function updated(deviceId: string, r: ResolvedRule, s: RuleState, at: number): Transition {
  s.active!.lastUpdateAt = at;
  delete s.unreported;
  return { deviceId, rule: r, state: 'updated', alarm: { ...s.active! }, flapping: s.flapping, at };
}

/**
 * Applies one decoded sample to one rule. Pure apart from mutating `s` (the caller owns it).
 * Returns the transitions it causes (zero or one) and whether `s` changed in a way worth persisting.
 */
export function onSample(deviceId: string, r: ResolvedRule, s: RuleState, metrics: Record<string, CanonicalMetric>, at: number): { out: Transition[]; dirty: boolean } {
  if (r.rule.kind === 'offline') {
    s.lastSeen = at;
    return s.phase === 'active' ? { out: [clear(deviceId, r, s, at)], dirty: true } : { out: [], dirty: false };
  }
  const hadBaseline = s.baseline;
  const step = evaluate(r, s, metrics, at);
  let dirty = hadBaseline !== s.baseline;
  const out: Transition[] = [];
  if (!step.verdict) return { out, dirty };
  const rule = r.rule;
  if (s.phase !== 'active') {
    if (step.verdict === 'trip') {
      if (s.phase === 'normal') {
        s.phase = 'pending';
        s.pendingSince = at;
        dirty = true;
      }
      s.pendingValue = step.value;
      if (at - s.pendingSince! >= rule.forS * 1000) out.push(raise(deviceId, r, s, at, step));
    } else if (s.phase === 'pending') {
      s.phase = 'normal';
      delete s.pendingSince;
      delete s.pendingValue;
      dirty = true;
    }
    return { out, dirty: dirty || out.length > 0 };
  }
  const a = s.active!;
  if (step.value !== undefined) a.value = step.value;
  if (step.verdict === 'ok') {
    if (s.clearSince === undefined) {
      s.clearSince = at;
      dirty = true;
    }
  } else {
    if (s.clearSince !== undefined && step.verdict === 'trip') {
      // The condition came back before the clear was confirmed: one more occurrence of the same alarm.
      a.occurrences++;
      s.unreported = true;
      s.raises = [...s.raises.filter((t) => at - t < rule.flapping.windowS * 1000), at];
      if (!s.flapping && s.raises.length >= rule.flapping.maxRaises) s.flapping = true;
    }
    if (s.clearSince !== undefined) dirty = true;
    delete s.clearSince;
  }
  out.push(...settle(deviceId, r, s, at));
  return { out, dirty: dirty || out.length > 0 };
}

/** Time-driven transitions: pending → raised after forS, clear after clearForS (holdS while flapping), updates. */
function settle(deviceId: string, r: ResolvedRule, s: RuleState, at: number): Transition[] {
  const rule = r.rule;
  if (s.phase === 'pending' && at - s.pendingSince! >= rule.forS * 1000) {
    return [raise(deviceId, r, s, at, { value: s.pendingValue, limit: r.above ?? r.below ?? r.limit, baseline: s.baseline })];
  }
  if (s.phase !== 'active') return [];
  const holdMs = (s.flapping ? rule.flapping.holdS : rule.clearForS) * 1000;
  if (s.clearSince !== undefined && at - s.clearSince >= holdMs) return [clear(deviceId, r, s, at)];
  if (s.unreported && at - s.active!.lastUpdateAt >= UPDATE_MIN_INTERVAL_MS) return [updated(deviceId, r, s, at)];
  return [];
}

/**
 * Advances one rule's timers to `now`. `suppressOffline` holds back a device's offline alarm while the
 * source it comes through (LNS connection, OPC-UA endpoint) is itself down: one alarm per problem, not a storm.
 */
export function onTick(deviceId: string, r: ResolvedRule, s: RuleState, now: number, suppressOffline = false): { out: Transition[]; dirty: boolean } {
  if (r.rule.kind === 'offline') {
    if (s.phase === 'active' || suppressOffline || s.lastSeen === undefined) return { out: [], dirty: false };
    if (now - s.lastSeen >= r.offlineAfterS! * 1000) {
      const t = raise(deviceId, r, s, now, {});
      return { out: [t], dirty: true };
    }
    return { out: [], dirty: false };
  }
  const out = settle(deviceId, r, s, now);
  return { out, dirty: out.length > 0 };
}

/** Acknowledges the active alarm if `alarmId` is it. */
export function acknowledge(deviceId: string, r: ResolvedRule, s: RuleState, alarmId: string, by: string, at: number): Transition | undefined {
  const a = s.active;
  if (!a || a.alarmId !== alarmId || a.acknowledged) return undefined;
  a.acknowledged = true;
  a.acknowledgedAt = at;
  a.acknowledgedBy = by;
  return { deviceId, rule: r, state: 'acknowledged', alarm: { ...a }, flapping: s.flapping, at };
}
