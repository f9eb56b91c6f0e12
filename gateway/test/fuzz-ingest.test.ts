import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { parse } from 'yaml';
import { builtinCodecs } from '../src/profiles/codecs/index.js';
import { decodeUplink } from '../src/pipeline/decode/decode.js';
import { loadProfiles } from '../src/profiles/load.js';
import type { DeviceProfile } from '../src/profiles/schema.js';
import { derivedPassword, generatePassword } from '../src/southbound/broker/credentials.js';
import { chirpStackV4Up, ttnV3Up } from '../fakes/sim/lns-messages.js';
import { prng } from '../fakes/sim/scenario.js';
import { simulatedMetrics, toRawFields } from '../src/profiles/simulation.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { GatewayProcess } from './helpers/gateway-process.js';
import { freePort, waitFor } from './helpers/net.js';
import { Consumer } from './helpers/consumer.js';
import { assertValidMessage, contractValidators } from './helpers/contract.js';
import { mutateBytes, mutateJson, type Random } from './helpers/fuzz.js';
import { repoRoot, sharedFile } from './helpers/shared.js';

// A standing, seeded fuzz of what devices and network servers send: mutated real messages through real MQTT
// into a real `gridgate run` (its embedded broker, and two LNS connections reading a mosquitto that plays the
// network servers). Whatever comes in, the gateway lives, everything reaching the central broker validates
// against the contract schemas, and valid telemetry still flows afterwards.
// Longer: GRIDGATE_FUZZ_COUNT=100000 GRIDGATE_FUZZ_SEED=$RANDOM node scripts/test.mjs fuzz-ingest

const envInt = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw new Error(`${name}=${v}: a whole number, please`);
  return Number(v);
};
const SEED = envInt('GRIDGATE_FUZZ_SEED', 1);
const COUNT = envInt('GRIDGATE_FUZZ_COUNT', 3000);
const RERUN = `rerun with GRIDGATE_FUZZ_SEED=${SEED} GRIDGATE_FUZZ_COUNT=${COUNT} node scripts/test.mjs fuzz-ingest`;
/** Under the embedded broker's maxPacketBytes: an oversized packet closes the connection (tested elsewhere). */
const MAX_DEVICE_PAYLOAD = 60_000;
const INFLIGHT = 64;

const GW = 'gw-fuzz';
const JSON_DEVICES = [
  { id: 'cover-f', profile: 'generic-json-manhole-cover' },
  { id: 'hydrant-f', profile: 'generic-json-hydrant' },
  { id: 'light-f', profile: 'generic-json-street-light' },
];

interface Vectors {
  devices: Array<{ device: string; examples: Array<{ fPort: number; bytes: number[] }> }>;
}

const vectorsFile = sharedFile('testdata/vendor-vectors.yaml');
const vectors = vectorsFile.path ? (parse(readFileSync(vectorsFile.path, 'utf8')) as Vectors) : undefined;
const loraDevices = (vectors?.devices ?? []).map((d, i) => ({ id: `lora-${i}`, profile: d.device, devEui: `70b3d57ba0f0${i.toString(16).padStart(4, '0')}`, examples: d.examples }));

/** Publishes with at most INFLIGHT unacknowledged; resolves once every publish is acknowledged. */
async function publishAll(jobs: Array<() => Promise<unknown>>): Promise<void> {
  const pending = new Set<Promise<unknown>>();
  for (const job of jobs) {
    const p: Promise<unknown> = job().finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= INFLIGHT) await Promise.race(pending);
  }
  await Promise.all(pending);
}

