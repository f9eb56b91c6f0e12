import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { addDeviceToConfig } from '../src/cli/devices.js';
import { examplePayload } from '../src/profiles/simulation.js';
import { parseEnvFile } from '../src/local/provision/env-file.js';
import { chooseLogFormat, formatLogLine, localIsoTime } from '../src/util/log.js';
import { buildInitConfig, fileRef, parseLocation, slug } from '../src/cli/init.js';
import { ProgressBar, renderBar } from '../src/cli/progress.js';
import { setUplink } from '../src/cli/provision.js';
import { setPasswordHash } from '../src/cli/console.js';
import { DrainTracker, ago, renderStatus } from '../src/cli/status-view.js';
import { certCheck, clockCheck, diskCheck, formatReport, mqttCheck, summary } from '../src/local/doctor/checks.js';
import { setEnvLine } from '../src/local/provision/env-file.js';
import { loadProfiles } from '../src/profiles/load.js';
import type { GatewaySnapshot } from '../src/local/api/snapshot.js';
import { repoRoot } from './helpers/shared.js';

const DAY = 86400_000;
const NOW = Date.parse('2026-05-06T10:00:00Z');

describe('progress bars', () => {
  test('a bar with a total, an indeterminate one, and plain lines off a terminal', () => {
    assert.equal(renderBar({ label: 'drain', done: 25, total: 100, detail: '75 left' }, 8), 'drain [██░░░░░░]  25% 25/100 75 left');
    assert.equal(renderBar({ label: 'drain', done: 150, total: 100 }, 4), 'drain [████] 100% 150/100');
    assert.equal(renderBar({ label: 'browse', done: 7 }, 8, 0), 'browse [████░░░░] 7');
    assert.equal(renderBar({ label: 'browse', done: 7 }, 8, 2), 'browse [░░████░░] 7');
    const written: string[] = [];
    const stream = { write: (s: string) => written.push(s), isTTY: false } as unknown as NodeJS.WriteStream;
    const bar = new ProgressBar('warm-up', 3, { stream, plainEveryMs: 60_000, width: 3 });
    bar.update(1);
    bar.update(2);
    bar.done('ready');
    assert.deepEqual(written, ['warm-up [░░░]   0% 0/3\n', 'warm-up [███] 100% 3/3 ready\n'], 'a pipe gets a line at the start and the end, not a redraw per update');
  });
});

const snapshot = (over: Partial<GatewaySnapshot> = {}): GatewaySnapshot => ({
  gatewayId: 'gw-1',
  version: '0.1.0',
  startedAt: new Date(NOW - 3700_000).toISOString(),
  uptimeS: 3700,
  uplink: { url: 'mqtts://central:8883', connected: false, lastError: 'connect ECONNREFUSED' },
  outbox: { backlog: 120, lanes: { priority: 2, telemetry: 118 }, bytes: 3.5 * 1024 * 1024, fileBytes: 4 * 1024 * 1024, quotaBytes: 512 * 1024 * 1024, ttlS: 86_400, keepEvery: 4, thinned: 0, expired: 0, dropped: 0, synchronous: 'FULL', destinations: {}, inflight: 2, sent: 10, acked: 8, refused: 0, order: 'priority' } as unknown as GatewaySnapshot['outbox'],
  counters: {},
  rejects: {},
  devices: [
    { id: 'hydrant-7', profile: 'generic-json-hydrant', assetType: 'hydrant', gridId: '31011500301205', online: true, lastSeen: new Date(NOW - 5000).toISOString(), metrics: { pressure: { value: 310000, unit: 'Pa' }, cap_open: { value: true } } as unknown as GatewaySnapshot['devices'][0]['metrics'], rejects: {} },
    { id: 'light-1', profile: 'generic-json-street-light', assetType: 'street-light', gridId: '31011500301205', online: false, lastSeen: new Date(NOW - 7200_000).toISOString(), metrics: {}, rejects: {} },
  ],
  alarms: [{ alarmId: 'a1', deviceId: 'hydrant-7', rule: 'cap-open', severity: 'major', title: { zh: '消防栓盖被打开', en: 'Hydrant cap opened' }, raisedAt: new Date(NOW - 120_000).toISOString(), acknowledged: false, occurrences: 1, flapping: false }],
  sources: [{ id: 'lns-1', kind: 'lns', connected: true }],
  cameras: [{ id: 'cam-gate', gridId: '31011500301205', state: 'retrying', online: false, since: new Date(NOW).toISOString(), problem: { kind: 'unreachable', message: 'no answer at 10.0.0.9:554', at: '' }, counters: {} as never }],
  ...over,
});

