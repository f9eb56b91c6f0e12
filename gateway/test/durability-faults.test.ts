import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alarm, Telemetry, UplinkMessage } from '@gridgate/contract';
import { generatePassword, hashPassword } from '../src/southbound/broker/credentials.js';
import { Consumer } from './helpers/consumer.js';
import { DevicePublisher } from './helpers/device-publisher.js';
import { GatewayProcess, runCli } from './helpers/gateway-process.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, sleep, waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';

// Faults with real processes: the central mosquitto stopped mid-run while the gateway (a real `gridgate
// run`) is killed with SIGKILL several times; the telemetry quota reached during an outage; a damaged
// database at start. A central consumer that dedupes by id must see every message the devices sent.

const DEVICES = ['cover-1', 'cover-2', 'cover-3', 'cover-4'];
const pw = { central: generatePassword(), consumer: generatePassword(), api: generatePassword(), device: generatePassword() };
const env = { FAULT_CENTRAL_PW: pw.central, FAULT_API_TOKEN: pw.api };

class Device extends DevicePublisher {
  constructor(id: string, port: number) {
    super(id, port, pw.device);
  }
}

async function gatewayConfig(o: { id: string; brokerPort: number; apiPort: number; centralUrl: string; extra?: string }): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `gg-${o.id}-`));
  const hash = await hashPassword(pw.device);
  const file = join(dir, 'gw.yaml');
  writeFileSync(
    file,
    `gateway: { id: ${o.id}, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { port: ${o.brokerPort}, rateLimit: { perSecond: 500, burst: 1000 } }
uplink: { url: "${o.centralUrl}", username: gw, password: "\${FAULT_CENTRAL_PW}", keepaliveS: 5, reconnect: { minMs: 200, maxMs: 1000 } }
api: { port: ${o.apiPort}, token: "\${FAULT_API_TOKEN}" }
${o.extra ?? ''}
devices:
${DEVICES.map((d) => `  - { id: ${d}, profile: generic-json-manhole-cover, credentials: { passwordHash: "${hash}" }, alarms: { cover-open: { clearForS: 0 } } }`).join('\n')}
`,
  );
  return file;
}

/** Dedupes by id, as the issue's consumer does; keeps arrival order. */
function deduped(c: Consumer, gatewayId: string): UplinkMessage[] {
  const seen = new Set<string>();
  const out: UplinkMessage[] = [];
  for (const r of c.received) {
    if (r.msg.gatewayId !== gatewayId || r.msg.type === 'status' || seen.has(r.msg.id)) continue;
    seen.add(r.msg.id);
    out.push(r.msg);
  }
  return out;
}

const level = (t: Telemetry) => Math.round(Number(t.metrics.water_level!.value) * 10_000);

