import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmRule } from '../src/profiles/schema.js';
import { resolveRule } from '../src/model/alarm-conditions.js';
import { AlarmEngine } from '../src/pipeline/alarms/alarm-engine.js';
import type { Transition } from '../src/pipeline/alarms/rule-lifecycle.js';
import type { CanonicalMetric } from '../src/model/readings.js';

const title = { zh: '测试', en: 'test' };
const S = 1000;

function engineWith(rules: unknown[], params: Record<string, unknown> = {}, startedAt = 0) {
  const resolved = rules.map((r) => resolveRule(AlarmRule.parse({ title, ...(r as object) }), params, 60));
  return new AlarmEngine(new Map([['dev1', resolved]]), [], startedAt);
}

const m = (values: Record<string, number | boolean | string>): Record<string, CanonicalMetric> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }]));
const states = (ts: Transition[]) => ts.map((t) => `${t.rule.rule.id}:${t.state}`);

test('threshold: raised only after the value has held for forS, cleared only past the hysteresis band', () => {
  const e = engineWith([{ id: 'low-pressure', kind: 'threshold', metric: 'p', below: 150000, hysteresis: 20000, forS: 10 }]);
  assert.deepEqual(states(e.sample('dev1', m({ p: 100000 }), 0)), [], 'not yet: forS not elapsed');
  assert.deepEqual(states(e.tick(5 * S)), []);
  assert.deepEqual(states(e.tick(10 * S)), ['low-pressure:raised'], 'sample-and-hold: the low value held for 10 s');
  assert.deepEqual(states(e.sample('dev1', m({ p: 160000 }), 11 * S)), [], 'inside the hysteresis band: still active');
  assert.deepEqual(states(e.sample('dev1', m({ p: 171000 }), 12 * S)), ['low-pressure:cleared']);
});

test('threshold: a passing spike shorter than forS raises nothing', () => {
  const e = engineWith([{ id: 'high', kind: 'threshold', metric: 'p', above: 10, forS: 3 }]);
  e.sample('dev1', m({ p: 50 }), 0);
  e.sample('dev1', m({ p: 1 }), 1 * S);
  assert.deepEqual(states(e.tick(10 * S)), []);
});

test('deviation: baseline learned from the first samples (median), then |value - baseline| > limit raises', () => {
  const e = engineWith([{ id: 'tilt', kind: 'deviation', metric: 'angle', limit: 12, hysteresis: 2, baseline: { learnSamples: 3 } }]);
  for (const [i, a] of [2, 3, 40].entries()) assert.deepEqual(states(e.sample('dev1', m({ angle: a }), i * S)), [], 'learning');
  // median(2, 3, 40) = 3: a learning outlier does not move the baseline
  assert.deepEqual(states(e.sample('dev1', m({ angle: 14 }), 4 * S)), []);
  const raised = e.sample('dev1', m({ angle: 16 }), 5 * S);
  assert.deepEqual(states(raised), ['tilt:raised']);
  assert.equal(raised[0]!.alarm.baseline, 3);
  assert.deepEqual(states(e.sample('dev1', m({ angle: 14 }), 6 * S)), [], 'within hysteresis');
  assert.deepEqual(states(e.sample('dev1', m({ angle: 12 }), 7 * S)), ['tilt:cleared']);
});

test('state rule with a when-guard: lamp failure only while the lamp is on, guard held across samples', () => {
  const e = engineWith([
    { id: 'cap-open', kind: 'state', metric: 'cap_open', equals: true, severity: 'critical' },
    { id: 'lamp-failure', kind: 'threshold', metric: 'power', below: { param: 'rated', factor: 0.8 }, when: { metric: 'lamp_on', equals: true } },
  ], { rated: 100 });
  assert.deepEqual(states(e.sample('dev1', m({ lamp_on: false, power: 0 }), 0)), [], 'lamp off: low power is normal');
  assert.deepEqual(states(e.sample('dev1', m({ lamp_on: true, power: 90 }), 1 * S)), []);
  assert.deepEqual(states(e.sample('dev1', m({ power: 50 }), 2 * S)), ['lamp-failure:raised'], 'guard remembered from the last sample');
  const t = e.sample('dev1', m({ cap_open: true }), 3 * S);
  assert.deepEqual(states(t), ['cap-open:raised']);
  assert.equal(t[0]!.alarm.severity, 'critical');
});

