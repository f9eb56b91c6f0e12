import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { CaseReport } from '@gridgate/contract';
import { AlarmEngine } from '../src/pipeline/alarms/alarm-engine.js';
import { loadConfig, type LoadedConfig } from '../src/config/load.js';
import { reportBody } from '../src/pipeline/reports/body.js';
import {
  applyAlarm,
  applyCaseStatus,
  applyEvent,
  flushPending,
  newCameraReport,
  newDeviceReport,
  verifyCamera,
  verifySensor,
  type AlarmInput,
  type EventInput,
  type Subject,
} from '../src/pipeline/reports/builder.js';
import { loadCodeTables } from '../src/pipeline/reports/codes.js';
import { defaultReportsConfig, ReportsConfig } from '../src/pipeline/reports/config.js';
import { EvidenceWriter } from '../src/pipeline/reports/evidence.js';
import { categoryFor, ReportManager } from '../src/pipeline/reports/manager.js';
import { SampleRing } from '../src/pipeline/reports/sample-ring.js';
import { ReportStore } from '../src/pipeline/reports/store.js';
import { buildDevices } from '../src/runtime/devices.js';
import type { DeviceRegistry } from '../src/model/devices.js';
import type { VisionFinding } from '../src/model/vision-finding.js';
import { openDatabase, type Db } from '../src/store/db.js';
import { SqliteOutbox } from '../src/northbound/outbox/outbox.js';
import { Stamper } from '../src/northbound/stamper.js';
import { createLogger } from '../src/util/log.js';
import { assertValidMessage, contractValidators } from './helpers/contract.js';
import { repoRoot } from './helpers/shared.js';

const S = 1000;
const T0 = Date.parse('2025-05-06T06:00:00Z');
const cfg = defaultReportsConfig;
const codes = loadCodeTables([]).table;
const validators = contractValidators();
const stampAs = <T extends object>(body: T) => ({ id: '0196a3b1-0000-7000-8000-000000000001', ts: new Date(T0).toISOString(), gatewayId: 'gw-t', seq: 1, v: 1, ...body });

const cover: Subject = {
  kind: 'device',
  id: 'cover-001',
  name: { zh: '民生路 12 号 污水井盖', en: 'manhole-cover cover-001' },
  location: { lat: 31.2339, lon: 121.5331 },
  gridId: '31011500301205',
  address: '浦东新区民生路 12 号',
  assetId: '3101150102000012',
  category: codes.category('component', '0102'),
};
const tilt = (state: AlarmInput['state'], at: number, extra: Partial<AlarmInput> = {}): AlarmInput => ({
  state,
  at,
  alarmId: 'cover-001/cover-tilted/1',
  rule: 'cover-tilted',
  severity: 'critical',
  occurrences: 1,
  title: { zh: '井盖倾斜或移位', en: 'Manhole cover tilted or displaced' },
  metric: 'tilt',
  value: 26.1,
  unit: 'deg',
  limit: 12,
  baseline: 1.2,
  windowS: 60,
  ...extra,
});
const sensorPlan = { method: 'sensor' as const, windowS: 60, reopenAfterS: 900, noEvidenceAfterS: 3600 };