describe('durability faults (mosquitto, real gridgate processes, kill -9)', () => {
  let central: Mosquitto;
  let consumer: Consumer;
  const procs: GatewayProcess[] = [];
  const devices: Device[] = [];
  const start = (cfg: string) => {
    const p = new GatewayProcess(['run', '--config', cfg], env).start();
    procs.push(p);
    return p;
  };

  before(async () => {
    const persist = mkdtempSync(join(tmpdir(), 'gg-central-'));
    central = await startMosquitto({
      users: { gw: pw.central, consumer: pw.consumer },
      acl: `user gw\ntopic write gridgate/v1/#\ntopic read gridgate/v1/+/cmd\n\nuser consumer\ntopic read gridgate/v1/#\n`,
      // Persistent: what the broker acknowledged before it was stopped still reaches the consumer.
      extra: `persistence true\npersistence_location ${persist}/\nautosave_interval 1`,
    });
    consumer = await Consumer.connect(central.url, { username: 'consumer', password: pw.consumer, clientId: 'fault-consumer', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } }, 'gridgate/v1/#');
  });

  after(async () => {
    await Promise.all(devices.map((d) => d.stop()));
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await consumer?.close();
    await central?.stop();
  });

  test('central broker down, gateway killed with SIGKILL three times: every device message arrives once deduped by id, in order, without a seq gap', async () => {
    const brokerPort = await freePort();
    const apiPort = await freePort();
    const cfg = await gatewayConfig({ id: 'gw-outage', brokerPort, apiPort, centralUrl: central.url });
    let gw = start(cfg);
    await gw.waitForLog('uplink connected');
    for (const id of DEVICES) {
      const d = new Device(id, brokerPort);
      devices.push(d);
      d.start(10, (k) => ({ water_level_m: k / 10_000, battery_pct: 90, cover_open: k % 60 >= 30 }));
    }
    await waitFor('live traffic', () => consumer.of('telemetry').filter((t) => t.gatewayId === 'gw-outage').length > 100);

    await central.stop(); // the uplink goes down mid-run
    for (let i = 0; i < 3; i++) {
      const before = Math.min(...devices.map((d) => d.acked));
      await waitFor('devices still acknowledged while the uplink is down', () => Math.min(...devices.map((d) => d.acked)) > before + 20, 20_000);
      await gw.kill('SIGKILL'); // power cut
      gw = start(cfg);
      await gw.waitForLog('gateway started');
    }
    await waitFor('more traffic after the last restart', () => gw.logs.length > 0 && Math.min(...devices.map((d) => d.acked)) > 0);
    await sleep(500);
    await central.start();
    await gw.waitForLog('uplink connected');
    await sleep(500);
    await Promise.all(devices.map((d) => d.stop()));
    const sent = new Map(devices.map((d) => [d.id, d.acked]));

    await waitFor(
      'every acknowledged device message at the consumer',
      () => {
        const got = deduped(consumer, 'gw-outage').filter((m): m is Telemetry => m.type === 'telemetry');
        return DEVICES.every((id) => new Set(got.filter((t) => t.deviceId === id).map(level)).size >= sent.get(id)!);
      },
      60_000,
    );
    const msgs = deduped(consumer, 'gw-outage');
    for (const id of DEVICES) {
      const mine = msgs.filter((m): m is Telemetry => m.type === 'telemetry' && m.deviceId === id);
      const levels = mine.map(level);
      for (let k = 1; k <= sent.get(id)!; k++) assert.ok(levels.includes(k), `${id}: report ${k} missing`);
      for (let i = 1; i < mine.length; i++) {
        assert.ok(mine[i]!.seq > mine[i - 1]!.seq, `${id}: telemetry arrives in seq order`);
        assert.ok(levels[i]! >= levels[i - 1]!, `${id}: reports in the order the device sent them (a report repeated by the device after a power cut may appear twice)`);
      }
      const alarms = msgs.filter((m): m is Alarm => m.type === 'alarm' && m.deviceId === id);
      assert.ok(alarms.length > 0, `${id}: its cover-open alarms arrived`);
      for (let i = 1; i < alarms.length; i++) assert.ok(alarms[i]!.seq > alarms[i - 1]!.seq, `${id}: alarms in order`);
    }
    // The central side detects gaps from seq: there are none (nothing was thinned or lost).
    const seqs = new Set(msgs.map((m) => m.seq));
    const max = Math.max(...seqs);
    const missing = Array.from({ length: max }, (_, i) => i + 1).filter((s) => !seqs.has(s));
    assert.deepEqual(missing, [], 'no seq gap');

    // gridgate status reads the running gateway's API with the token from the config.
    const st = await runCli(['status', '--config', cfg], env);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /uplink ● connected/);
    assert.match(st.stdout, /backlog\s+0 message\(s\)/);
    assert.match(st.stdout, /quota\s+.* of 512 MiB .*telemetry kept 7d 0h, thinning keeps 1 in 4/);
    for (const id of DEVICES) assert.match(st.stdout, new RegExp(`${id}\\s+online\\s+\\d+s ago\\s+cover_open=`));
    assert.match(st.stdout, /disk\s+[\d,]+ WAL sync\(s\) since start: p50 (≤|>) [\d.]+ m?s, p99 (≤|>) [\d.]+ m?s, slowest [\d.]+ ms/, 'how long acknowledgements wait for the disk');

    // /metrics: the WAL sync durations as a Prometheus histogram (cumulative buckets, +Inf = count).
    const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`, { headers: { authorization: `Bearer ${pw.api}` } })).text();
    const count = Number(/^gridgate_outbox_wal_sync_seconds_count (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(count > 0, 'syncs were counted');
    const buckets = [...metrics.matchAll(/^gridgate_outbox_wal_sync_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])] as const);
    assert.equal(buckets.at(-1)![0], '+Inf');
    assert.equal(buckets.at(-1)![1], count);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]![1] >= buckets[i - 1]![1], 'cumulative buckets');
    assert.match(metrics, /^gridgate_outbox_wal_sync_seconds_sum [\d.e-]+$/m);

    // Local history survived the power cuts (kill -9 may cost its last tenth of a second, never the file).
    const hist = (await (await fetch(`http://127.0.0.1:${apiPort}/api/v1/devices/cover-1/metrics?from=-10m&step=1m&metric=water_level`, { headers: { authorization: `Bearer ${pw.api}` } })).json()) as {
      source: string;
      metrics: { water_level: { unit: string; points: Array<{ n: number; max: number }> } };
    };
    assert.equal(hist.source, '1m');
    assert.equal(hist.metrics.water_level.unit, 'm');
    const n = hist.metrics.water_level.points.reduce((a, p) => a + p.n, 0);
    assert.ok(n >= sent.get('cover-1')! * 0.8, `most reports are in the local history (${n} of ${sent.get('cover-1')})`);
  });

  test('telemetry quota reached during an outage: no alarm lost; telemetry thinned as documented and every gap accounted for', async () => {
    // The central platform's consumer keeps a persistent session on a persistent broker: what the gateway
    // delivers right after the broker comes back, before the consumer is back, waits for it there.
    const persist = mkdtempSync(join(tmpdir(), 'gg-quota-central-'));
    const down = await startMosquitto({ users: { gw: pw.central, consumer: pw.consumer }, extra: `persistence true\npersistence_location ${persist}/` });
    const session = { username: 'consumer', password: pw.consumer, clientId: 'quota-consumer', clean: false, protocolVersion: 5 as const, properties: { sessionExpiryInterval: 3600 } };
    await (await Consumer.connect(down.url, session, 'gridgate/v1/gw-quota/#')).close();
    await down.stop(); // the uplink is down from the start
    const brokerPort = await freePort();
    const cfg = await gatewayConfig({ id: 'gw-quota', brokerPort, apiPort: await freePort(), centralUrl: down.url, extra: 'outbox: { telemetry: { quotaMb: 1, keepEvery: 4 } }' });
    const gw = start(cfg);
    await gw.waitForLog('gateway started');
    const ds = DEVICES.slice(0, 3).map((id) => new Device(id, brokerPort));
    devices.push(...ds);
    // 800 reports each, about 1.6 MB of telemetry into a 1 MB quota: within what thinning alone absorbs. (A fixed
    // count: how far devices sending as fast as they can overshoot a threshold depends on the machine.)
    for (const d of ds) d.start(0, (k) => ({ water_level_m: k / 10_000, battery_pct: 90, temperature_c: 18, tilt_deg: 1, cover_open: k % 100 >= 50 }), { inflight: 50, count: 800 });
    await gw.waitForLog(/telemetry quota reached/, 60_000);
    await waitFor('all reports acknowledged', () => ds.every((d) => d.acked === 800), 60_000);
    await Promise.all(ds.map((d) => d.stop()));
    const c2 = await Consumer.connect(`mqtt://127.0.0.1:${down.port}`, {}, 'gridgate/v1/#').catch(() => undefined);
    assert.equal(c2, undefined, 'the central broker is still down');

    await down.start();
    const c = await Consumer.connect(down.url, session, 'gridgate/v1/gw-quota/#');
    try {
      const status = async () =>
        (await (await fetch(`http://127.0.0.1:${(gw.logs.find((l) => l.msg === 'gateway started') as unknown as { ports: { api: number } }).ports.api}/api/v1/status`, { headers: { authorization: `Bearer ${pw.api}` } })).json()) as {
          counters: Record<string, number>;
          outbox: { backlog: number; thinned: number; dropped: number; bytes: number; quotaBytes: number };
        };
      // Everything the central broker acknowledged has reached the consumer (mosquitto acknowledges before it forwards).
      await waitFor('backlog delivered', async () => {
        const s = await status();
        return s.outbox.backlog === 0 && deduped(c, 'gw-quota').length === s.counters.published;
      }, 60_000);
      const s = await status();
      const msgs = deduped(c, 'gw-quota');
      const alarms = msgs.filter((m) => m.type === 'alarm');
      assert.equal(alarms.length, s.counters.alarmTransitions, 'every alarm transition the gateway produced arrived');
      assert.ok(s.outbox.thinned > 0, 'telemetry was thinned');
      assert.equal(s.outbox.dropped, 0, 'thinning alone made room: nothing dropped');
      // Every seq the central side does not have is telemetry the gateway says it removed.
      const seqs = new Set(msgs.map((m) => m.seq));
      const max = Math.max(...seqs);
      const missing = max - seqs.size;
      assert.equal(missing, s.outbox.thinned + s.outbox.dropped, 'gaps in seq = thinned + dropped');
      assert.equal(s.counters.thinned, s.outbox.thinned, 'the status message carries the same counters');
      // The oldest telemetry of each device is kept 1 in 4.
      for (const d of ds) {
        const levels = msgs.filter((m): m is Telemetry => m.type === 'telemetry' && m.deviceId === d.id).map(level);
        assert.equal(levels[0], 1, `${d.id}: its first report is kept`);
        assert.equal(levels[1], 5, `${d.id}: then every 4th`);
      }
      // The newest telemetry stays complete (the devices do not finish together: this is about the newest overall).
      const newest = [...seqs].sort((a, b) => a - b).slice(-300);
      assert.equal(newest[299]! - newest[0]!, 299, 'none of the newest 300 messages is missing');
    } finally {
      await c.close();
      await down.stop();
    }
  });

  test('a damaged database at start: the gateway says so, keeps the file aside, and starts', async () => {
    const brokerPort = await freePort();
    const cfg = await gatewayConfig({ id: 'gw-damaged', brokerPort, apiPort: await freePort(), centralUrl: central.url });
    const state = join(cfg, '..', 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'gridgate.db'), Buffer.alloc(64 * 1024, 0x5a)); // not a database
    writeFileSync(join(state, 'history.db'), Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(5000, 1)])); // torn
    const gw = start(cfg);
    const damaged = await gw.waitForLog(/is damaged/);
    assert.match(damaged.msg, /gridgate\.db is damaged \(not an SQLite database.*moved aside to .*gridgate\.db\.damaged-/);
    await gw.waitForLog(/history\.db is damaged/);
    await gw.waitForLog('gateway started');
    await gw.waitForLog('uplink connected');
    assert.ok(existsSync(damaged.movedTo as string), 'the damaged file is kept');
    assert.equal(readdirSync(state).filter((f) => /\.damaged-/.test(f) && !/-(wal|shm)$/.test(f)).length, 2);
    const d = new Device('cover-1', brokerPort);
    devices.push(d);
    d.start(50, (k) => ({ water_level_m: k / 10_000 }));
    await consumer.waitFor('telemetry', (m) => m.gatewayId === 'gw-damaged', 'telemetry from the restarted gateway');
    await d.stop();
  });
});
