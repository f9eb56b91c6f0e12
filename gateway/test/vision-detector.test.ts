import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import type { Frame } from '../src/southbound/cameras/types.js';
import { builtinModel } from '../src/pipeline/vision/detector/model.js';
import { WorkerPoolDetector } from '../src/pipeline/vision/detector/pool.js';
import { readFrames } from '../src/pipeline/vision/video/ffmpeg-frames.js';
import { GatewayProcess, runCli } from './helpers/gateway-process.js';
import { testMedia } from './helpers/media.js';
import { freePort, waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';

// The real detector: CenterNet weights from the @vladmandic/human package on tfjs worker threads, fed
// frames of a real CCTV street scene (vtest.avi) decoded by ffmpeg.

const vtest = testMedia('vtest.avi');
const dir = mkdtempSync(join(tmpdir(), 'gg-vision-'));
const tfjsNodeInstalled = await import('@tensorflow/tfjs-node' as string).then(() => true, () => false);

describe('detector on real frames', () => {
  let det: WorkerPoolDetector;
  const notes: string[] = [];
  let frame: Frame;

  before(async () => {
    for await (const f of readFrames(vtest, { width: 512, height: 512, fps: 1, maxFrames: 11 })) {
      frame = { cameraId: 'cam-vtest', seq: f.index, ts: f.ptsMs, width: 512, height: 512, format: 'rgb24', data: f.data };
    }
    det = await WorkerPoolDetector.start({ spec: builtinModel(), backend: 'auto', minScore: 0.3, workers: 1, onNote: (n) => notes.push(n) });
  });
  after(() => det?.close());

  test('auto backend: tfjs-node when installed, else wasm with one note saying so', () => {
    if (tfjsNodeInstalled) assert.equal(det.backend, 'tensorflow');
    else {
      assert.equal(det.backend, 'wasm');
      assert.deepEqual(notes, ['@tensorflow/tfjs-node is not installed: using the wasm backend']);
    }
    assert.ok(det.stats.loadMs[0]! > 0);
  });

  test('finds the pedestrians and the parked vehicles at the top right of frame 10', async () => {
    const r = await det.detect(frame);
    const persons = r.detections.filter((d) => d.label === 'person');
    assert.ok(persons.length >= 4, `persons: ${JSON.stringify(r.detections)}`);
    const parked = r.detections.filter((d) => ['car', 'truck', 'bus'].includes(d.label) && d.box[0] > 0.75 && d.box[3] < 0.25);
    assert.ok(parked.length >= 1, `vehicles at the top right: ${JSON.stringify(r.detections)}`);
    for (const d of r.detections) for (const v of d.box) assert.ok(v >= 0 && v <= 1);
  });

  test('inference runs off the event loop: timers keep firing while a frame is being detected', async () => {
    let ticks = 0;
    const iv = setInterval(() => ticks++, 1);
    const r = await det.detect(frame);
    clearInterval(iv);
    assert.ok(r.detections.length > 0);
    assert.ok(ticks >= 3, `only ${ticks} timer callbacks ran during an inference of ${Math.round(r.inferMs)} ms`);
  });

  test('a frame of the wrong size is refused with a clear error, and the detector keeps working', async () => {
    await assert.rejects(det.detect({ ...frame, width: 640, height: 480, data: Buffer.alloc(640 * 480 * 3) }), /is 640x480 rgb24 .*the detector needs 512x512 rgb24/);
    assert.ok((await det.detect(frame)).detections.length > 0);
  });
});

describe('detector faults', () => {
  test('truncated weights: start fails naming the file and what to do', async () => {
    const m = builtinModel();
    copyFileSync(m.json, join(dir, 'centernet.json'));
    writeFileSync(join(dir, 'centernet.bin'), readFileSync(m.json.replace(/\.json$/, '.bin')).subarray(0, 100_000));
    await assert.rejects(WorkerPoolDetector.start({ spec: { ...m, json: join(dir, 'centernet.json') }, backend: 'wasm', minScore: 0.3, workers: 1 }), /centernet\.json have 100000 bytes, the model expects \d+: the files are truncated or corrupt/);
  });

  test('backend "tensorflow" without @tensorflow/tfjs-node installed is a clear error', async (t) => {
    if (tfjsNodeInstalled) return t.skip('@tensorflow/tfjs-node is installed here');
    await assert.rejects(WorkerPoolDetector.start({ spec: builtinModel(), backend: 'tensorflow', minScore: 0.3, workers: 1 }), /backend "tensorflow": @tensorflow\/tfjs-node is not installed; install it or set vision.detector.backend to wasm/);
  });
});

describe('gridgate detect', () => {
  const png = join(dir, 'frame.png');
  before(() => {
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', vtest, '-vf', 'select=eq(n\\,100)', '-frames:v', '1', png]);
    assert.equal(r.status, 0, r.stderr.toString());
  });

  test('--image prints detections, a stall score, the haze index and timing', async () => {
    const r = await runCli(['detect', '--image', png, '--workers', '1', '--zones', '[{"id":"pavement","polygon":[[0,0.3],[1,0.3],[1,1],[0,1]],"rules":["no-vending"]}]']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { detections: Array<{ label: string }>; stall: { score: number }; haze: { index: number; zones: unknown[] }; timing: { inferMs: number } };
    assert.ok(out.detections.filter((d) => d.label === 'person').length >= 4);
    assert.ok(out.stall.score >= 0 && out.stall.score < 0.5, `a street with pedestrians is no stall scene: ${out.stall.score}`);
    assert.ok(out.haze.index >= 0 && out.haze.index <= 1);
    assert.equal(out.haze.zones.length, 1);
    assert.ok(out.timing.inferMs > 0);
  });

  test('--image decodes a JPEG with sharp: no ffmpeg needed', async () => {
    const jpeg = join(dir, 'frame.jpg');
    await sharp(png).jpeg({ quality: 90 }).toFile(jpeg);
    // No ffmpeg on this PATH: reading the still image must not need it.
    const r = await runCli(['detect', '--image', jpeg, '--workers', '1'], { PATH: join(dir, 'no-ffmpeg-here') });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { detections: Array<{ label: string }> };
    assert.ok(out.detections.filter((d) => d.label === 'person').length >= 4);
  });

  test('an unreadable image is a clear error', async () => {
    const bad = join(dir, 'notes.jpg');
    writeFileSync(bad, 'this is not a picture');
    const r = await runCli(['detect', '--image', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /gridgate: cannot read .*notes\.jpg: \S/);
  });

  test('--video runs the whole pipeline: the parked van is illegal parking, the pedestrians are no stall', async () => {
    // Short dwell times so 20 s of video can show a whole event; the default profile waits 5 minutes.
    const profiles = join(dir, 'cameras');
    const profile = readFileSync(join(repoRoot, 'device-profiles', 'cameras', 'street-camera.yaml'), 'utf8')
      .replace('id: street-camera', 'id: street-camera-short')
      .replace(/stationaryS: (30|60)/g, 'stationaryS: 3')
      .replace(/minDwellS: 300/g, 'minDwellS: 5');
    spawnSync('mkdir', ['-p', profiles]);
    writeFileSync(join(profiles, 'short.yaml'), profile);
    const scene = join(dir, 'scene.yaml');
    writeFileSync(scene, readFileSync(join(repoRoot, 'gateway', 'test', 'fixtures', 'vtest-scene.yaml'), 'utf8').replace('profile: street-camera', 'profile: street-camera-short') + `vision: { profileDirs: [${profiles}] }\n`);
    const r = await runCli(['detect', '--video', vtest, '--config', scene, '--fps', '1', '--max-frames', '20'], {}, 120_000);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { frames: number; events: Array<{ phase: string; eventType: string; eventCode: string; tracks: Array<{ label: string; box: number[] }> }> };
    assert.equal(out.frames, 20);
    assert.equal(out.events.filter((e) => e.eventType === 'illegal-stall' || e.eventType === 'outside-shop-trading').length, 0, JSON.stringify(out.events));
    const parking = out.events.filter((e) => e.eventCode === '0505');
    assert.deepEqual(parking.map((e) => e.phase), ['start', 'end'], JSON.stringify(out.events));
    assert.ok(parking[0]!.tracks.some((t) => t.box[0]! > 0.75 && t.box[3]! < 0.25), 'the van at the top right');
  });
});

describe('gateway with a broken detector', () => {
  let gw: GatewayProcess;
  after(() => gw?.kill());

  test('logs why detection is unavailable and keeps running', async () => {
    const api = await freePort();
    const uplink = await freePort();
    writeFileSync(join(dir, 'broken.json'), '{"modelTopology": ');
    const cfg = join(dir, 'gw.yaml');
    writeFileSync(cfg, `gateway: { id: gw-vision, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false }
uplink: { url: "mqtt://127.0.0.1:${uplink}" }
api: { port: ${api} }
vision:
  profileDirs: [${join(repoRoot, 'device-profiles', 'cameras')}]
  detector: { workers: 1, model: { path: ./broken.json, classes: [person] } }
`);
    gw = new GatewayProcess(['run', '--config', cfg]).start();
    const line = await gw.waitForLog(/^detector unavailable/, 60_000);
    assert.match(String(line.msg), /broken\.json is not valid JSON/);
    const health = await waitFor('healthz', async () => (await fetch(`http://127.0.0.1:${api}/healthz`).catch(() => undefined))?.status === 200);
    assert.ok(health);
    assert.equal(gw.proc.exitCode, null);
  });
});