describe(`ingest fuzz (seed ${SEED}, ${COUNT} messages)`, () => {
  let central: Mosquitto;
  let lns: Mosquitto;
  let gw: GatewayProcess;
  let consumer: Consumer;
  let lnsPub: MqttClient;
  let apiPort: number;
  const devices = new Map<string, MqttClient>();
  const validators = contractValidators();
  const profiles = loadProfiles([join(repoRoot, 'device-profiles')]);
  const profile = (id: string): DeviceProfile => profiles.get(id)!.profile;
  const secret = generatePassword();

  before(async () => {
    central = await startMosquitto();
    lns = await startMosquitto();
    const brokerPort = await freePort();
    apiPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gg-fuzz-'));
    const cfg = join(dir, 'gw.yaml');
    writeFileSync(
      cfg,
      `gateway: { id: ${GW}, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { port: ${brokerPort}, deviceKeySecret: "\${FUZZ_SECRET}", rateLimit: { perSecond: 100000, burst: 100000 } }
uplink: { url: "${central.url}", keepaliveS: 5 }
api: { port: ${apiPort}, token: "\${FUZZ_SECRET}" }
lns:
  - { id: chirp, kind: chirpstack-v4, url: "${lns.url}" }
  - { id: ttn, kind: ttn-v3, url: "${lns.url}" }
devices:
${JSON_DEVICES.map((d) => `  - { id: ${d.id}, profile: ${d.profile} }`).join('\n')}
${loraDevices.map((d) => `  - { id: ${d.id}, profile: ${d.profile}, lorawan: { devEui: "${d.devEui}" } }`).join('\n')}
`,
    );
    consumer = await Consumer.connect(central.url, {}, `gridgate/v1/${GW}/#`);
    gw = new GatewayProcess(['run', '--config', cfg], { FUZZ_SECRET: secret }).start();
    await gw.waitForLog('uplink connected');
    await waitFor('both LNS subscribed', () => gw.logs.filter((l) => l.msg === 'LNS subscribed').length === 2);
    for (const d of JSON_DEVICES) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: d.id, username: d.id, password: derivedPassword(secret, d.id), reconnectPeriod: 200 });
      c.on('error', () => {});
      devices.set(d.id, c);
    }
    lnsPub = await mqtt.connectAsync(lns.url, { clientId: `fuzz-ns-${process.pid}`, reconnectPeriod: 200 });
  });

  after(async () => {
    for (const c of devices.values()) c.end(true);
    lnsPub?.end(true);
    await gw?.kill('SIGKILL');
    await consumer?.close();
    await Promise.all([central?.stop(), lns?.stop()]);
  });

  /** What must hold after any input: alive, no handler blew up, everything published centrally is valid. */
  const assertHealthy = (what: string) => {
    assert.equal(gw.running, true, `the gateway exited after ${what} (${RERUN})\n${gw.stderrText.slice(-3000)}`);
    const blewUp = gw.logs.filter((l) => l.level >= 50);
    assert.deepEqual(blewUp.map((l) => `${l.msg}: ${String(l.err ?? '')}`), [], `errors logged while handling ${what} (${RERUN})`);
    for (const r of consumer.received) {
      try {
        assertValidMessage(validators, r.msg);
      } catch (e) {
        assert.fail(`${(e as Error).message.slice(0, 3000)}\n(${RERUN})`);
      }
    }
  };

  const codecs = builtinCodecs();
  /** A normal report of the profile, and the metrics the gateway's own decoder makes of it. */
  /** The gateway's own count of what it took in and refused, for the record of a run. */
  const counters = async () => {
    const st = (await (await fetch(`http://127.0.0.1:${apiPort}/api/v1/status`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { counters: Record<string, number> };
    return Object.entries(st.counters).filter(([k, v]) => v && /^(rejected|received|decoded)/.test(k)).map(([k, v]) => `${k} ${v}`).join(', ');
  };

  const normalReport = (p: DeviceProfile, r: Random) => {
    const text = JSON.stringify(toRawFields(p, simulatedMetrics(p, undefined, r)!));
    return { text, metrics: decodeUplink(p, codecs, { kind: 'json', text }).metrics };
  };

  test('device messages on the embedded broker', async (t) => {
    const r = prng(SEED);
    const n = Math.round(COUNT * (loraDevices.length ? 0.4 : 1));
    const jobs = Array.from({ length: n }, () => {
      const d = JSON_DEVICES[Math.floor(r() * JSON_DEVICES.length)]!;
      let payload = mutateJson(normalReport(profile(d.profile), r).text, r);
      if (payload.length > MAX_DEVICE_PAYLOAD) payload = payload.subarray(0, MAX_DEVICE_PAYLOAD);
      const other = r() < 0.03 ? JSON_DEVICES.find((x) => x !== d)! : d; // now and then someone else's topic
      return () => devices.get(d.id)!.publishAsync(`devices/${other.id}/up`, payload, { qos: 1 });
    });
    await publishAll(jobs);
    t.diagnostic(`${n} mutated device messages acknowledged (seed ${SEED})`);
    // Valid reports still flow, each recognised by its values.
    for (const d of JSON_DEVICES) {
      const { metrics, text } = normalReport(profile(d.profile), prng(SEED + 1));
      await devices.get(d.id)!.publishAsync(`devices/${d.id}/up`, text, { qos: 1 });
      await consumer.waitFor('telemetry', (m) => m.deviceId === d.id && Object.entries(metrics).every(([k, v]) => m.metrics[k]?.value === v.value), `${d.id}: a valid report after the fuzz (${RERUN})`);
    }
    assertHealthy(`${n} mutated device messages`);
    t.diagnostic(await counters());
  });

  test('network-server uplinks (ChirpStack v4 and TTN v3) from vendor examples', { skip: vectorsFile.skip }, async (t) => {
    const r = prng(SEED + 2);
    const n = Math.round(COUNT * 0.6);
    assert.ok(loraDevices.every((d) => codecs.has(profile(d.profile).codec ?? '')), 'every vendor device has a codec');
    let fCnt = 0;
    const uplink = (d: (typeof loraDevices)[number], bytes: Uint8Array, fPort: number, at: number) => {
      const input = { devEui: d.devEui, deviceName: d.id, fPort, fCnt: ++fCnt, bytes, at, rssi: -90, snr: 7.5 };
      return r() < 0.5 ? chirpStackV4Up('fuzz-app', input) : ttnV3Up('fuzz-app', 'ttn', input);
    };
    const jobs = Array.from({ length: n }, () => {
      const d = loraDevices[Math.floor(r() * loraDevices.length)]!;
      const ex = d.examples[Math.floor(r() * d.examples.length)]!;
      const bytesOnly = r() < 0.5; // a valid envelope around broken bytes (the codecs), or a broken envelope
      const m = uplink(d, bytesOnly ? mutateBytes(Uint8Array.from(ex.bytes), r) : Uint8Array.from(ex.bytes), ex.fPort, Date.now());
      const payload = bytesOnly ? Buffer.from(m.payload) : mutateJson(m.payload, r);
      return () => lnsPub.publishAsync(m.topic, payload, { qos: 1 });
    });
    await publishAll(jobs);
    t.diagnostic(`${n} mutated network-server messages published (seed ${SEED})`);
    // The LNS connections take messages in order: once these arrive, everything before them was handled.
    const at = Date.parse('2024-05-01T08:00:00.000Z');
    for (const [i, d] of loraDevices.entries()) {
      const ex = d.examples[0]!;
      const m = uplink(d, Uint8Array.from(ex.bytes), ex.fPort, at + i);
      await lnsPub.publishAsync(m.topic, m.payload, { qos: 1 });
      await consumer.waitFor('telemetry', (x) => x.deviceId === d.id && x.observedAt === new Date(at + i).toISOString(), `${d.id}: a valid uplink after the fuzz (${RERUN})`, 30_000);
    }
    assertHealthy(`${n} mutated network-server messages`);
    t.diagnostic(await counters());
  });
});
