import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import { HistoryConfig } from '../src/local/history/config.js';
import { parseDuration, parseTime, planHistory } from '../src/local/history/query.js';
import { historyRoutes } from '../src/local/history/routes.js';
import { HistoryStore, type HistoryTiming } from '../src/local/history/store.js';
import { openDatabase } from '../src/store/db.js';

const T0 = Date.parse('2026-03-01T08:00:00Z');
const cfg = HistoryConfig.parse({});
const log = pino({ level: 'silent' });

test('times and steps: ISO, Unix ms, now and relative times; durations', () => {
  assert.equal(parseTime('2026-03-01T08:00:00Z', 0), T0);
  assert.equal(parseTime(String(T0), 0), T0);
  assert.equal(parseTime('-6h', T0), T0 - 6 * 3_600_000);
  assert.equal(parseTime('now', T0), T0);
  assert.equal(parseTime('yesterday', T0), undefined);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('30'), 30_000);
  assert.equal(parseDuration('five'), undefined);
});

test('planHistory: raw for short spans, buckets otherwise; steps of a minute or more read the 1-minute means; errors say what to do', () => {
  assert.deepEqual(planHistory({}, T0, cfg), { from: T0 - 3_600_000, to: T0, stepMs: 0, source: 'raw' });
  const day = planHistory({ from: '-24h' }, T0, cfg);
  assert.ok(!('error' in day) && day.source === 'minute' && day.stepMs === 120_000, JSON.stringify(day));
  const tenS = planHistory({ from: '-1h', step: '10s' }, T0, cfg);
  assert.ok(!('error' in tenS) && tenS.source === 'raw' && tenS.stepMs === 10_000);
  const odd = planHistory({ from: '-1d', step: '90s' }, T0, cfg);
  assert.ok(!('error' in odd) && odd.stepMs === 120_000, 'rounded up to whole minutes');
  const old = planHistory({ from: '-3d', to: '-2d', step: 'raw' }, T0, cfg);
  assert.ok(!('error' in old) && /step=1m/.test(old.note ?? ''), 'says where older data is');
  assert.match((planHistory({ from: '-30d', step: '1s' }, T0, cfg) as { error: string }).error, /at most 10000 points.*use step ≥/);
  assert.match((planHistory({ from: 'soon' }, T0, cfg) as { error: string }).error, /from: "soon" is not a time/);
  assert.match((planHistory({ from: '-1h', to: '-2h' }, T0, cfg) as { error: string }).error, /before/);
});

function store(now: () => number, timing?: HistoryTiming) {
  const db = openDatabase(mkdtempSync(join(tmpdir(), 'gg-history-')), { file: 'history.db', synchronous: 'NORMAL' });
  return { db, h: new HistoryStore(db, cfg, log, now, timing) };
}

test('HistoryStore: raw samples and 1-minute mean/min/max/count; a replayed sample is not counted twice; strings are not history', () => {
  const { db, h } = store(() => T0 + 3_600_000);
  for (let i = 0; i < 120; i++) h.add('cover-1', T0 + i * 1000, { tilt: { value: i % 60, unit: 'deg' }, cover_open: { value: i >= 60 }, firmware: { value: 'x' } });
  h.add('cover-1', T0 + 5000, { tilt: { value: 5, unit: 'deg' } }); // the same sample again (a replay)
  h.flush();
  const raw = h.query('cover-1', { from: T0, to: T0 + 120_000, stepMs: 0, source: 'raw' });
  assert.deepEqual(Object.keys(raw.metrics), ['cover_open', 'tilt']);
  assert.equal(raw.metrics.tilt!.points.length, 120);
  assert.equal(raw.metrics.tilt!.unit, 'deg');
  assert.deepEqual(raw.metrics.tilt!.points[1], { t: new Date(T0 + 1000).toISOString(), v: 1 });
  const m = h.query('cover-1', { from: T0, to: T0 + 120_000, stepMs: 60_000, source: 'minute', metrics: ['tilt', 'cover_open'] });
  assert.deepEqual(m.metrics.tilt!.points[0], { t: new Date(T0).toISOString(), v: 29.5, min: 0, max: 59, n: 60 });
  assert.deepEqual(m.metrics.cover_open!.points.map((p) => p.v), [0, 1], 'booleans as 0/1');
  const two = h.query('cover-1', { from: T0, to: T0 + 120_000, stepMs: 120_000, source: 'minute' });
  assert.deepEqual(two.metrics.tilt!.points.map((p) => [p.v, p.n]), [[29.5, 120]], 'buckets of means weighted by count');
  const tenS = h.query('cover-1', { from: T0, to: T0 + 20_000, stepMs: 10_000, source: 'raw', metrics: ['tilt'] });
  assert.deepEqual(tenS.metrics.tilt!.points.map((p) => p.v), [4.5, 14.5]);
  h.close();
  db.close();
});

test('HistoryStore: raw samples go after their retention, 1-minute means after theirs', async () => {
  let now = T0;
  const { db, h } = store(() => now);
  h.add('cover-1', T0, { tilt: { value: 1 } });
  h.add('cover-1', T0 + 2 * 86_400_000, { tilt: { value: 2 } });
  h.flush();
  now = T0 + 2 * 86_400_000 + 60_000; // two days later: the first raw sample is past 24 h
  h.prune();
  await new Promise((r) => setImmediate(r));
  const all = { from: T0 - 1, to: now, source: 'raw' as const, stepMs: 0 };
  assert.deepEqual(h.query('cover-1', all).metrics.tilt!.points.map((p) => p.v), [2]);
  assert.deepEqual(h.query('cover-1', { ...all, source: 'minute', stepMs: 60_000 }).metrics.tilt!.points.map((p) => p.v), [1, 2], 'the 1-minute mean remains');
  now = T0 + 31 * 86_400_000;
  h.prune();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.query('cover-1', { ...all, to: now, source: 'minute', stepMs: 60_000 }).metrics.tilt!.points.map((p) => p.v), [2]);
  h.close();
  db.close();
});