describe('report builder (pure)', () => {
  test('a tilted cover: a new report with grid, 0102 category in both languages, asset, measurements, deadlines 5/15/60 min, valid against the contract', () => {
    const s = newDeviceReport('r-1', cover, tilt('raised', T0), cfg);
    const body = reportBody(s, 'new', 'Asia/Shanghai');
    assertValidMessage(validators, stampAs(body));
    assert.equal(body.gridId, '31011500301205');
    assert.deepEqual(body.category, {
      kind: 'component',
      code: '0102',
      major: { code: '01', name: { zh: '公用设施', en: 'Public utilities' } },
      minor: { code: '0102', name: { zh: '污水井盖', en: 'Sewer manhole cover' } },
    });
    assert.equal(body.assetId, '3101150102000012');
    assert.deepEqual(body.measurements, [{ metric: 'tilt', value: 26.1, unit: 'deg', limit: 12, baseline: 1.2, rule: 'cover-tilted' }]);
    assert.deepEqual(body.deadlines, { registerBy: '2025-05-06T06:05:00.000Z', dispatchBy: '2025-05-06T06:20:00.000Z', resultBy: '2025-05-06T07:20:00.000Z' });
    assert.match(body.description.zh, /【污水井盖】民生路 12 号 污水井盖，部件编码 3101150102000012：井盖倾斜或移位（tilt = 26\.1 deg，基线 1\.2，限值 12）。位置：单元网格 31011500301205，浦东新区民生路 12 号/);
    assert.match(body.description.zh, /首次发现 2025\/05\/06 14:00:00/, 'local time in the gateway’s zone');
    assert.match(body.description.en, /\[Sewer manhole cover\] manhole-cover cover-001, component ID 3101150102000012: Manhole cover tilted or displaced \(tilt = 26\.1 deg, baseline 1\.2, limit 12\)/);
    assert.equal(body.severity, 'critical');
    assert.deepEqual(body.source, { kind: 'device', id: 'cover-001', alarmIds: ['cover-001/cover-tilted/1'] });
  });

  test('one open report per (asset, category): a second rule updates it; cleared → resolved; back again → update with occurrences', () => {
    const s = newDeviceReport('r-1', cover, tilt('raised', T0), cfg);
    const open = applyAlarm(s, tilt('raised', T0 + 90 * S, { alarmId: 'cover-001/cover-open/2', rule: 'cover-open', title: { zh: '井盖打开', en: 'Manhole cover open' }, metric: 'cover_open', value: true, limit: undefined, baseline: undefined, unit: undefined }), cfg);
    assert.equal(open.emit, 'update');
    assert.equal(s.occurrences, 2);
    assert.equal(s.alarms.length, 2);
    assert.deepEqual(applyAlarm(s, tilt('cleared', T0 + 100 * S), cfg), {}, 'one rule cleared, the other still active');
    assert.equal(applyAlarm(s, tilt('cleared', T0 + 110 * S, { alarmId: 'cover-001/cover-open/2', rule: 'cover-open' }), cfg).emit, 'resolved');
    assert.equal(s.resolvedAt, T0 + 110 * S);
    assert.equal(applyAlarm(s, tilt('raised', T0 + 120 * S, { alarmId: 'cover-001/cover-tilted/3' }), cfg).emit, 'update', 'it came back: published at once');
    assert.equal(s.occurrences, 3);
    assert.equal(s.resolvedAt, undefined);
    assert.deepEqual(s.alarms.map((a) => a.alarmId).sort(), ['cover-001/cover-open/2', 'cover-001/cover-tilted/3'], 'one entry per rule');
    assert.equal(reportBody(s, 'update', 'UTC').source.alarmIds?.length, 2);
  });

  test('repeats are merged: at most one update per updateMinIntervalS, the rest flushed when due', () => {
    const s = newDeviceReport('r-1', cover, tilt('raised', T0), cfg);
    assert.deepEqual(applyAlarm(s, tilt('updated', T0 + 10 * S, { occurrences: 2 }), cfg), {});
    assert.deepEqual(applyAlarm(s, tilt('updated', T0 + 20 * S, { occurrences: 4 }), cfg), {});
    assert.equal(s.occurrences, 4);
    assert.deepEqual(flushPending(s, T0 + 59 * S, cfg), {});
    assert.equal(flushPending(s, T0 + 60 * S, cfg).emit, 'update');
    assert.deepEqual(flushPending(s, T0 + 200 * S, cfg), {}, 'nothing pending any more');
  });

  test('closed loop: handled while tilted → verifying; the sensor clears and stays in range for the window → verified and closed', () => {
    const s = newDeviceReport('r-1', cover, tilt('raised', T0), cfg);
    const h = applyCaseStatus(s, { status: 'handled', caseId: 'C-7', at: T0 + 300 * S }, sensorPlan);
    assert.deepEqual(h, { verifying: true });
    assert.equal(s.caseId, 'C-7');
    assert.equal(s.verification?.result, 'pending');
    let phase: 'active' | 'normal' | 'pending' = 'active';
    const obs = (lastSampleAt: number) => ({ phaseOf: () => phase, lastSampleAt });
    assert.deepEqual(verifySensor(s, obs(T0 + 310 * S), T0 + 310 * S), {}, 'still tilted, not yet at reopenAt');
    phase = 'normal';
    assert.deepEqual(applyAlarm(s, tilt('cleared', T0 + 320 * S), cfg), {}, 'no resolved while verifying: the verdict follows');
    assert.deepEqual(verifySensor(s, obs(T0 + 320 * S), T0 + 321 * S), {}, 'first normal sample starts the window');
    assert.deepEqual(verifySensor(s, obs(T0 + 370 * S), T0 + 371 * S), {}, '50 s of 60');
    assert.equal(verifySensor(s, obs(T0 + 380 * S), T0 + 381 * S).emit, 'verified');
    assert.equal(s.open, false);
    assert.equal(s.verification?.result, 'verified');
    assert.equal(s.verification?.handledAt, new Date(T0 + 300 * S).toISOString());
    const body = reportBody(s, 'verified', 'UTC');
    assertValidMessage(validators, stampAs(body));
    assert.match(body.description.en, /stayed in range for 60 s: verified by the gateway/);
    assert.deepEqual(applyAlarm(s, tilt('raised', T0 + 400 * S, { alarmId: 'x/2' }), cfg), {}, 'a closed report takes nothing more');
  });

  test('a pending re-trip during the window restarts it; a raise after handled reopens at once', () => {
    const s = newDeviceReport('r-1', cover, tilt('raised', T0), cfg);
    applyAlarm(s, tilt('cleared', T0 + 100 * S), cfg);
    applyCaseStatus(s, { status: 'handled', at: T0 + 200 * S }, sensorPlan);
    let phase: 'active' | 'normal' | 'pending' = 'normal';
    verifySensor(s, { phaseOf: () => phase, lastSampleAt: T0 + 210 * S }, T0 + 211 * S);
    assert.equal(s.verify?.normalSince, T0 + 210 * S);
    phase = 'pending';
    verifySensor(s, { phaseOf: () => phase, lastSampleAt: T0 + 250 * S }, T0 + 251 * S);
    assert.equal(s.verify?.normalSince, undefined, 'a trip (held for forS) breaks the window');
    const r = applyAlarm(s, tilt('raised', T0 + 253 * S, { alarmId: 'cover-001/cover-tilted/9' }), cfg);
    assert.equal(r.emit, 'reopened');
    assert.equal(s.open, true);
    assert.equal(s.verify, undefined);
    assert.equal(s.verification?.result, 'reopened');
    assertValidMessage(validators, stampAs(reportBody(s, 'reopened', 'UTC')));
    // The crew comes back; the second fix holds.
    applyAlarm(s, tilt('cleared', T0 + 400 * S, { alarmId: 'cover-001/cover-tilted/9' }), cfg);
    applyCaseStatus(s, { status: 'handled', at: T0 + 500 * S }, { ...sensorPlan, windowS: 0 });
    assert.equal(verifySensor(s, { phaseOf: () => 'normal', lastSampleAt: T0 + 501 * S }, T0 + 502 * S).emit, 'verified');
  });

  test('still tilted long after handled → reopened; silent sensor → one no-evidence update, never a false reopen', () => {
    const s = newDeviceReport('r-1', cover, tilt('raised', T0), cfg);
    applyCaseStatus(s, { status: 'handled', at: T0 }, sensorPlan);
    assert.deepEqual(verifySensor(s, { phaseOf: () => 'active', lastSampleAt: T0 + 800 * S }, T0 + 899 * S), {});
    assert.equal(verifySensor(s, { phaseOf: () => 'active', lastSampleAt: T0 + 800 * S }, T0 + 900 * S).emit, 'reopened');

    const q = newDeviceReport('r-2', cover, tilt('raised', T0), cfg);
    applyAlarm(q, tilt('cleared', T0 + 10 * S), cfg);
    applyCaseStatus(q, { status: 'handled', at: T0 + 20 * S }, sensorPlan);
    const silent = { phaseOf: () => 'normal' as const, lastSampleAt: T0 + 15 * S };
    assert.deepEqual(verifySensor(q, silent, T0 + 3000 * S), {});
    const n = verifySensor(q, silent, T0 + 3620 * S);
    assert.equal(n.emit, 'update');
    assert.equal(q.verification?.result, 'no-evidence');
    assert.deepEqual(verifySensor(q, silent, T0 + 9000 * S), {}, 'said once');
    assert.equal(q.open, true);
  });

  test('the case system: registered/dispatched recorded; rejected closes without a verdict; a repeated handled is idempotent', () => {
    const s = newDeviceReport('r-1', cover, tilt('raised', T0), cfg);
    assert.deepEqual(applyCaseStatus(s, { status: 'registered', caseId: 'C-1', at: T0 }, sensorPlan), { verifying: false });
    assert.deepEqual(applyCaseStatus(s, { status: 'dispatched', at: T0 + 1 }, sensorPlan), { verifying: false });
    assert.equal(s.caseStatus, 'dispatched');
    applyCaseStatus(s, { status: 'handled', at: T0 + 10 * S }, sensorPlan);
    const handledAt = s.verify!.handledAt;
    applyCaseStatus(s, { status: 'handled', at: T0 + 50 * S }, sensorPlan);
    assert.equal(s.verify!.handledAt, handledAt, 'the first handled counts');
    const r = newDeviceReport('r-2', cover, tilt('raised', T0), cfg);
    assert.deepEqual(applyCaseStatus(r, { status: 'rejected', at: T0 }, sensorPlan), { verifying: false });
    assert.equal(r.open, false);
  });

  test('camera: stall start → new event report; end → resolved; handled, zone clear for zoneClearS → verified; a new stall after handled → reopened', () => {
    const zone: Subject = { kind: 'camera', id: 'cam-1', zoneId: 'hospital-gate', name: { zh: '摄像头 cam-1 区域 医院门口', en: 'camera cam-1, zone hospital-gate' }, location: { lat: 31.234, lon: 121.533 }, gridId: '31011500301205', category: codes.category('event', '0501') };
    const ev = (phase: EventInput['phase'], at: number, eventId = 'e-1'): EventInput => ({ phase, at, eventId, eventType: 'illegal-stall', rule: 'no-vending', confidence: 0.81, dwellS: (at - T0) / S, startedAt: T0, ...(phase === 'end' && { endedAt: at }) });
    const s = newCameraReport('r-c', zone, ev('start', T0), cfg);
    const b = reportBody(s, 'new', 'UTC');
    assertValidMessage(validators, stampAs(b));
    assert.deepEqual(b.category.minor.name, { zh: '无照经营游商', en: 'Unlicensed street vending' });
    assert.equal(b.source.zoneId, 'hospital-gate');
    assert.deepEqual(applyEvent(s, ev('update', T0 + 20 * S), cfg), {}, 'merged within the interval');
    assert.equal(applyEvent(s, ev('end', T0 + 300 * S), cfg).emit, 'resolved');
    applyCaseStatus(s, { status: 'handled', at: T0 + 400 * S }, { method: 'camera', windowS: 120, reopenAfterS: 240, noEvidenceAfterS: 3600 });
    assert.deepEqual(verifyCamera(s, T0 + 519 * S), {});
    assert.equal(verifyCamera(s, T0 + 520 * S).emit, 'verified');

    const t = newCameraReport('r-d', zone, ev('start', T0), cfg);
    applyCaseStatus(t, { status: 'handled', at: T0 + 100 * S }, { method: 'camera', windowS: 120, reopenAfterS: 240, noEvidenceAfterS: 3600 });
    applyEvent(t, ev('end', T0 + 110 * S), cfg);
    assert.equal(applyEvent(t, { ...ev('start', T0 + 150 * S, 'e-2'), startedAt: T0 + 150 * S }, cfg).emit, 'reopened');
  });

  test('which alarms are cases: by severity, never offline, profile report: false / {event} wins', () => {
    const loaded = demoConfig(mkdtempSync(join(tmpdir(), 'gg-rep-cat-')));
    const dev = buildDevices(loaded.config, loaded.profiles, (l) => loaded.grids!.map.lookup(l)?.code).byId;
    const rule = (d: string, r: string) => dev.get(d)!.rules.find((x) => x.rule.id === r)!.rule;
    assert.deepEqual(categoryFor(dev.get('cover-001')!, rule('cover-001', 'cover-tilted'), 'critical', cfg), { kind: 'component', code: '0102' });
    assert.equal(categoryFor(dev.get('cover-001')!, rule('cover-001', 'battery-low'), 'minor', cfg), undefined);
    assert.equal(categoryFor(dev.get('cover-001')!, rule('cover-001', 'offline'), 'major', cfg), undefined);
    assert.deepEqual(categoryFor(dev.get('dust-101')!, rule('dust-101', 'pm10-high'), 'warning', cfg), { kind: 'event', code: '0302' }, 'dust is a 工地扬尘 event');
    assert.deepEqual(categoryFor(dev.get('cover-101')!, rule('cover-101', 'cover-tilted'), 'critical', cfg)?.code, '0103', 'the device’s own class');
  });
});

