import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open311Form } from '../src/adapters/open311.js';
import { webhookSignature } from '../src/adapters/webhook.js';
import { advances, caseFigures, caseTimings } from '../src/cases.js';
import { subscriptionFilters } from '../src/central.js';
import { ConfigError, loadBridgeConfig } from '../src/config.js';
import { parseMessage, topicKind } from '../src/intake.js';
import type { ReportRow } from '../src/store.js';
import { backoffMs } from '../src/util.js';
import { reportMessage } from './helpers/reports.js';
import { repoRoot } from './helpers/process.js';

const MIN = 60_000;

function row(o: Partial<ReportRow>): ReportRow {
  return {
    report_id: 'r', gateway_id: 'gw', status: 'new', latest_seq: 1, latest: '{}', grid_id: '31011500301205', category_code: '0102',
    first_seen: 0, register_by: 5 * MIN, dispatch_by: 20 * MIN, result_by: 80 * MIN, case_id: null, case_status: 'pending', received_at: 0,
    registered_at: null, dispatched_at: null, handled_at: null, closed_at: null, verified_at: null, reopen_count: 0, handled_count: 0,
    delivered_seq: -1, updated_at: 0, ...o,
  };
}

describe('case figures (the seeds’ timings and rates)', () => {
  test('per case: time to register, dispatch, close; on time against the report’s deadlines', () => {
    const t = caseTimings(row({ registered_at: 2 * MIN, dispatched_at: 30 * MIN, handled_at: 50 * MIN, closed_at: 60 * MIN }), 90 * MIN);
    assert.equal(t.toRegisterS, 120);
    assert.equal(t.toDispatchS, 1680);
    assert.equal(t.toCloseS, 3600);
    assert.deepEqual(t.onTime, { register: true, dispatch: false, handle: true });
    assert.deepEqual(caseTimings(row({}), 4 * MIN).onTime, {}, 'nothing due yet: not judged');
    assert.deepEqual(caseTimings(row({}), 6 * MIN).onTime, { register: false }, 'overdue and not done: late');
  });

  test('rates: on-time handling counts overdue open cases, closure leaves rejected ones out, rework among handled', () => {
    const rows = [
      row({ report_id: 'a', case_status: 'closed', registered_at: MIN, dispatched_at: 2 * MIN, handled_at: 10 * MIN, handled_count: 1, closed_at: 11 * MIN }),
      row({ report_id: 'b', case_status: 'closed', registered_at: MIN, dispatched_at: 2 * MIN, handled_at: 10 * MIN, handled_count: 2, reopen_count: 1, closed_at: 40 * MIN }),
      row({ report_id: 'c', case_status: 'dispatched', registered_at: MIN, dispatched_at: 3 * MIN }),
      row({ report_id: 'd', case_status: 'rejected', registered_at: MIN }),
    ];
    const f = caseFigures(rows, 100 * MIN);
    assert.equal(f.cases, 4);
    assert.deepEqual(f.byStatus, { closed: 2, dispatched: 1, rejected: 1 });
    assert.equal(f.rates.onTimeRegister, 1);
    assert.equal(f.rates.onTimeHandling, 0.6667, 'c is past its result deadline unhandled; d was rejected: nobody’s work');
    assert.equal(f.rates.closure, 0.6667, '2 of 3 live cases');
    assert.equal(f.rates.rework, 0.5);
    assert.deepEqual(f.timesS.close, { n: 2, p50: 660, p90: 2400 });
    assert.equal(caseFigures([], 0).rates.closure, null, 'no cases: no rate, not 0 %');
  });

  test('statuses only move a case forward; after a reopen it goes round again', () => {
    assert.equal(advances('pending', 'registered'), true);
    assert.equal(advances('registered', 'registered'), false);
    assert.equal(advances('handled', 'dispatched'), false);
    assert.equal(advances('closed', 'handled'), false);
    assert.equal(advances('reopened', 'dispatched'), true);
    assert.equal(advances('reopened', 'registered'), false);
    assert.equal(advances('dispatched', 'rejected'), true);
  });
});