test('HistoryStore: samples reach the journal at once and the series tables later; a query sees its device meanwhile; after a crash the journal is replayed and nothing is counted twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gg-history-'));
  const open = () => openDatabase(dir, { file: 'history.db', synchronous: 'NORMAL' });
  const db = open();
  const h = new HistoryStore(db, cfg, log, () => T0 + 3_600_000);
  const count = (d: typeof db, sql: string) => d.prepare(sql).pluck().get() as number;
  const SERIES = 2500;
  const PER = 20; // 50,000 samples: enough to start journal writes of their own, slice by slice
  for (let i = 0; i < PER; i++) for (let d = 0; d < SERIES; d++) h.add(`d${d}`, T0 + i * 1000, { level: { value: i } });
  for (let k = 0; k < 2000 && count(db, 'SELECT count(*) FROM journal') < SERIES * PER; k++) await new Promise((r) => setImmediate(r));
  assert.equal(count(db, 'SELECT count(*) FROM journal'), SERIES * PER, 'every sample journaled');
  assert.equal(count(db, 'SELECT count(*) FROM raw'), 0, 'the series tables are written later, many samples per page');
  h.add('d7', T0 + PER * 1000, { level: { value: 99 } }); // not journaled yet
  const d7 = h.query('d7', { from: T0, to: T0 + 60_000, stepMs: 0, source: 'raw' });
  assert.deepEqual(d7.metrics.level!.points.map((p) => p.v), [...Array.from({ length: PER }, (_, i) => i), 99]);
  assert.equal(count(db, 'SELECT count(*) FROM raw'), PER + 1, 'a query writes only its own device');
  db.close(); // a crash: the store's memory is gone, what was committed stays

  const db2 = open();
  const h2 = new HistoryStore(db2, cfg, log, () => T0 + 3_600_000);
  const d9 = h2.query('d9', { from: T0, to: T0 + 60_000, stepMs: 0, source: 'raw' });
  assert.equal(d9.metrics.level!.points.length, PER, 'replayed from the journal');
  h2.flush();
  assert.equal(count(db2, 'SELECT count(*) FROM raw'), SERIES * PER + 1);
  assert.equal(count(db2, 'SELECT sum(count) FROM minute'), SERIES * PER + 1, "each sample counted once in the 1-minute means (d7's were both in the journal and written)");
  assert.equal(count(db2, 'SELECT count(*) FROM series'), SERIES);
  assert.equal(count(db2, 'SELECT count(*) FROM journal'), 0, 'the journal is cleared once its samples are written');
  h2.close();
  db2.close();
});

test('HistoryStore: on its timers the journal fills and is compacted into the series tables without a query', async () => {
  const { db, h } = store(() => T0 + 3_600_000, { journalEveryMs: 20, compactEveryMs: 150 });
  h.start();
  const count = (sql: string) => db.prepare(sql).pluck().get() as number;
  for (let i = 0; i < 50; i++) for (let d = 0; d < 40; d++) h.add(`d${d}`, T0 + i * 1000, { level: { value: i }, open: { value: i % 2 === 0 } });
  for (let k = 0; k < 100 && count('SELECT count(*) FROM raw') < 4000; k++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(count('SELECT count(*) FROM raw'), 4000);
  assert.equal(count('SELECT sum(count) FROM minute'), 4000);
  assert.equal(count('SELECT count(*) FROM journal'), 0);
  h.close();
  db.close();
});

test('GET /api/v1/devices/:id/metrics: the answer, a 400 that says what to change, a 404 for an unknown device', async () => {
  const { db, h } = store(() => T0);
  for (let i = 0; i < 10; i++) h.add('cover-1', T0 - 600_000 + i * 60_000, { water_level: { value: i / 10, unit: 'm' } });
  const app = Fastify();
  historyRoutes({ store: h, cfg, isDevice: (id) => id === 'cover-1' || id === 'cover-2', now: () => T0 })(app);
  const ok = await app.inject({ url: '/api/v1/devices/cover-1/metrics?from=-10m&step=5m' });
  assert.equal(ok.statusCode, 200);
  const body = ok.json() as { step: string; source: string; metrics: { water_level: { unit: string; points: Array<{ v: number; n: number }> } } };
  assert.equal(body.step, '300s');
  assert.equal(body.source, '1m');
  assert.equal(body.metrics.water_level.unit, 'm');
  assert.deepEqual(body.metrics.water_level.points.map((p) => p.n), [5, 5]);
  const none = await app.inject({ url: '/api/v1/devices/cover-2/metrics' });
  assert.deepEqual((none.json() as { metrics: object }).metrics, {}, 'a configured device without data: empty');
  const bad = await app.inject({ url: '/api/v1/devices/cover-1/metrics?step=fast' });
  assert.equal(bad.statusCode, 400);
  assert.match((bad.json() as { error: string }).error, /step: "fast" is not a duration/);
  assert.equal((await app.inject({ url: '/api/v1/devices/nobody/metrics' })).statusCode, 404);
  await app.close();
  h.close();
  db.close();
});
