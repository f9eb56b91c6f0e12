import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SYNC_BUCKETS_S, SyncTimes, countsSince, syncQuantile } from '../src/northbound/outbox/sync-times.js';

test('sync times: each duration counted in the bucket whose bound it does not exceed; slower than every bound in the last', () => {
  const t = new SyncTimes();
  for (const s of [0.0001, 0.0005, 0.0006, 0.001, 0.004, 5, 7.5]) t.record(s);
  const st = t.stats();
  assert.equal(st.counts.length, SYNC_BUCKETS_S.length + 1);
  assert.equal(st.counts[0], 2, '≤ 0.5 ms, the bound itself included');
  assert.equal(st.counts[1], 2, '(0.5, 1] ms');
  assert.equal(st.counts[3], 1, '(2, 5] ms');
  assert.equal(st.counts[SYNC_BUCKETS_S.length - 1], 1, '(2.5, 5] s');
  assert.equal(st.counts[SYNC_BUCKETS_S.length], 1, 'over 5 s');
  assert.equal(st.syncs, 7);
  assert.equal(st.slowestSeconds, 7.5);
  assert.ok(Math.abs(st.seconds - 12.5062) < 1e-9);
  st.counts[0] = 99;
  assert.equal(t.stats().counts[0], 2, 'stats are a copy');
});

test('sync quantiles: the bound of the bucket holding the quantile, over a run (counts since an earlier reading)', () => {
  const t = new SyncTimes();
  assert.equal(syncQuantile(t.stats().counts, 0.5), undefined, 'no syncs, no quantile');
  for (let i = 0; i < 98; i++) t.record(0.0008);
  t.record(0.015);
  t.record(0.3);
  const all = t.stats().counts;
  assert.equal(syncQuantile(all, 0.5), 0.001);
  assert.equal(syncQuantile(all, 0.98), 0.001, '98 of 100 within 1 ms');
  assert.equal(syncQuantile(all, 0.99), 0.02, 'the 99th is the 15 ms sync');
  assert.equal(syncQuantile(all, 1), 0.5);
  const before = t.stats().counts;
  t.record(6);
  t.record(0.003);
  const run = countsSince(before, t.stats().counts);
  assert.equal(run.reduce((a, b) => a + b, 0), 2, 'only the syncs after the earlier reading');
  assert.equal(syncQuantile(run, 0.5), 0.005);
  assert.equal(syncQuantile(run, 0.99), Infinity, 'slower than every bound');
});
