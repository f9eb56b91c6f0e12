import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CameraConfig, VideoConfig } from '../src/southbound/cameras/config.js';
import { loadConfig } from '../src/config/load.js';
import { describeDevice, resolveStreamUri } from '../src/southbound/cameras/onvif/client.js';
import { CameraStage } from '../src/southbound/cameras/stage.js';
import type { Frame } from '../src/southbound/cameras/types.js';
import { VirtualOnvifDevice } from '../fakes/virtual-camera/onvif-device.js';
import { formatList, type DiscoveredCamera } from '../src/cli/cameras.js';
import { ffmpegChildren, ffmpegProcessesConnectedTo, ffmpegTakesUrlOnPipe, testVideo } from './helpers/cameras.js';
import { GatewayProcess, runCli } from './helpers/gateway-process.js';
import { waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';

// The ONVIF side with the project's own simulator, run as a user runs it (`gridgate virtual-camera`):
// WS-Discovery, the Device and Media services with credentials, discovery writing the config, and a camera
// configured by its ONVIF address streaming from the RTSP address the simulator hands out.

const PW = 'onvif-pw-7';
const env = { VC_PW: PW, WRONG_PW: 'not-it' };

interface Ready {
  rtsp: string;
  onvif: string;
  discoveryPort: number;
}

describe('ONVIF: virtual camera, discovery, write-config, streaming by ONVIF address', () => {
  let vc: GatewayProcess;
  let ready: Ready;
  const stages: CameraStage[] = [];

  before(async () => {
    const video = testVideo();
    vc = new GatewayProcess(
      ['virtual-camera', '--video', video, '--rtsp-port', '0', '--onvif-port', '0', '--discovery-port', '0', '--max-seconds', '4', '-u', 'admin', '--password-env', 'VC_PW', '--serial', 'SN-4711'],
      env,
    ).start();
    ready = await waitFor('virtual camera ready', () => {
      const line = vc.stdout.split('\n').find((l) => l.includes('"ready"'));
      return line ? (JSON.parse(line) as Ready) : undefined;
    }, 60_000);
  });

  after(async () => {
    await Promise.all(stages.map((s) => s.stop()));
    await vc?.kill('SIGTERM');
    assert.deepEqual(ffmpegChildren(), []);
  });

  const discover = (...args: string[]) => runCli(['cameras', 'discover', '--address', '127.0.0.1', '--port', String(ready.discoveryPort), '--timeout', '1', ...args], env);

  test('discover lists make, model, serial, profiles with resolution, stream and snapshot addresses', async () => {
    const r = await discover('--json', '-u', 'admin', '--password-env', 'VC_PW');
    assert.equal(r.code, 0, r.stderr);
    const found = JSON.parse(r.stdout) as DiscoveredCamera[] & Array<{ device: { profiles: Array<Record<string, unknown>> } }>;
    assert.equal(found.length, 1);
    const d = found[0]!;
    assert.equal(d.address, '127.0.0.1');
    assert.equal(d.xaddr, ready.onvif);
    assert.deepEqual([d.device.manufacturer, d.device.model, d.device.serial, d.device.firmware], ['GridGate', 'VC-1', 'SN-4711', '1.0.3']);
    assert.deepEqual(d.device.profiles, [{ token: 'main', name: 'main', encoding: 'H264', width: 640, height: 480, fps: 10, streamUri: ready.rtsp, snapshotUri: ready.onvif.replace('device_service', 'snapshot.jpg') }]);
    // what the command prints without --json, from the same answers
    const text = formatList(found, '127.0.0.1');
    assert.match(text, /^1\. 127\.0\.0\.1 {2}GridGate VC-1 {2}serial SN-4711 {2}firmware 1\.0\.3\n/);
    assert.match(text, /profile main: H264 640×480 @ 10 fps\n {5}stream: {3}rtsp:\/\/127\.0\.0\.1:\d+\/stream\n/);
  });

  test('a wrong password: the camera is listed with the reason', async () => {
    const wrong = await discover('--json', '-u', 'admin', '--password-env', 'WRONG_PW');
    const [w] = JSON.parse(wrong.stdout) as DiscoveredCamera[];
    assert.equal(w!.device, undefined);
    assert.equal(w!.name, 'GridGate Virtual Camera', 'from the discovery scopes');
    assert.match(w!.error!, /^127\.0\.0\.1:\d+ refused the user name or password \(ONVIF\)/);
  });

  test('nothing answers: says what to check', async () => {
    const r = await runCli(['cameras', 'discover', '--address', '127.0.0.1', '--port', '9', '--timeout', '0.5']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^no ONVIF camera answered at 127\.0\.0\.1\. Check that the cameras are on this network/);
  });

  test('--write-config adds the camera with its secret as ${VAR}, keeps comments, validates; twice does not add it twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-wc-'));
    const file = join(dir, 'gw.yaml');
    const original = `# Cabinet 7 at the hospital gate
gateway:
  id: gw-7   # topic id
  gridId: "31011500301201"
  location: { lat: 31.2336, lon: 121.5329 }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
uplink:
  url: mqtt://127.0.0.1:1883
`;
    writeFileSync(file, original);
    const r = await discover('-u', 'admin', '--password-env', 'VC_PW', '--write-config', file, '--pick', '1');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /added cam-vc-1-sn-4711 to .*gw\.yaml; the gateway needs VC_PW in its environment/);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('# Cabinet 7 at the hospital gate\ngateway:\n  id: gw-7 # topic id\n'), text);
    assert.match(text, /cameras:\n {2}- id: cam-vc-1-sn-4711\n {4}name: GridGate VC-1\n {4}source:\n {6}kind: onvif\n {6}url: http:\/\/127\.0\.0\.1:\d+\/onvif\/device_service\n {6}username: admin\n {6}password: \$\{VC_PW\}\n {6}profile: main\n/);
    assert.ok(!text.includes(PW), 'never the password itself');
    const loaded = loadConfig(file, { ...process.env, ...env });
    assert.deepEqual(loaded.config.cameras.map((c) => [c.id, c.source.kind === 'onvif' && c.source.password]), [['cam-vc-1-sn-4711', PW]]);
    const again = await discover('-u', 'admin', '--password-env', 'VC_PW', '--write-config', file, '--all');
    assert.match(again.stdout, /\(already in the config\)/);
    assert.match(again.stderr, /no camera chosen; the config is unchanged/);
    assert.equal(readFileSync(file, 'utf8'), text);
  });

  test('--write-config refuses a result that would not validate and leaves the file as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-wc-'));
    const file = join(dir, 'gw.yaml');
    const original = `gateway: { id: gw-8, location: { lat: 31.2, lon: 121.5 } }\nprofiles: { dirs: [${join(repoRoot, 'device-profiles')}] }\nuplink: { url: mqtt://127.0.0.1 }\n`;
    writeFileSync(file, original);
    const r = await discover('-u', 'admin', '--password-env', 'VC_PW', '--write-config', file, '--all');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the config would not validate, so it was not changed:\n.*gw\.yaml \(with the new cameras\):\d+: cameras\[0\]: the camera has no gridId and no location, and gateway\.gridId is not set\nGive the cameras a grid with --grid-id/);
    assert.equal(readFileSync(file, 'utf8'), original);
  });

  test('a camera configured by its ONVIF address streams from the RTSP address the camera gives; wrong ONVIF password: auth-failed', async () => {
    const availability: Array<{ state: string; reason?: string }> = [];
    const frames: Frame[] = [];
    const video = VideoConfig.parse({});
    const stage = new CameraStage({
      gateway: { id: 'gw', gridId: '31011500301201', location: { lat: 31.2, lon: 121.5 } },
      cameras: [
        CameraConfig.parse({ id: 'cam-onvif', fps: 2, motion: { enabled: false }, source: { kind: 'onvif', url: ready.onvif, username: 'admin', password: PW } }),
        CameraConfig.parse({ id: 'cam-bad', source: { kind: 'onvif', url: ready.onvif, username: 'admin', password: 'nope' } }),
      ],
      video: { ...video, evidence: { ...video.evidence, dir: mkdtempSync(join(tmpdir(), 'gg-ev-')) } },
      setAvailability: (id, state, _at, reason) => availability.push({ state: `${id}:${state}`, ...(reason && { reason }) }),
      consumerFor: () => ({ onFrame: (f) => void frames.push(f) }),
      log: pino({ level: 'silent' }),
    });
    stages.push(stage);
    await stage.start();
    await waitFor('frames via ONVIF', () => frames.length >= 2, 30_000);
    assert.ok(availability.some((a) => a.state === 'cam-onvif:online'));
    const port = new URL(ready.rtsp).port;
    const streaming = ffmpegProcessesConnectedTo(Number(port));
    assert.equal(streaming.length, 1, 'the stream came from the address GetStreamUri gave');
    if (await ffmpegTakesUrlOnPipe()) assert.ok(!readFileSync(`/proc/${streaming[0]}/cmdline`, 'utf8').includes(PW), "the ONVIF account's password is not in ffmpeg's command line");
    await waitFor('cam-bad offline', () => availability.find((a) => a.state === 'cam-bad:offline'), 15_000);
    assert.match(availability.find((a) => a.state === 'cam-bad:offline')!.reason!, /^auth-failed: 127\.0\.0\.1:\d+ refused the user name or password \(ONVIF\)/);
    await stage.stop();
    assert.deepEqual(ffmpegChildren(), []);
  });
});

