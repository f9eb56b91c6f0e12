import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { uplinkTopics, uuidv7 } from '@gridgate/contract';
import { generatePassword } from '../src/southbound/broker/credentials.js';
import { RtspServer } from '../fakes/virtual-camera/rtsp-server.js';
import { ffmpegProcessesConnectedTo, processGone, testVideo } from './helpers/cameras.js';
import { Consumer } from './helpers/consumer.js';
import { assertValidMessage, contractValidators } from './helpers/contract.js';
import { GatewayProcess } from './helpers/gateway-process.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';

// A camera through the real gateway: `gridgate run` reads an RTSP camera (credentials from the environment),
// publishes its availability retained to a real mosquitto, answers snapshot.request with evidence the central
// side can fetch from the API, and blanks the privacy mask in it. A gateway killed with -9 leaves no ffmpeg.

const GW = 'gw-cam';
const topics = uplinkTopics('gridgate/v1', GW);
const pw = { gw: generatePassword(), consumer: generatePassword(), api: generatePassword(), cam: 'rtsp-pw-3' };

describe('cameras through the gateway process', () => {
  let central: Mosquitto;
  let consumer: Consumer;
  let server: RtspServer;
  let gw: GatewayProcess;
  let apiPort: number;
  const validators = contractValidators();

  before(async () => {
    server = new RtspServer({ video: testVideo(), maxSeconds: 4, username: 'viewer', password: pw.cam });
    await server.start();
    central = await startMosquitto({
      users: { [GW]: pw.gw, consumer: pw.consumer },
      acl: `user ${GW}\ntopic write gridgate/v1/${GW}/#\ntopic read gridgate/v1/${GW}/cmd\n\nuser consumer\ntopic read gridgate/v1/#\ntopic write gridgate/v1/+/cmd\n`,
    });
    consumer = await Consumer.connect(central.url, { username: 'consumer', password: pw.consumer, protocolVersion: 5 }, 'gridgate/v1/#');
    apiPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'gg-cam-e2e-'));
    const cfg = join(dir, 'gw.yaml');
    writeFileSync(
      cfg,
      `gateway: { id: ${GW}, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false }
uplink: { url: "${central.url}", username: ${GW}, password: "\${E2E_CENTRAL_PW}", keepaliveS: 5 }
api: { port: ${apiPort}, token: "\${E2E_API_TOKEN}" }
cameras:
  - id: cam-gate
    name: Hospital gate
    source: { kind: rtsp, url: "${server.url}", username: viewer, password: "\${CAM_GATE_PW}" }
    privacyMasks:
      - polygon: [[0, 0], [0.25, 0], [0.25, 0.25], [0, 0.25]]   # a window of a flat
    zones:
      - id: kerb
        name: Gate kerb
        polygon: [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]]
        rules: [no-parking]
`,
    );
    gw = new GatewayProcess(['run', '--config', cfg], { E2E_CENTRAL_PW: pw.gw, E2E_API_TOKEN: pw.api, CAM_GATE_PW: pw.cam }).start();
    await gw.waitForLog('gateway started');
  });

  after(async () => {
    await gw?.kill('SIGKILL');
    await consumer?.close();
    await central?.stop();
    await server?.kill();
  });

  const api = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${apiPort}${path}`, { ...init, headers: { authorization: `Bearer ${pw.api}`, ...init.headers } });

  test('the camera comes online: retained, schema-valid availability; status in the API', async () => {
    const a = await consumer.waitFor('availability', (m) => m.deviceId === 'cam-gate' && m.state === 'online', 'camera online', 30_000);
    assertValidMessage(validators, a);
    // a consumer that subscribes later gets it from the broker's retained store
    const late = await Consumer.connect(central.url, { username: 'consumer', password: pw.consumer, protocolVersion: 5 }, topics.availability('cam-gate'));
    try {
      await waitFor('retained availability', () => late.received.find((r) => r.retain && r.msg.type === 'availability' && r.msg.state === 'online'), 10_000);
    } finally {
      await late.close();
    }
    const cams = (await (await api('/api/v1/cameras')).json()) as Array<{ id: string; state: string; stream: unknown; gridId: string }>;
    assert.deepEqual(cams.map((c) => [c.id, c.state, c.gridId]), [['cam-gate', 'streaming', '31011500301201']]);
    assert.deepEqual(cams[0]!.stream, { codec: 'h264', width: 640, height: 480, fps: 10 });
    assert.ok(!gw.stderrText.includes(pw.cam), 'the camera password is in no log line');
    const metrics = await (await api('/metrics')).text();
    assert.match(metrics, /^gridgate_camera_online\{camera="cam-gate"\} 1$/m);
    assert.match(metrics, /^gridgate_camera_frames_total\{camera="cam-gate",kind="captured"\} [1-9]\d*$/m);
  });

  test('snapshot.request: evidence with hashes, fetchable from the API, privacy mask blanked', async () => {
    const id = uuidv7();
    await consumer.client.publishAsync(topics.cmd, JSON.stringify({ id, ts: new Date().toISOString(), command: 'snapshot.request', cameraId: 'cam-gate' }), { qos: 1 });
    const reply = await consumer.waitFor('cmd-reply', (m) => m.requestId === id, 'snapshot reply', 20_000);
    assertValidMessage(validators, reply);
    assert.equal(reply.ok, true, reply.error);
    const result = reply.result as { cameraId: string; evidence: Array<{ kind: string; ref: string; sha256: string }> };
    assert.equal(result.cameraId, 'cam-gate');
    assert.deepEqual(result.evidence.map((e) => e.kind), ['annotated', 'clean']);
    for (const e of result.evidence) {
      const res = await api(`/api/v1/${e.ref}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(createHash('sha256').update(body).digest('hex'), e.sha256);
      if (e.kind === 'clean') {
        const { data, info } = await sharp(body).raw().toBuffer({ resolveWithObject: true });
        assert.deepEqual([info.width, info.height], [512, 384]);
        const at = (x: number, y: number) => data[(Math.floor(y * info.height) * info.width + Math.floor(x * info.width)) * info.channels]!;
        assert.ok(at(0.1, 0.1) < 8 && at(0.2, 0.2) < 8, 'the masked corner is black');
        let lit = 0;
        for (let i = 0; i < 20; i++) if (at(0.3 + i * 0.03, 0.6) > 30) lit++;
        assert.ok(lit > 10, 'the rest is the picture');
      }
    }
    assert.equal((await api('/api/v1/evidence/../../gw.yaml')).status, 404);
    const unknown = uuidv7();
    await consumer.client.publishAsync(topics.cmd, JSON.stringify({ id: unknown, ts: new Date().toISOString(), command: 'snapshot.request', cameraId: 'cam-x' }), { qos: 1 });
    const no = await consumer.waitFor('cmd-reply', (m) => m.requestId === unknown, 'reply for an unknown camera');
    assert.equal(no.ok, false);
    assert.equal(no.error, 'no camera "cam-x" on this gateway (cameras: cam-gate)');
  });

  test('kill -9 of the gateway: its ffmpeg exits by itself (broken pipe), nothing is left streaming', async () => {
    const streaming = ffmpegProcessesConnectedTo(server.info!.port);
    assert.equal(streaming.length, 1);
    await gw.kill('SIGKILL');
    await waitFor('ffmpeg gone after the gateway died', () => streaming.every(processGone), 15_000);
  });
});
