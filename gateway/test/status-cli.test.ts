import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiTargetFromConfig } from '../src/cli/running-gateway.js';
import { humanBytes, humanDuration, syncBoundText } from '../src/cli/status-format.js';
import { renderStatus } from '../src/cli/status-view.js';
import type { GatewaySnapshot } from '../src/local/api/snapshot.js';

const NOW = Date.parse('2026-03-01T08:00:00Z');

const snapshot: GatewaySnapshot = {
  gatewayId: 'gw-7',
  version: '0.1.0',
  startedAt: '2026-03-01T06:00:00.000Z',
  uptimeS: 7200,
  uplink: { url: 'mqtts://central:8883/', connected: false, lastError: 'connect ECONNREFUSED' },
  outbox: {
    backlog: 12_345,
    lanes: { priority: 3, telemetry: 12_342 },
    oldestAt: '2026-03-01T07:15:00.000Z',
    bytes: 8 * 1024 * 1024,
    fileBytes: 9 * 1024 * 1024,
    quotaBytes: 512 * 1024 * 1024,
    ttlS: 604_800,
    keepEvery: 4,
    thinned: 10,
    expired: 0,
    dropped: 2,
    synchronous: 'FULL',
    walSync: { syncs: 1200, seconds: 2.1, slowestSeconds: 0.0312, counts: [0, 900, 250, 38, 8, 3, 1, 0, 0, 0, 0, 0, 0, 0] },
    destinations: {},
    inflight: 0,
    sent: 100,
    acked: 100,
    refused: 0,
    order: 'priority',
  },
  counters: {},
  rejects: {},
  devices: [
    { id: 'cover-1', profile: 'generic-json-manhole-cover', assetType: 'manhole-cover', gridId: '31011500301201', online: true, lastSeen: '2026-03-01T07:59:30.000Z', metrics: {}, rejects: { 'wrong-type': 2 } },
    { id: 'hydrant-1', profile: 'generic-json-hydrant', assetType: 'hydrant', gridId: '31011500301201', metrics: {}, rejects: {} },
  ],
  alarms: [{ alarmId: 'a1', deviceId: 'cover-1', rule: 'cover-open', severity: 'critical', title: { zh: '井盖打开', en: 'Manhole cover open' }, raisedAt: '2026-03-01T07:50:00.000Z', acknowledged: false, occurrences: 1, flapping: false }],
  sources: [],
  history: { series: 12, rawRetentionH: 24, minuteRetentionD: 30, bytes: 3 * 1024 * 1024 },
  sinks: { influx: { url: 'http://influxdb:8086', bucket: 'gridgate', backlog: 500, written: 9000, rejected: 0, failures: 3, state: 'retrying', lastError: 'HTTP 503: unavailable' } },
} as unknown as GatewaySnapshot;

test('status view: backlog per lane and its age, quota and TTL, removed telemetry, history and sinks', () => {
  const text = renderStatus(snapshot, { now: NOW, width: 300, color: false });
  assert.match(text, /uplink ○ disconnected mqtts:\/\/central:8883\/ .*\n {2}uplink error: connect ECONNREFUSED/);
  assert.match(text, /backlog\s+12,345 message\(s\) for the central broker \(priority 3, telemetry 12,342\), oldest waiting 45m 00s; 0 in flight/);
  assert.match(text, /quota\s+8\.0 MiB of 512 MiB \(1\.6%\); telemetry kept 7d 0h, thinning keeps 1 in 4 per device; durability FULL, order priority/);
  assert.match(text, /removed\s+telemetry thinned 10, expired 0, dropped 2/);
  assert.match(text, /disk\s+1,200 WAL sync\(s\) since start: p50 ≤ 1 ms, p99 ≤ 5 ms, slowest 31\.2 ms/);
  assert.match(text, /influx\s+RETRYING\s+http:\/\/influxdb:8086 bucket gridgate: backlog 500, written 9,000\s+\(last error: HTTP 503: unavailable\)/);
  assert.match(text, /history\s+12 series, 3\.0 MiB; raw 24 h, 1-minute means 30 d/);
  assert.match(text, /DEVICES {2}2 \(1 online, 0 offline\)/);
  assert.match(text, /critical\s+cover-1\s+cover-open {2}Manhole cover open {2}since 10m ago/);
  assert.equal(humanBytes(1536), '1.5 KiB');
  assert.equal(humanDuration(3725), '1h 02m');
});

test('apiTargetFromConfig: the API address and token from the api section only; an unset token variable is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gg-status-'));
  const file = join(dir, 'gw.yaml');
  writeFileSync(file, 'gateway: { id: gw-1 }\nuplink: { url: "mqtt://x", password: "${NOT_SET_HERE}" }\napi:\n  host: 0.0.0.0\n  port: 8181\n  token: "${STATUS_TEST_TOKEN}"\n');
  assert.deepEqual(apiTargetFromConfig(file, { STATUS_TEST_TOKEN: 'tok' }), { url: 'http://127.0.0.1:8181', token: 'tok' });
  assert.throws(() => apiTargetFromConfig(file, {}), /gw\.yaml:6: api\.token: environment variable STATUS_TEST_TOKEN is not set\n\(set it in this shell/);
});

test('WAL sync quantiles as text: the bucket bound, slower than every bound, none', () => {
  assert.equal(syncBoundText(0.0005), '≤ 0.5 ms');
  assert.equal(syncBoundText(0.02), '≤ 20 ms');
  assert.equal(syncBoundText(2.5), '≤ 2.5 s');
  assert.equal(syncBoundText(Infinity), '> 5 s');
  assert.equal(syncBoundText(undefined), '-');
});