describe('ONVIF with HTTP digest authentication', () => {
  let dev: VirtualOnvifDevice;
  before(async () => {
    dev = new VirtualOnvifDevice({ host: '127.0.0.1', port: 0, rtspUrl: 'rtsp://127.0.0.1:8554/stream', stream: { width: 1920, height: 1080, fps: 25 }, username: 'op', password: 'digest-pw', auth: 'digest', discovery: false });
    await dev.start();
  });
  after(async () => dev?.stop());

  test('the right password passes the digest challenge; a wrong one is auth-failed', async () => {
    const d = await describeDevice(dev.xaddr, { username: 'op', password: 'digest-pw' });
    assert.equal(d.profiles[0]!.width, 1920);
    assert.equal((await resolveStreamUri(dev.xaddr, { username: 'op', password: 'digest-pw' }, 'main')).uri, 'rtsp://127.0.0.1:8554/stream');
    await assert.rejects(resolveStreamUri(dev.xaddr, { username: 'op', password: 'bad' }, undefined), (e: Error & { kind?: string }) => {
      assert.equal(e.kind, 'auth-failed');
      return true;
    });
    await assert.rejects(resolveStreamUri(dev.xaddr, { username: 'op', password: 'digest-pw' }, 'sub'), /the camera has no media profile "sub" \(it has: main\)/);
  });
});