// --- The reports stage with its real adapters: SQLite store, the outbox, evidence files, a restart. ---

function demoConfig(dataDir: string): LoadedConfig {
  return loadConfig(join(repoRoot, 'firmware-configs', 'demo.yaml'), {
    GRIDGATE_DATA_DIR: dataDir,
    GRIDGATE_DEVICE_KEY_SECRET: 'a-test-fleet-secret-0123456789',
    GRIDGATE_CENTRAL_PASSWORD: 'x',
    GRIDGATE_API_TOKEN: 'x',
    GRIDGATE_LNS_PASSWORD: 'x',
  });
}

interface Rig {
  db: Db;
  outbox: SqliteOutbox;
  manager: ReportManager;
  engine: AlarmEngine;
  devices: DeviceRegistry;
  clock: { now: number };
  logs: string[];
}

function rig(dataDir: string, clock: { now: number }, overrides: Partial<ReportsConfig> = {}, gridOf?: (id: string) => string | undefined, alarms: ReturnType<AlarmEngine['takeDirty']> = []): Rig {
  const loaded = demoConfig(dataDir);
  const devices = buildDevices(loaded.config, loaded.profiles, (l) => loaded.grids!.map.lookup(l)?.code);
  if (gridOf) for (const d of devices.byId.values()) d.gridId = gridOf(d.id) ?? d.gridId;
  const db = openDatabase(dataDir);
  // No destination reads it: the uplink is offline and every message stays in the outbox.
  const outbox = new SqliteOutbox(db, { synchronous: 'FULL', quotaBytes: 1 << 30, ttlMs: 3_600_000, keepEvery: 4, log: createLogger('silent') });
  const engine = new AlarmEngine(new Map([...devices.byId.values()].map((d) => [d.id, d.rules])), alarms, clock.now);
  const logs: string[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (logs.push(c.toString()), cb()) });
  const manager = new ReportManager({
    cfg: ReportsConfig.parse({ ...overrides }),
    store: new ReportStore(db),
    sink: outbox,
    stamper: new Stamper('gw-demo-01', outbox),
    topic: 'gridgate/v1/gw-demo-01/report',
    codes: loaded.codes!,
    grids: loaded.grids!.map,
    gridCodeLength: 14,
    devices,
    phaseOf: (d, r) => engine.phase(d, r),
    evidence: new EvidenceWriter(dataDir),
    timezone: 'Asia/Shanghai',
    log: createLogger('info', sink),
    now: () => clock.now,
  });
  return { db, outbox, manager, engine, devices, clock, logs };
}