describe('intake', () => {
  test('topics: report and command reply under a prefix that may contain slashes', () => {
    assert.deepEqual(topicKind('city/pudong/gridgate/v1/gw-1/report', 'city/pudong/gridgate/v1'), { kind: 'report', gatewayId: 'gw-1' });
    assert.deepEqual(topicKind('gridgate/v1/gw-1/cmd/reply', 'gridgate/v1'), { kind: 'reply', gatewayId: 'gw-1' });
    assert.equal(topicKind('gridgate/v1/gw-1/alarm/x', 'gridgate/v1'), undefined);
    assert.deepEqual(subscriptionFilters({ shareGroup: 'g1', topicPrefix: 'gridgate/v1' } as never), ['$share/g1/gridgate/v1/+/report', '$share/g1/gridgate/v1/+/cmd/reply']);
    assert.deepEqual(subscriptionFilters({ shareGroup: null, topicPrefix: 'gridgate/v1' } as never), ['gridgate/v1/+/report', 'gridgate/v1/+/cmd/reply']);
  });

  test('a report is validated against the contract, every reason named', () => {
    const good = reportMessage({ gatewayId: 'gw-1', seq: 1, reportId: 'r1', status: 'new' });
    const ok = parseMessage('gridgate/v1/gw-1/report', Buffer.from(JSON.stringify(good)), 'gridgate/v1');
    assert.equal(ok.ok, true);
    const bad = { ...good, gridId: '31011500301', status: 'fixed', deadlines: {} };
    const r = parseMessage('gridgate/v1/gw-1/report', Buffer.from(JSON.stringify(bad)), 'gridgate/v1');
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /gridId: a unit-grid ID has 14 digits/);
    assert.match((r as { reason: string }).reason, /status: /);
    assert.match((r as { reason: string }).reason, /deadlines.registerBy/);
  });
});

describe('adapters (pure parts)', () => {
  test('webhook signature: HMAC-SHA256 over "timestamp.body" (checked against openssl)', () => {
    assert.equal(webhookSignature('k', 1700000000, '{"a":1}'), 'sha256=1b6ad1bc9bf48c52ce01939866d5877c6cc4e87ddad27e16673cb8c4964394a3');
  });

  test('Open311 form: mapped or default service_code, description cut at 4000 characters, language', () => {
    const m = reportMessage({ gatewayId: 'gw-1', seq: 1, reportId: 'r1', status: 'new' });
    m.description = { zh: '井'.repeat(5000), en: 'x' };
    const o = { url: 'http://c', serviceCodes: {}, defaultServiceCode: 'other', language: 'zh' as const, pollS: 60, timeoutMs: 1000 };
    const f = open311Form(m, o);
    assert.equal(f.get('service_code'), 'other');
    assert.equal([...f.get('description')!].length, 4000, '4000 characters, not bytes');
    assert.equal(f.get('api_key'), null);
    assert.throws(() => open311Form(m, { ...o, defaultServiceCode: undefined }), /no Open311 service_code for category 0102/);
  });

  test('backoff doubles from min to max, with jitter inside [d/2, d]', () => {
    assert.equal(backoffMs(1, 100, 1000, () => 1), 100);
    assert.equal(backoffMs(3, 100, 1000, () => 1), 400);
    assert.equal(backoffMs(30, 100, 1000, () => 1), 1000);
    assert.equal(backoffMs(30, 100, 1000, () => 0), 500);
  });
});

describe('bridge config', () => {
  const write = (text: string) => {
    const f = join(mkdtempSync(join(tmpdir(), 'gg-bcfg-')), 'b.yaml');
    writeFileSync(f, text);
    return f;
  };

  test('defaults: the local inbox, a shared subscription, the store next to the config', () => {
    const c = loadBridgeConfig(write('instanceId: b1\ncentral: { url: "mqtts://central.example:8883", password: "${PW}" }\n'), { PW: 'x' });
    assert.equal(c.delivery.adapter, 'inbox');
    assert.equal(c.central.shareGroup, 'gridgate-bridge');
    assert.equal(c.central.password, 'x');
    assert.ok(c.store.file.endsWith('/data/bridge.db'));
  });

  test('every problem as file:line: path: message', () => {
    const f = write('instanceId: b1\ncentral:\n  url: "http://x"\n  protocolVersion: 4\n  password: "${NOPE}"\ndelivery: { adapter: webhook }\n');
    try {
      loadBridgeConfig(f, {});
      assert.fail('expected problems');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      const text = e.message;
      assert.match(text, /b\.yaml:3: central\.url: use mqtt:\/\//);
      assert.match(text, /b\.yaml:5: central\.password: environment variable NOPE is not set/);
      assert.match(text, /webhook: delivery.adapter is webhook: configure webhook.url/);
    }
    assert.throws(() => loadBridgeConfig(write('instanceId: b1\ncentral: { url: "mqtt://x", protocolVersion: 4 }\n'), {}), /shared subscriptions are MQTT 5/);
    assert.throws(() => loadBridgeConfig(write('instanceId: b1\ncentral: { url: "mqtt://x", tls: { ca: ./nope.pem } }\n'), {}), /b\.yaml:2: central\.tls\.ca: file not found/);
  });

  test('the shipped example is a valid config', () => {
    const c = loadBridgeConfig(join(repoRoot, 'cloud-bridge', 'bridge.example.yaml'), { BRIDGE_MQTT_PASSWORD: 'a', BRIDGE_API_TOKEN: 'b', BRIDGE_WEBHOOK_SECRET: 'c', BRIDGE_OPEN311_KEY: 'd' });
    assert.equal(c.open311?.serviceCodes['0102'], 'manhole-cover');
  });
});
