import type { CanonicalMetric } from '../../model/readings.js';
import type { ResolvedRule } from '../../model/alarm-conditions.js';
import { acknowledge, newRuleState, onSample, onTick, type RuleState, type Transition } from './rule-lifecycle.js';

export interface PersistedRuleState {
  deviceId: string;
  ruleId: string;
  state: RuleState;
}

/**
 * Holds every (device, rule) state and applies samples, time and acknowledgements to them through each
 * rule's lifecycle (rule-lifecycle.ts).
 * No I/O: the caller persists what `takeDirty` returns and publishes the transitions.
 */
export class AlarmEngine {
  private readonly states = new Map<string, Map<string, RuleState>>();
  private readonly dirty = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly rules: ReadonlyMap<string, readonly ResolvedRule[]>,
    restored: Iterable<PersistedRuleState>,
    startedAt: number,
  ) {
    for (const p of restored) {
      if (this.rules.get(p.deviceId)?.some((r) => r.rule.id === p.ruleId)) this.stateMap(p.deviceId).set(p.ruleId, p.state);
    }
    for (const [deviceId, rs] of this.rules) {
      for (const r of rs) {
        const s = this.state(deviceId, r.rule.id);
        // The offline clock of a device never heard from starts when the gateway starts.
        if (r.rule.kind === 'offline' && s.lastSeen === undefined) s.lastSeen = startedAt;
      }
    }
  }

  private stateMap(deviceId: string): Map<string, RuleState> {
    let m = this.states.get(deviceId);
    if (!m) this.states.set(deviceId, (m = new Map()));
    return m;
  }

  private state(deviceId: string, ruleId: string): RuleState {
    const m = this.stateMap(deviceId);
    let s = m.get(ruleId);
    if (!s) m.set(ruleId, (s = newRuleState()));
    return s;
  }

  sample(deviceId: string, metrics: Record<string, CanonicalMetric>, at: number): Transition[] {
    const out: Transition[] = [];
    for (const r of this.rules.get(deviceId) ?? []) {
      const res = onSample(deviceId, r, this.state(deviceId, r.rule.id), metrics, at);
      out.push(...res.out);
      if (res.dirty) this.dirty.add(key(deviceId, r.rule.id));
      else if (r.rule.kind === 'offline') this.seen.add(key(deviceId, r.rule.id));
    }
    return out;
  }

  /**
   * The device is reachable but has nothing new to say (an OPC-UA subscription reports changes only):
   * only its offline rules hear this.
   */
  alive(deviceId: string, at: number): Transition[] {
    const out: Transition[] = [];
    for (const r of this.rules.get(deviceId) ?? []) {
      if (r.rule.kind !== 'offline') continue;
      const res = onSample(deviceId, r, this.state(deviceId, r.rule.id), {}, at);
      out.push(...res.out);
      if (res.dirty) this.dirty.add(key(deviceId, r.rule.id));
      else this.seen.add(key(deviceId, r.rule.id));
    }
    return out;
  }

  tick(now: number, suppressOffline: (deviceId: string) => boolean = () => false): Transition[] {
    const out: Transition[] = [];
    for (const [deviceId, rs] of this.rules) {
      for (const r of rs) {
        const res = onTick(deviceId, r, this.state(deviceId, r.rule.id), now, r.rule.kind === 'offline' && suppressOffline(deviceId));
        out.push(...res.out);
        if (res.dirty) this.dirty.add(key(deviceId, r.rule.id));
      }
    }
    return out;
  }

  /** Phase of one rule's condition: normal, pending (tripped, not yet held for forS) or active. */
  phase(deviceId: string, ruleId: string): 'normal' | 'pending' | 'active' {
    return this.states.get(deviceId)?.get(ruleId)?.phase ?? 'normal';
  }

  /** Acknowledges an active alarm by its id; undefined when no active, unacknowledged alarm has that id. */
  acknowledge(alarmId: string, by: string, at: number): Transition | undefined {
    const [deviceId, ruleId] = alarmId.split('/');
    const r = this.rules.get(deviceId ?? '')?.find((x) => x.rule.id === ruleId);
    if (!r) return undefined;
    const t = acknowledge(deviceId!, r, this.state(deviceId!, ruleId!), alarmId, by, at);
    if (t) this.dirty.add(key(deviceId!, ruleId!));
    return t;
  }

  /** Active alarms, for status views. */
  active(): Array<{ deviceId: string; rule: ResolvedRule; state: RuleState }> {
    const out: Array<{ deviceId: string; rule: ResolvedRule; state: RuleState }> = [];
    for (const [deviceId, rs] of this.rules) {
      for (const r of rs) {
        const s = this.states.get(deviceId)?.get(r.rule.id);
        if (s?.phase === 'active') out.push({ deviceId, rule: r, state: s });
      }
    }
    return out;
  }

  /** States changed materially (transitions, baselines) since the last call; with `includeSeen`, also last-seen times. */
  takeDirty(includeSeen: boolean): PersistedRuleState[] {
    if (!this.dirty.size && (!includeSeen || !this.seen.size)) return []; // the common case, once per message
    const keys = new Set(this.dirty);
    this.dirty.clear();
    if (includeSeen) {
      for (const k of this.seen) keys.add(k);
      this.seen.clear();
    }
    return [...keys].map((k) => {
      const [deviceId, ruleId] = k.split('\u0000') as [string, string];
      return { deviceId, ruleId, state: this.state(deviceId, ruleId) };
    });
  }
}

const key = (deviceId: string, ruleId: string) => `${deviceId}\u0000${ruleId}`;