/** What the pipeline does with one sample: telemetry to listeners, then the alarm engine, then transitions. */
function sample(r: Rig, deviceId: string, values: Record<string, number | boolean>): void {
  const d = r.devices.byId.get(deviceId)!;
  const metrics = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }]));
  r.manager.telemetry(d, { deviceId, profileId: d.profile.id, observedAt: r.clock.now, raw: {}, metrics });
  for (const t of r.engine.sample(deviceId, metrics, r.clock.now)) r.manager.alarm(d, t);
}

function tick(r: Rig): void {
  for (const t of r.engine.tick(r.clock.now)) r.manager.alarm(r.devices.byId.get(t.deviceId)!, t);
  r.manager.tick();
}

async function durable(r: Rig): Promise<void> {
  await new Promise<void>((res, rej) => r.outbox.whenDurable((e) => (e ? rej(e) : res())));
}

function publishedReports(db: Db): CaseReport[] {
  return (db.prepare("SELECT payload FROM outbox_priority WHERE class = 'report' ORDER BY seq").all() as Array<{ payload: string }>).map((x) => JSON.parse(x.payload) as CaseReport);
}

describe('sample ring (the readings evidence of a device)', () => {
  test('keeps the newest samples oldest first, each with exactly the metrics it had, units and non-numbers included', () => {
    const ring = new SampleRing(3);
    assert.equal(ring.lastAt, undefined);
    assert.deepEqual(ring.samples(), []);
    ring.add(1, { tilt: { value: 1.5, unit: 'deg' } });
    ring.add(2, { tilt: { value: 2, unit: 'deg' }, open: { value: true } });
    ring.add(3, { state: { value: 'alarm' } });
    ring.add(4, { tilt: { value: 26, unit: 'deg' }, open: { value: false } });
    assert.equal(ring.size, 3);
    assert.equal(ring.lastAt, 4);
    assert.deepEqual(ring.samples(), [
      { at: 2, metrics: { tilt: { value: 2, unit: 'deg' }, open: { value: true } } },
      { at: 3, metrics: { state: { value: 'alarm' } } },
      { at: 4, metrics: { tilt: { value: 26, unit: 'deg' }, open: { value: false } } },
    ]);
    // A slot overwritten by a sample without that metric does not show the older value.
    ring.add(5, { open: { value: true } });
    ring.add(6, { open: { value: true } });
    assert.deepEqual(ring.samples().map((s) => Object.keys(s.metrics)), [['tilt', 'open'], ['open'], ['open']]);
  });

  test('a sample replaced by a number after a string shows the number', () => {
    const ring = new SampleRing(1);
    ring.add(1, { mode: { value: 'auto' } });
    ring.add(2, { mode: { value: 3 } });
    assert.deepEqual(ring.samples(), [{ at: 2, metrics: { mode: { value: 3 } } }]);
  });

  test('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new SampleRing(0), /positive integer, got 0/);
    assert.throws(() => new SampleRing(2.5), /positive integer, got 2.5/);
  });
});