describe('gridgate status view', () => {
  test('the view: uplink with its error, outbox, devices with last seen and values, alarms, cameras, sources', () => {
    const out = renderStatus(snapshot(), { now: NOW, width: 200, color: false });
    assert.match(out, /^gw-1 {2}v0\.1\.0 {2}up 1h1m {2}uplink ○ disconnected mqtts:\/\/central:8883/);
    assert.match(out, /uplink error: connect ECONNREFUSED/);
    assert.match(out, /backlog {2}120 message\(s\) for the central broker \(priority 2, telemetry 118\); 2 in flight/);
    assert.match(out, /DEVICES {2}2 \(1 online, 1 offline\)/);
    assert.match(out, /hydrant-7 online {2}5s ago {4}pressure=310000 Pa {2}cap_open=true/);
    assert.match(out, /light-1 {3}offline 2h ago/);
    assert.match(out, /ALARMS {2}1 active, 1 not acknowledged\n {2}major {4}hydrant-7 cap-open {2}Hydrant cap opened {2}since 2m ago/);
    assert.match(out, /cam-gate {2}retrying {2}last frame never {2}no answer at 10\.0\.0\.9:554/);
    assert.match(out, /lns lns-1: connected/);
    assert.ok(out.split('\n').every((l) => l.length <= 200));
    const narrow = renderStatus(snapshot(), { now: NOW, width: 40, color: true });
    assert.ok(narrow.split('\n').every((l) => l.replace(/\x1b\[[0-9;]*m/g, '').length <= 40), 'lines are cut to the terminal width');
    assert.match(narrow, /hydrant-7 \x1b\[32monline \x1b\[0m 5s ago {4}pressure=…\x1b\[0m/, 'a cut line keeps its colours');
  });

  test('a falling backlog shows a drain bar; none while it grows or once it is empty', () => {
    const d = new DrainTracker();
    assert.equal(d.update(100), undefined);
    assert.equal(d.update(400), undefined);
    assert.deepEqual(d.update(300), { peak: 400, backlog: 300 });
    const out = renderStatus(snapshot(), { now: NOW, width: 200, color: false, drain: { peak: 400, backlog: 300 } });
    assert.match(out, /draining \[██████░+\] {2}25% 100\/400 300 left/);
    assert.equal(d.update(0), undefined);
    assert.equal(d.update(50), undefined, 'a new outage starts a new peak');
    assert.equal(ago(undefined, NOW), 'never');
    assert.equal(ago(new Date(NOW - 3 * DAY).toISOString(), NOW), '3d ago');
  });
});

describe('gridgate doctor verdicts', () => {
  test('clock: synchronized, not synchronized, unknown, never set', () => {
    assert.equal(clockCheck({ now: NOW, ntp: { synced: true, source: 'timedatectl' } }).status, 'pass');
    const off = clockCheck({ now: NOW, ntp: { synced: false, source: 'chronyc: leap status Not synchronised' } });
    assert.deepEqual([off.status, off.fix?.includes('timedatectl set-ntp true')], ['fail', true]);
    assert.equal(clockCheck({ now: NOW }).status, 'warn');
    const unset = clockCheck({ now: Date.parse('1970-01-01T00:05:00Z'), ntp: { synced: true, source: 'x' } });
    assert.equal(unset.status, 'fail', 'a clock in 1970 is wrong whatever NTP says');
  });

  test('disk: full, filling, fine; a quota larger than the free space; a folder the gateway cannot write', () => {
    const GB = 1024 ** 3;
    assert.equal(diskCheck({ path: '/d', totalBytes: 32 * GB, availableBytes: 0.3 * GB, writable: true }, [])[0]!.status, 'fail');
    assert.equal(diskCheck({ path: '/d', totalBytes: 32 * GB, availableBytes: 3 * GB, writable: true }, [])[0]!.status, 'warn');
    const ok = diskCheck({ path: '/d', totalBytes: 32 * GB, availableBytes: 20 * GB, writable: true }, [{ name: 'video.evidence.maxMb', mb: 2048 }, { name: 'outbox.telemetry.quotaMb', mb: 30_000 }]);
    assert.deepEqual(ok.map((r) => [r.check, r.status]), [['disk', 'pass'], ['quota', 'pass'], ['quota', 'warn']]);
    assert.match(ok[2]!.fix!, /lower outbox\.telemetry\.quotaMb/);
    const ro = diskCheck({ path: '/d', totalBytes: 1, availableBytes: 1, writable: false, writeError: 'EACCES' }, []);
    assert.deepEqual([ro.length, ro[0]!.status, /EACCES/.test(ro[0]!.detail)], [1, 'fail', true]);
  });

  test('certificates: valid, expiring within 30 days, expired, not yet valid, not matching the key', () => {
    const c = { role: 'uplink client certificate', file: '/c.pem', validFrom: NOW - DAY, subject: 'CN=gw-1' };
    assert.equal(certCheck({ ...c, validTo: NOW + 400 * DAY }, NOW).status, 'pass');
    assert.match(certCheck({ ...c, validTo: NOW + 10 * DAY }, NOW).detail, /expires on 2026-05-16 \(in 10 days\)/);
    assert.equal(certCheck({ ...c, validTo: NOW - DAY }, NOW).status, 'fail');
    assert.match(certCheck({ ...c, validFrom: NOW + DAY, validTo: NOW + 9 * DAY }, NOW).fix!, /clock/);
    assert.match(certCheck({ ...c, validTo: NOW + 400 * DAY, keyMatches: false }, NOW).detail, /does not belong to its private key/);
    assert.match(certCheck({ ...c, validTo: NOW - DAY, renew: 'ask the operator' }, NOW).fix!, /renew it: ask the operator/);
  });

  test('broker failures each get their own one-line fix', () => {
    const fix = (code: string, message = code) => mqttCheck({ name: 'central broker', url: 'mqtts://c:8883', ok: false, code, message }, 'uplink').fix!;
    assert.match(fix('ECONNREFUSED'), /nothing listens there/);
    assert.match(fix('ENOTFOUND'), /does not resolve/);
    assert.match(fix('TIMEOUT'), /firewalls/);
    assert.match(fix('SELF_SIGNED_CERT_IN_CHAIN'), /uplink\.tls\.ca/);
    assert.match(fix('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), /uplink\.tls\.ca/);
    assert.match(fix('CERT_HAS_EXPIRED'), /expired/);
    assert.match(fix('ERR_TLS_CERT_ALTNAME_INVALID'), /host name/);
    assert.match(fix('ECONNRESET', 'socket hang up'), /client certificate/);
    assert.match(fix('BAD_CREDENTIALS'), /refused the username or password/);
    assert.match(fix('NOT_AUTHORIZED'), /refused the username or password/);
    assert.equal(mqttCheck({ name: 'central broker', url: 'x', ok: true, ms: 12 }, 'uplink').status, 'pass');
    assert.equal(mqttCheck({ name: 'central broker', url: 'x', ok: true, ms: 12, receiveMaximum: 1000 }, 'uplink').status, 'pass');
    const narrow = mqttCheck({ name: 'central broker', url: 'x', ok: true, ms: 12, receiveMaximum: 20 }, 'uplink');
    assert.deepEqual([narrow.status, /max_inflight_messages/.test(narrow.fix ?? '')], ['warn', true], 'a Receive Maximum of 20 is a warning with the fix');
  });

  test('the report: one line per check, the fix under failures and warnings, the tally', () => {
    const r = [
      { check: 'config', status: 'pass' as const, detail: 'ok' },
      { check: 'central broker', status: 'fail' as const, detail: 'refused', fix: 'do this' },
      { check: 'detector', status: 'skip' as const, detail: 'no vision' },
    ];
    assert.equal(formatReport('doctor', r), 'doctor\n  PASS  config          ok\n  FAIL  central broker  refused\n                        fix: do this\n  SKIP  detector        no vision\n1 passed, 0 warning(s), 1 failed, 1 skipped\n');
    assert.deepEqual(summary(r), { passed: 1, warnings: 0, failed: 1, skipped: 1 });
  });
});

describe('config edits of the field commands (pure)', () => {
  const template = readFileSync(join(repoRoot, 'firmware-configs', 'rpi4.yaml'), 'utf8');

  test('init fills the template and keeps its notes', () => {
    const text = buildInitConfig(template, {
      hardware: 'rpi4',
      site: '洋泾 民生路',
      gridMapRef: '../grids/yangjing.geojson',
      crs: 'gcj02',
      id: 'gw-yj-01',
      location: { lat: 31.2336, lon: 121.5329 },
      gridId: '31011500301205',
      profilesRef: '../device-profiles',
      schemaRef: '../firmware-configs/gateway.schema.json',
      command: 'gridgate init …',
      date: '2026-05-06',
    });
    const c = parse(text) as Record<string, Record<string, unknown>>;
    assert.deepEqual(c.gateway!.id, 'gw-yj-01');
    assert.deepEqual(c.gateway!.location, { lat: 31.2336, lon: 121.5329 });
    assert.equal(c.gateway!.gridId, '31011500301205');
    assert.deepEqual(c.grids, { file: '../grids/yangjing.geojson', crs: 'gcj02' });
    assert.equal((c.uplink as { username: string }).username, 'gw-yj-01');
    assert.match(text, /^# yaml-language-server: \$schema=\.\.\/firmware-configs\/gateway\.schema\.json\n# Site 洋泾 民生路: written by `gridgate init …` on 2026-05-06/);
    assert.match(text, /What this hardware sustains/);
    assert.doesNotMatch(text, /How to use it: copy this file/);
    assert.doesNotMatch(text, /# grids: -- the grid map/);
    assert.ok(text.indexOf('\ngrids:') < text.indexOf('\nlog:'), 'the grid map sits right after the gateway section');
    assert.match(text, /password: "\$\{GRIDGATE_CENTRAL_PASSWORD\}"/, 'secrets stay environment references');
    const noLoc = parse(buildInitConfig(template, { hardware: 'rpi4', site: 's', gridMapRef: 'g.json', crs: 'wgs84', id: 'gw-s', profilesRef: 'p', schemaRef: 's', command: 'c', date: 'd' })) as Record<string, Record<string, unknown>>;
    assert.equal(noLoc.gateway!.location, undefined);
    assert.equal(noLoc.gateway!.gridId, undefined);
    assert.deepEqual(noLoc.grids, { file: 'g.json' });
    assert.equal(slug('Yangjing Minsheng Rd. #3'), 'yangjing-minsheng-rd-3');
    assert.equal(slug('洋泾 民生路'), '');
    assert.equal(slug('洋泾 民生路 3号箱'), '', 'not "3": the digits left over from a Chinese name are no id');
    assert.equal(slug('Café Zürich 2'), 'cafe-zurich-2');
    assert.equal(fileRef('/srv/site', '/srv/site/grids/a.geojson'), './grids/a.geojson');
    assert.equal(fileRef('/srv/site', '/opt/gridgate/device-profiles'), '/opt/gridgate/device-profiles');
    assert.doesNotMatch(text, /\(issue \d+\)|\blands? here\b/);
    assert.deepEqual(parseLocation(' 31.2, 121.5 '), { lat: 31.2, lon: 121.5 });
    assert.throws(() => parseLocation('121.5,31.2x'), /latitude,longitude/);
    assert.throws(() => parseLocation('121.5,31.2'), /latitude,longitude/, 'a latitude over 90 is a swapped pair');
  });

  test('devices add appends in the config’s style; an example payload from the profile', () => {
    const text = addDeviceToConfig('# mine\ndevices: [] # none yet\n', { id: 'h-1', profile: 'generic-json-hydrant', location: { lat: 31.2, lon: 121.5 }, credentials: { passwordHash: 'scrypt$1$1$1$a$b' } });
    assert.equal(text, '# mine\ndevices:\n  - id: h-1\n    profile: generic-json-hydrant\n    location: { lat: 31.2, lon: 121.5 }\n    credentials: { passwordHash: scrypt$1$1$1$a$b }\n  # none yet\n');
    const lw = addDeviceToConfig('devices:\n', { id: 'l-1', profile: 'milesight-em500-pp', lorawan: { devEui: '24e124126b211004' }, gridId: '31011500301205' });
    assert.match(lw, /lorawan: \{ devEui: "24e124126b211004" \}/);
    assert.match(lw, /gridId: "31011500301205"/);
    const profiles = loadProfiles([join(repoRoot, 'device-profiles')]);
    assert.deepEqual(Object.keys(JSON.parse(examplePayload(profiles.get('generic-json-hydrant')!.profile)!) as object), ['pressure_mpa', 'cap_open', 'leak', 'tilt_deg', 'battery_pct', 'temperature_c']);
    assert.equal(examplePayload(profiles.get('milesight-em500-pp')!.profile), undefined, 'LoRaWAN devices send bytes through their network server');
  });

  test('provision and set-password edit their fields only; env files keep their other lines', () => {
    const cfg = '# keep\nuplink:\n  url: ${GRIDGATE_CENTRAL_URL} # note\n  password: "${GRIDGATE_CENTRAL_PASSWORD}"\n  tls: { ca: old.pem, cert: old.crt, key: old.key }\n';
    const a = parse(setUplink(cfg, { url: 'mqtts://c:8883', tls: { ca: 'credentials/ca.pem' }, dropClientCert: true })) as { uplink: Record<string, unknown> };
    assert.deepEqual(a.uplink, { url: 'mqtts://c:8883', password: '${GRIDGATE_CENTRAL_PASSWORD}', tls: { ca: 'credentials/ca.pem' } });
    assert.match(setUplink(cfg, { url: 'mqtts://c:8883' }), /^# keep\nuplink:\n {2}url: mqtts:\/\/c:8883 # note/);
    assert.match(setUplink('uplink:\n  url: x\n', { password: '${GG_PW}' }), /password: "\$\{GG_PW\}"/);
    assert.throws(() => setUplink('gateway: {}\n', { url: 'x' }), /no uplink section/);
    assert.equal(setEnvLine('# secrets\nA=1\nGRIDGATE_CENTRAL_PASSWORD=old\n', 'GRIDGATE_CENTRAL_PASSWORD', 'new'), '# secrets\nA=1\nGRIDGATE_CENTRAL_PASSWORD=new\n');
    assert.equal(setEnvLine('', 'X', 'y'), 'X=y\n');
    assert.throws(() => setEnvLine('', 'X', 'a\nb'), /span lines/);
    assert.deepEqual(parseEnvFile('# c\nexport A="1 2"\nB=\'x\'\n\nC=3=4\nbad line\n'), { A: '1 2', B: 'x', C: '3=4' });
    assert.match(setPasswordHash('api: {}\n', 'scrypt$1$1$1$a$b'), /console:\n {2}passwordHash: "scrypt\$1\$1\$1\$a\$b"/);
    assert.match(setPasswordHash('api: {}\ndevices: []\n# trailing notes\n', 'h'), /^api: \{\}\n# The web console .*\nconsole:\n {2}passwordHash: "h"\ndevices: \[\]\n\n?# trailing notes\n$/, 'the new section sits after api');
    assert.equal(setPasswordHash('console:\n  enabled: true # on\n  passwordHash: "old"\n', 'new'), 'console:\n  enabled: true # on\n  passwordHash: "new"\n');
    assert.throws(() => setPasswordHash('console:\n  passwordHash: "${HASH}"\n', 'h'), /comes from \$\{HASH\}: put the new hash in that variable/);
  });
});

describe('log lines for people', () => {
  test('time with its offset, level, message, key=value fields (quoted when needed), an error with its stack', () => {
    const t = Date.UTC(2026, 4, 6, 2, 0, 0, 123);
    assert.equal(Date.parse(localIsoTime(t)), t, 'the local time with its offset is the same instant');
    const line = formatLogLine({ level: 40, time: t, svc: 'gridgate', pid: 1, msg: 'uplink error', url: 'mqtt://h:1', err: 'connect ECONNREFUSED', n: 3, o: { a: 1 } });
    assert.equal(line, `${localIsoTime(t)} WARN  uplink error  url=mqtt://h:1 err="connect ECONNREFUSED" n=3 o={"a":1}\n`);
    const e = formatLogLine({ level: 50, time: t, msg: 'boom', err: { type: 'Error', message: 'bad thing', stack: 'Error: bad thing\n    at x' } });
    assert.equal(e, `${localIsoTime(t)} ERROR boom  err="bad thing"\n    Error: bad thing\n        at x\n`);
    assert.deepEqual([chooseLogFormat(undefined, true), chooseLogFormat('auto', false), chooseLogFormat('json', true), chooseLogFormat('pretty', false)], ['pretty', 'json', 'json', 'pretty']);
    assert.throws(() => chooseLogFormat('xml', true), /--log-format xml: auto, json or pretty/);
  });
});
