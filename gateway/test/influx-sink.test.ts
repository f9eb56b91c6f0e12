import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePassword, hashPassword } from '../src/southbound/broker/credentials.js';
import { telemetryLine } from '../src/northbound/influx/line.js';
import { DevicePublisher } from './helpers/device-publisher.js';
import { GatewayProcess } from './helpers/gateway-process.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';
import { startVictoriaMetrics, type VictoriaMetrics } from './helpers/victoria-metrics.js';

test('telemetryLine: measurement per asset type, device/gateway/grid/profile tags, typed fields, the observed time in ms', () => {
  const line = telemetryLine({
    assetType: 'street-light',
    deviceId: 'light 7,a',
    gatewayId: 'gw-1',
    gridId: '31011500301201',
    profile: 'milesight-ws558',
    observedAt: '2026-03-01T08:00:00.250Z',
    metrics: { power: { value: 81.5, unit: 'W' }, lamp_on: { value: true }, mode: { value: 'auto "eco"' } },
  });
  assert.equal(line, 'street-light,device=light\\ 7\\,a,gateway=gw-1,grid=31011500301201,profile=milesight-ws558 lamp_on=T,mode="auto \\"eco\\"",power=81.5 1772352000250');
});

// Against a real server: Debian's victoria-metrics accepts InfluxDB's /api/v2/write; points are read back
// through its export API. The database is stopped and the gateway killed while points wait.
describe('InfluxDB sink (victoria-metrics, real gridgate process)', () => {
  let vm: VictoriaMetrics;
  let central: Mosquitto;
  const procs: GatewayProcess[] = [];
  const devices: DevicePublisher[] = [];
  const pw = { device: generatePassword(), api: generatePassword() };
  const env = { INFLUX_TEST_TOKEN: 'city:secret', INFLUX_API_TOKEN: pw.api };

  before(async () => {
    [vm, central] = await Promise.all([startVictoriaMetrics(), startMosquitto()]);
  });

  after(async () => {
    await Promise.all(devices.map((d) => d.stop()));
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await vm?.stop();
    await central?.stop();
  });

  test('writes telemetry; while the database is down the points wait on disk (through a kill -9) and all arrive once it is back', async () => {
    const brokerPort = await freePort();
    const apiPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gg-influx-'));
    const cfg = join(dir, 'gw.yaml');
    const hash = await hashPassword(pw.device);
    writeFileSync(
      cfg,
      `gateway: { id: gw-influx, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { port: ${brokerPort}, rateLimit: { perSecond: 500, burst: 1000 } }
uplink: { url: "${central.url}" }
api: { port: ${apiPort}, token: "\${INFLUX_API_TOKEN}" }
influx: { url: "${vm.url}", org: city, bucket: gridgate, token: "\${INFLUX_TEST_TOKEN}", flushIntervalMs: 200, retry: { minMs: 100, maxMs: 500 } }
devices:
  - { id: cover-1, profile: generic-json-manhole-cover, credentials: { passwordHash: "${hash}" } }
  - { id: cover-2, profile: generic-json-manhole-cover, credentials: { passwordHash: "${hash}" } }
`,
    );
    const start = () => {
      const p = new GatewayProcess(['run', '--config', cfg], env).start();
      procs.push(p);
      return p;
    };
    const influx = async () =>
      ((await (await fetch(`http://127.0.0.1:${apiPort}/api/v1/status`, { headers: { authorization: `Bearer ${pw.api}` } })).json()) as { sinks: { influx: { backlog: number; written: number; state: string } } }).sinks.influx;
    const levels = async () => {
      const series = await vm.export('{__name__="manhole-cover_water_level"}');
      return new Map(series.map((s) => [s.metric.device!, { labels: s.metric, values: new Set(s.values.map((v) => Math.round(v * 10_000))), timestamps: s.timestamps }]));
    };
    const publish = async (from: number, n: number) => {
      const ds = ['cover-1', 'cover-2'].map((id) => new DevicePublisher(id, brokerPort, pw.device));
      devices.push(...ds);
      for (const d of ds) d.start(0, (k) => ({ water_level_m: (from + k) / 10_000, battery_pct: 90, cover_open: false }), { inflight: 10, count: n });
      await Promise.all(ds.map((d) => d.finished()));
      await Promise.all(ds.map((d) => d.stop()));
    };

    let gw = start();
    await gw.waitForLog('gateway started');
    await publish(0, 50);
    await waitFor('50 points per device in victoria-metrics', async () => {
      const l = await levels();
      return l.get('cover-1')?.values.size === 50 && l.get('cover-2')?.values.size === 50;
    }, 20_000);
    const first = (await levels()).get('cover-1')!;
    assert.deepEqual({ ...first.labels, __name__: undefined }, { __name__: undefined, device: 'cover-1', gateway: 'gw-influx', grid: '31011500301201', profile: 'generic-json-manhole-cover' });
    assert.ok(first.timestamps.every((t) => Math.abs(t - Date.now()) < 120_000), 'timestamps are the observed times, in ms');
    assert.ok((await vm.export('{__name__="manhole-cover_cover_open"}')).length === 2, 'booleans are written too');

    await vm.stop(); // the database goes down
    await publish(50, 50);
    await waitFor('the points wait in the outbox', async () => {
      const s = await influx();
      return s.backlog === 100 && s.state === 'retrying' && s;
    }, 20_000);
    await gw.kill('SIGKILL'); // and a power cut while they wait
    gw = start();
    await gw.waitForLog('gateway started');
    assert.equal((await influx()).backlog, 100, 'still waiting after the restart: they were on disk');
    await vm.start();
    await waitFor('all 100 points per device in victoria-metrics', async () => {
      const l = await levels();
      return l.get('cover-1')?.values.size === 100 && l.get('cover-2')?.values.size === 100;
    }, 30_000);
    const l = await levels();
    for (const d of ['cover-1', 'cover-2']) assert.deepEqual([...l.get(d)!.values].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1), `${d}: every report, none lost`);
    await waitFor('backlog 0', async () => (await influx()).backlog === 0, 10_000);
  });
});