describe('reports stage with SQLite, outbox and evidence files', () => {
  const dirs: string[] = [];
  after(() => void dirs);

  test('tilt → new report in the outbox with the grid from the map and readings evidence whose SHA-256 matches the file; state survives a restart; handled → verified after the restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-rep-'));
    dirs.push(dir);
    const clock = { now: T0 };
    let r = rig(dir, clock);
    const step = (s: number) => (clock.now += s * S);
    for (let i = 0; i < 5; i++) {
      sample(r, 'cover-001', { tilt: 1 + i * 0.1, cover_open: false });
      step(2);
    }
    sample(r, 'cover-001', { tilt: 25 });
    step(3.5);
    sample(r, 'cover-001', { tilt: 26 });
    await durable(r);
    let reports = publishedReports(r.db);
    assert.equal(reports.length, 1);
    const created = reports[0]!;
    assertValidMessage(validators, created);
    assert.equal(created.status, 'new');
    assert.equal(created.gridId, '31011500301205', 'cover-001 lies in the centre grid of the demo map');
    assert.equal(created.category.code, '0102');
    assert.equal(created.assetId, '3101150102000012');
    assert.equal(created.evidence.length, 1);
    const ev = created.evidence[0]!;
    assert.equal(ev.kind, 'readings');
    const file = readFileSync(join(dir, ev.ref));
    assert.equal(createHash('sha256').update(file).digest('hex'), ev.sha256);
    const content = JSON.parse(file.toString()) as { samples: Array<{ metrics: { tilt: { value: number } } }> };
    assert.equal(content.samples.at(-1)!.metrics.tilt.value, 26, 'the evidence holds the samples judged by');

    // Power cut: nothing but the database (reports, and alarms as the gateway's AlarmStore keeps them) survives.
    const alarms = JSON.parse(JSON.stringify(r.engine.takeDirty(true))) as ReturnType<AlarmEngine['takeDirty']>;
    r.db.close();
    r = rig(dir, clock, {}, undefined, alarms);
    assert.equal(r.manager.openReports().length, 1, 'the open report is back');
    assert.equal(r.manager.openReports()[0]!.reportId, created.reportId);
    const reply = r.manager.caseStatus({ reportId: created.reportId, status: 'handled', caseId: 'YJ-2025-0001' });
    assert.equal(reply.verifying, true);
    // The crew sets the cover right: it reads level again.
    for (let i = 0; i < 8; i++) {
      step(1);
      sample(r, 'cover-001', { tilt: 1.1 });
      tick(r);
    }
    await durable(r);
    reports = publishedReports(r.db);
    const verified = reports.find((m) => m.status === 'verified');
    assert.ok(verified, `verified published, got ${reports.map((m) => m.status).join(',')}`);
    assertValidMessage(validators, verified);
    assert.equal(verified.caseId, 'YJ-2025-0001');
    assert.equal(verified.reportId, created.reportId);
    assert.equal(verified.verification?.result, 'verified');
    assert.equal(verified.evidence.length, 2, 'fresh evidence with the verdict');
    assert.equal(r.manager.openReports().length, 0);
    assert.throws(() => r.manager.caseStatus({ reportId: 'nope', status: 'handled' }), /no case report nope on this gateway/);
    r.db.close();
  });

  test('a report whose grid is not in the map is refused at the gateway with a clear error, and nothing is published', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-rep-'));
    const clock = { now: T0 };
    const r = rig(dir, clock, {}, (id) => (id === 'hydrant-001' ? '31011500301299' : undefined));
    sample(r, 'hydrant-001', { cap_open: true, pressure: 300000 });
    await durable(r);
    assert.deepEqual(publishedReports(r.db), []);
    assert.equal(r.manager.rejected.length, 1);
    assert.match(r.manager.rejected[0]!.reason, /grid 31011500301299 is not in the grid map/);
    assert.equal(r.manager.rejected[0]!.source, 'device:hydrant-001');
    assert.ok(r.logs.some((l) => l.includes('case report refused') && l.includes('31011500301299')), 'logged as an error naming the grid');

    const bad: VisionFinding = {
      at: T0, cameraId: 'cam-1', eventId: 'e1', phase: 'start',
      eventType: 'illegal-parking', eventCode: '0505', gridId: '3101150030120', location: { lat: 31.2339, lon: 121.5331 }, zone: { id: 'z1', rule: 'no-parking' },
      confidence: 0.9, dwellS: 300, tracks: [], evidence: [], startedAt: T0,
    };
    r.manager.visionEvent(bad);
    assert.match(r.manager.rejected[1]!.reason, /has 13 digits/);
    r.db.close();
  });

  test('a camera finding becomes an event report with its snapshots as evidence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-rep-'));
    const r = rig(dir, { now: T0 });
    const snap = { kind: 'annotated' as const, ref: 'snapshots/cam-1/1.jpg', sha256: 'a'.repeat(64), takenAt: new Date(T0).toISOString(), blurred: true };
    r.manager.visionEvent({
      at: T0, cameraId: 'cam-1', eventId: 'e1', phase: 'start',
      eventType: 'illegal-stall', eventCode: '0504', gridId: '31011500301208', location: { lat: 31.2341, lon: 121.5325 }, zone: { id: 'shopfront', name: '民生路店外', rule: 'no-vending' },
      confidence: 0.77, dwellS: 180, tracks: [], measurements: { people: 2 }, evidence: [snap], startedAt: T0 - 180 * S,
    });
    await durable(r);
    const [rep] = publishedReports(r.db);
    assertValidMessage(validators, rep!);
    assert.equal(rep!.category.kind, 'event');
    assert.deepEqual(rep!.category.minor.name, { zh: '店外经营', en: 'Trading outside the shop' });
    assert.deepEqual(rep!.evidence, [snap]);
    assert.ok(rep!.measurements.some((m) => m.metric === 'people' && m.value === 2));
    r.db.close();
  });

  test('a deployment’s code table renames a class without a code change', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-codes-'));
    writeFileSync(join(dir, 'pudong.yaml'), 'components:\n  "0102": { zh: 污水检查井盖, en: Sewer inspection cover }\n');
    const t = loadCodeTables([join(dir, 'pudong.yaml')]);
    assert.deepEqual(t.problems, []);
    assert.deepEqual(t.table.category('component', '0102').minor.name, { zh: '污水检查井盖', en: 'Sewer inspection cover' });
    assert.deepEqual(t.table.category('component', '0101').minor.name.zh, '上水井盖', 'the rest of the built-in table stays');
    writeFileSync(join(dir, 'bad.yaml'), 'components:\n  "102": { zh: x, en: y }\n');
    assert.match(loadCodeTables([join(dir, 'bad.yaml')]).problems.map((p) => `${p.line}: ${p.message}`).join(), /2: component class code "102" must have 4 digits/);
  });
});