test('rate: a fall faster than maxFallPerS between close samples raises; samples far apart are not compared', () => {
  const e = engineWith([{ id: 'drop', kind: 'rate', metric: 'p', maxFallPerS: 1000, windowS: 60 }]);
  e.sample('dev1', m({ p: 300000 }), 0);
  assert.deepEqual(states(e.sample('dev1', m({ p: 100000 }), 120 * S)), [], '120 s apart: outside the window');
  assert.deepEqual(states(e.sample('dev1', m({ p: 20000 }), 130 * S)), ['drop:raised'], '8 kPa/s fall');
  assert.deepEqual(states(e.sample('dev1', m({ p: 20500 }), 140 * S)), ['drop:cleared']);
});

test('offline: raised after the timeout from start or last data, cleared by data, held back while the source is down', () => {
  const e = engineWith([{ id: 'offline', kind: 'offline', afterS: 100 }], {}, 0);
  assert.deepEqual(states(e.tick(99 * S)), []);
  assert.deepEqual(states(e.tick(100 * S, () => true)), [], 'source down: no per-device storm');
  assert.deepEqual(states(e.tick(101 * S)), ['offline:raised']);
  assert.deepEqual(states(e.tick(500 * S)), [], 'one alarm, not one per tick');
  assert.deepEqual(states(e.sample('dev1', m({ x: 1 }), 501 * S)), ['offline:cleared']);
});

test('lifecycle: one active alarm per (device, rule); ack by id; cleared after ack carries the ack', () => {
  const e = engineWith([{ id: 'open', kind: 'state', metric: 'open', equals: true }]);
  const [raised] = e.sample('dev1', m({ open: true }), 0);
  assert.equal(raised!.state, 'raised');
  assert.deepEqual(states(e.sample('dev1', m({ open: true }), 1 * S)), [], 'no second alarm while active');
  assert.equal(e.acknowledge('dev1/open/999', 'ops', 2 * S), undefined, 'unknown alarm id');
  const ack = e.acknowledge(raised!.alarm.alarmId, 'ops-zhang', 2 * S);
  assert.equal(ack?.state, 'acknowledged');
  assert.equal(e.acknowledge(raised!.alarm.alarmId, 'ops-zhang', 3 * S), undefined, 'acknowledged once');
  const [cleared] = e.sample('dev1', m({ open: false }), 4 * S);
  assert.equal(cleared!.state, 'cleared');
  assert.equal(cleared!.alarm.acknowledgedBy, 'ops-zhang');
  assert.equal(cleared!.alarm.alarmId, raised!.alarm.alarmId);
});

test('flapping: after maxRaises in the window the clear is held for holdS and re-triggers become rate-limited updates', () => {
  const e = engineWith([{ id: 'open', kind: 'state', metric: 'open', equals: true, flapping: { maxRaises: 3, windowS: 600, holdS: 300 } }]);
  const all: string[] = [];
  let t = 0;
  for (let i = 0; i < 20; i++) {
    all.push(...states(e.sample('dev1', m({ open: true }), (t += 5) * S)));
    all.push(...states(e.sample('dev1', m({ open: false }), (t += 5) * S)));
  }
  assert.deepEqual(all.slice(0, 5), ['open:raised', 'open:cleared', 'open:raised', 'open:cleared', 'open:raised']);
  const updates = all.filter((s) => s === 'open:updated').length;
  assert.ok(all.length <= 8, `a 200 s flapping sensor makes at most a handful of messages, got ${all.length}: ${all.join(' ')}`);
  assert.ok(updates >= 1, 'the re-triggers are reported as updates');
  assert.ok(!states(e.tick((t + 299) * S)).includes('open:cleared'), 'clear held back while flapping');
  const [c] = e.tick((t + 300) * S);
  assert.equal(c?.state, 'cleared');
  assert.equal(c?.flapping, true);
  assert.ok(c!.alarm.occurrences > 5, 'occurrences counted');
});

test('state survives a restart: a persisted active alarm and learned baseline carry over', () => {
  const rule = resolveRule(AlarmRule.parse({ title, id: 'tilt', kind: 'deviation', metric: 'a', limit: 10, baseline: { learnSamples: 1 } }), {}, 60);
  const e1 = new AlarmEngine(new Map([['dev1', [rule]]]), [], 0);
  e1.sample('dev1', m({ a: 1 }), 0);
  const [raised] = e1.sample('dev1', m({ a: 30 }), 1 * S);
  const saved = JSON.parse(JSON.stringify(e1.takeDirty(true)));
  const e2 = new AlarmEngine(new Map([['dev1', [rule]]]), saved, 10 * S);
  assert.deepEqual(states(e2.sample('dev1', m({ a: 31 }), 11 * S)), [], 'still the same active alarm, not a new one');
  assert.equal(e2.active()[0]?.state.active?.alarmId, raised!.alarm.alarmId);
  assert.deepEqual(states(e2.sample('dev1', m({ a: 2 }), 12 * S)), ['tilt:cleared'], 'baseline 1 was kept');
});
