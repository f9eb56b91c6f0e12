import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { GatewayConfig } from '../src/config/schema.js';
import { captureArgs, fileInput, probeTarget, urlInput, withoutCredentials } from '../src/southbound/cameras/capture-args.js';
import { classifyFfmpegLine, parseStreamInfo, short } from '../src/southbound/cameras/capture-problems.js';
import { addCamerasToConfig, cameraIdFor, configuredOnvifUrls, existingIds } from '../src/southbound/cameras/config-writer.js';
import { privacyRegions, overlaySvg } from '../src/southbound/cameras/evidence-draw.js';
import { FfmpegMissing, resolveFfmpeg } from '../src/southbound/cameras/ffmpeg.js';
import { footPoint, pointInPolygon, polygonMask, polygonSpans } from '../src/model/geometry.js';
import { MotionGate } from '../src/southbound/cameras/motion.js';
import { parseProbeMatches, probeMatchesMessage, probeMessage, scopeValue, tagText } from '../src/southbound/cameras/onvif/ws-discovery.js';
import { PrivacyMasker } from '../src/southbound/cameras/privacy.js';
import { retentionPlan } from '../src/southbound/cameras/retention.js';
import type { Point } from '../src/model/geometry.js';
import type { Frame } from '../src/southbound/cameras/types.js';
import { resolveZones } from '../src/southbound/cameras/zones.js';

const W = 128;
const H = 96;

/** A grey frame with optional filled rectangles (normalized x1,y1,x2,y2 → grey level) and noise. */
function frame(ts: number, rects: Array<[number, number, number, number, number]> = [], o: { base?: number; noise?: number; seed?: number } = {}): Frame {
  const data = Buffer.alloc(W * H * 3, o.base ?? 100);
  let seed = o.seed ?? 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  if (o.noise) for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, data[i]! + Math.round(rnd() * o.noise)));
  for (const [x1, y1, x2, y2, v] of rects) {
    for (let y = Math.floor(y1 * H); y < Math.floor(y2 * H); y++) data.fill(v, (y * W + Math.floor(x1 * W)) * 3, (y * W + Math.floor(x2 * W)) * 3);
  }
  return { cameraId: 'cam', seq: 0, ts, width: W, height: H, format: 'rgb24', data };
}

const gateCfg = { enabled: true, pixelThreshold: 20, minArea: 0.003, gridWidth: 32, periodicS: 60, masks: [] };

describe('motion gate', () => {
  test('a still scene with sensor noise is no motion; a moving object is, with its region', () => {
    const g = new MotionGate({ ...gateCfg, periodicS: 0 }, W, H);
    assert.equal(g.check(frame(0, [], { noise: 12, seed: 1 })).pass, undefined, 'first frame: nothing to compare, no periodic pass');
    for (let i = 1; i < 5; i++) {
      const d = g.check(frame(i * 1000, [], { noise: 12, seed: i + 1 }));
      assert.equal(d.motion.motion, false, `noise only, frame ${i}: score ${d.motion.score}`);
      assert.equal(d.pass, undefined);
    }
    const d = g.check(frame(5000, [[0.5, 0.5, 0.6, 0.75, 220]], { noise: 12, seed: 9 }));
    assert.equal(d.pass, 'motion');
    assert.ok(d.motion.score > 0.003);
    const r = d.motion.regions![0]!;
    assert.ok(r[0] <= 0.5 && r[2] >= 0.59 && r[1] <= 0.5 && r[3] >= 0.74, `region ${r} covers the object`);
    assert.ok(r[2] - r[0] < 0.2 && r[3] - r[1] < 0.35, `region ${r} is tight`);
  });

  test('a change of overall brightness (cloud, auto exposure) is not motion', () => {
    const g = new MotionGate({ ...gateCfg, periodicS: 0 }, W, H);
    g.check(frame(0, [[0.1, 0.1, 0.3, 0.3, 160]], { base: 100 }));
    const d = g.check(frame(1000, [[0.1, 0.1, 0.3, 0.3, 200]], { base: 140 }));
    assert.equal(d.motion.motion, false, `score ${d.motion.score}`);
  });

  test('masked areas are ignored', () => {
    const g = new MotionGate({ ...gateCfg, periodicS: 0, masks: [{ polygon: [[0.4, 0.4], [0.8, 0.4], [0.8, 0.9], [0.4, 0.9]] }] }, W, H);
    g.check(frame(0));
    assert.equal(g.check(frame(1000, [[0.5, 0.5, 0.7, 0.8, 250]])).motion.motion, false, 'inside the mask');
    assert.equal(g.check(frame(2000, [[0.05, 0.05, 0.2, 0.3, 250]])).motion.motion, true, 'outside the mask');
  });

  test('a still scene still reaches detection every periodicS, counted from the last frame detection really got', () => {
    const g = new MotionGate({ ...gateCfg, periodicS: 10 }, W, H);
    const first = g.check(frame(0));
    assert.equal(first.pass, 'periodic');
    g.notePassed(0);
    assert.equal(g.check(frame(5000)).pass, undefined);
    assert.equal(g.check(frame(10_000)).pass, 'periodic');
    // detection was busy: not noted, so the next still frame passes again
    assert.equal(g.check(frame(11_000)).pass, 'periodic');
    g.notePassed(11_000);
    assert.equal(g.check(frame(12_000)).pass, undefined);
  });

  test('motion.enabled false passes every frame', () => {
    const g = new MotionGate({ ...gateCfg, enabled: false, periodicS: 0 }, W, H);
    assert.equal(g.check(frame(0)).pass, 'motion');
    assert.equal(g.check(frame(1000)).pass, 'motion');
  });
});

describe('geometry and privacy masks', () => {
  const tri: Point[] = [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]];
  test('point in polygon and foot point', () => {
    assert.equal(pointInPolygon([0.5, 0.5], tri), true);
    assert.equal(pointInPolygon([0.1, 0.8], tri), false);
    assert.deepEqual(footPoint([0.2, 0.2, 0.4, 0.6]), [0.30000000000000004, 0.6]);
  });

  test('rasterized spans agree with point-in-polygon at pixel centres', () => {
    const mask = polygonMask([tri], 40, 30);
    for (let y = 0; y < 30; y++) for (let x = 0; x < 40; x++) assert.equal(mask[y * 40 + x] === 1, pointInPolygon([(x + 0.5) / 40, (y + 0.5) / 30], tri), `pixel ${x},${y}`);
    assert.equal(polygonSpans([], 40, 30).length, 0);
  });

  test('a privacy mask blanks exactly its area of the frame', () => {
    const f = frame(0, [], { base: 200 });
    const m = new PrivacyMasker([[[0, 0], [0.5, 0], [0.5, 0.5], [0, 0.5]]], W, H);
    m.apply(f);
    const px = (x: number, y: number) => f.data[(y * W + x) * 3]!;
    assert.equal(px(10, 10), 0);
    assert.equal(px(63, 47), 0);
    assert.equal(px(64, 10), 200);
    assert.equal(px(10, 48), 200);
  });
});

describe('zones', () => {
  const zones = [
    { id: 'gate', polygon: [[0, 0], [1, 0], [1, 1]] as Point[], rules: ['no-vending'] },
    { id: 'kerb', polygon: [[0, 0], [1, 0], [1, 1]] as Point[], rules: ['no-parking'], location: { lat: 31.3, lon: 121.6 } },
    { id: 'site', polygon: [[0, 0], [1, 0], [1, 1]] as Point[], rules: ['construction-site'], gridId: '31011500301299' },
  ];
  test('grid: own, else looked up from the zone position, else the camera’s, else the gateway’s', () => {
    const lookup = (l: { lat: number }) => (l.lat > 31.25 ? '31011500301277' : undefined);
    const r = resolveZones(zones, { id: 'c', location: { lat: 31.2, lon: 121.5 } }, { gridId: '31011500301201' }, lookup);
    assert.deepEqual(
      r.map((z) => [z.id, z.gridId]),
      [['gate', '31011500301201'], ['kerb', '31011500301277'], ['site', '31011500301299']],
    );
    assert.deepEqual(r[0]!.location, { lat: 31.2, lon: 121.5 }, 'the camera’s location');
    assert.deepEqual(r[1]!.location, { lat: 31.3, lon: 121.6 }, 'the zone’s own');
    const r2 = resolveZones(zones.slice(0, 1), { id: 'c', gridId: '31011500301288' }, { gridId: '31011500301201', location: { lat: 1, lon: 2 } });
    assert.equal(r2[0]!.gridId, '31011500301288');
  });
});

describe('camera config', () => {
  const base = { gateway: { id: 'gw', location: { lat: 31.2, lon: 121.5 } }, uplink: { url: 'mqtt://127.0.0.1' } };
  test('defaults: 1 fps, 512×512, motion gate on, backoff capped at 60 s', () => {
    const c = GatewayConfig.parse({ ...base, gateway: { ...base.gateway, gridId: '31011500301201' }, cameras: [{ id: 'cam-1', source: { kind: 'rtsp', url: 'rtsp://10.0.0.5/s1' } }] });
    const cam = c.cameras[0]!;
    assert.equal(cam.fps, 1);
    assert.deepEqual(cam.input, { width: 512, height: 512 });
    assert.equal(cam.motion.enabled, true);
    assert.equal(cam.capture.reconnect.maxMs, 60000);
    assert.equal(c.video.evidence.maxMb, 2048);
  });

  test('problems: duplicate ids, an id shared with a device, no grid, a bad URL, a backoff cap over 60 s', () => {
    const r = GatewayConfig.safeParse({
      ...base,
      devices: [{ id: 'cam-1', profile: 'x', gridId: '31011500301201' }],
      cameras: [
        { id: 'cam-1', gridId: '31011500301201', source: { kind: 'rtsp', url: 'rtsp://10.0.0.5/s1' } },
        { id: 'cam-2', source: { kind: 'rtsp', url: 'rtsp://10.0.0.6/s1' } },
        { id: 'cam-2', gridId: '31011500301201', source: { kind: 'rtsp', url: 'http://wrong' } },
      ],
    });
    assert.equal(r.success, false);
    const msgs = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(msgs.some((m) => /cameras.2.source.url: an RTSP URL/.test(m)), msgs.join('\n'));
    const r2 = GatewayConfig.safeParse({
      ...base,
      devices: [{ id: 'cam-1', profile: 'x', gridId: '31011500301201' }],
      cameras: [
        { id: 'cam-1', gridId: '31011500301201', source: { kind: 'rtsp', url: 'rtsp://10.0.0.5/s1' } },
        { id: 'cam-2', source: { kind: 'onvif', url: 'http://10.0.0.6/onvif/device_service' } },
        { id: 'cam-2', gridId: '31011500301201', source: { kind: 'file', path: 'x.avi' }, capture: { reconnect: { maxMs: 120000 } } },
      ],
    });
    const msgs2 = r2.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(msgs2.some((m) => /maxMs/.test(m)), msgs2.join('\n'));
    const r3 = GatewayConfig.safeParse({
      ...base,
      devices: [{ id: 'cam-1', profile: 'x', gridId: '31011500301201' }],
      cameras: [
        { id: 'cam-1', gridId: '31011500301201', source: { kind: 'rtsp', url: 'rtsp://10.0.0.5/s1' } },
        { id: 'cam-2', source: { kind: 'onvif', url: 'http://10.0.0.6/onvif/device_service' } },
        { id: 'cam-2', gridId: '31011500301201', source: { kind: 'file', path: 'x.avi' } },
      ],
    });
    const msgs3 = r3.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(msgs3.some((m) => m === 'cameras.0.id: "cam-1" is also a device id; camera and device ids share the availability topics'), msgs3.join('\n'));
    assert.ok(msgs3.some((m) => m === 'cameras.1: the camera has no gridId and no location, and gateway.gridId is not set'), msgs3.join('\n'));
    assert.ok(msgs3.some((m) => m === 'cameras.2.id: camera id "cam-2" is already used by cameras[1]'), msgs3.join('\n'));
  });
});

describe('ffmpeg command line and its messages', () => {
  const ff = { fpsMode: true, rtspTimeoutOption: '-timeout' as const };
  test('RTSP over TCP, video only, one decoder thread, frames selected by stream time then scaled, raw RGB to stdout', () => {
    const input = urlInput('rtsp://10.0.0.5:8554/live/ch1', 'admin', 'p@ss:w/rd', ff);
    assert.equal(input.display, 'rtsp://10.0.0.5:8554/live/ch1');
    assert.deepEqual(input.probe, { host: '10.0.0.5', port: 8554 });
    const args = captureArgs(input, { width: 512, height: 512, fps: 1, decode: 'all' }, ff);
    const i = args.indexOf('-i');
    assert.equal(args[i + 1], 'rtsp://admin:p%40ss%3Aw%2Frd@10.0.0.5:8554/live/ch1', 'credentials percent-encoded into the URL');
    assert.deepEqual(args.slice(args.indexOf('-rtsp_transport'), args.indexOf('-rtsp_transport') + 2), ['-rtsp_transport', 'tcp']);
    assert.ok(args.indexOf('-threads') < i && args.includes('-allowed_media_types'));
    assert.match(args[args.indexOf('-vf') + 1]!, /^select='isnan\(prev_selected_t\)\+gte\(abs\(t-prev_selected_t\),0\.9500\)',scale=512:512/);
    assert.deepEqual(args.slice(-5), ['-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1']);
    assert.ok(!captureArgs(input, { width: 512, height: 512, fps: 1, decode: 'all' }, ff).includes('-skip_frame'));
    assert.ok(captureArgs(input, { width: 512, height: 512, fps: 1, decode: 'keyframes' }, ff).includes('nokey'));
    assert.ok(captureArgs(input, { width: 64, height: 64, fps: 2, decode: 'all' }, { fpsMode: false }).includes('-vsync'), 'ffmpeg < 5.1');
    assert.deepEqual(probeTarget('rtsp://cam.local/x'), { host: 'cam.local', port: 554 });
    assert.equal(withoutCredentials('rtsp://u:p@h/x'), 'rtsp://h/x');
    assert.deepEqual(fileInput('/v.avi', true).args, ['-re', '-stream_loop', '-1', '-i', '/v.avi']);
    assert.equal(urlInput('rtsp://h/x', undefined, undefined, { rtspTimeoutOption: '-stimeout' }).args.includes('-stimeout'), true, 'ffmpeg 4.x');
  });

  test('with credentials, ffmpeg 5+ gets the address on a pipe (a concat script), never in its arguments', () => {
    const pipe = { ...ff, urlOnPipe: true };
    const input = urlInput("rtsp://10.0.0.5:8554/live/it's", 'admin', 'p@ss:w/rd', pipe);
    const args = captureArgs(input, { width: 512, height: 512, fps: 1, decode: 'all' }, pipe);
    assert.ok(!args.join(' ').includes('admin') && !args.join(' ').includes('p%40ss'), args.join(' '));
    assert.deepEqual(args.slice(args.indexOf('-f'), args.indexOf('-i') + 2), ['-f', 'concat', '-safe', '0', '-analyzeduration', '1000000', '-probesize', '1000000', '-i', 'pipe:3']);
    assert.equal(args[args.indexOf('-protocol_whitelist') + 1], 'pipe,rtsp,rtsps,rtp,srtp,udp,tcp,tls,http,https,httpproxy', 'no file: protocol');
    assert.equal(
      input.script,
      "ffconcat version 1.0\nfile 'rtsp://admin:p%40ss%3Aw%2Frd@10.0.0.5:8554/live/it'\\''s'\noption rtsp_transport tcp\noption allowed_media_types video\noption timeout 10000000\noption analyzeduration 1000000\noption probesize 1000000\n",
    );
    assert.equal(input.display, "rtsp://10.0.0.5:8554/live/it's");
    const http = urlInput('http://10.0.0.6/video.mjpg', 'op', 'pw', pipe);
    assert.match(http.script!, /^file 'http:\/\/op:pw@10\.0\.0\.6\/video\.mjpg'\noption rw_timeout 10000000\noption use_wallclock_as_timestamps 1\n/m);
    // Nothing secret: the address stays in the arguments, as ffmpeg < 5 always needs it.
    assert.deepEqual(urlInput('rtsp://10.0.0.5/x', undefined, undefined, pipe).args.slice(-2), ['-i', 'rtsp://10.0.0.5/x']);
    assert.equal(urlInput('rtsp://10.0.0.5/x', undefined, undefined, pipe).script, undefined);
  });

  test('lines ffmpeg 5.1 printed against the test server are classified', () => {
    const cases: Array<[string, string | undefined]> = [
      ['[rtsp @ 0x560d8d7859c0] [error] method DESCRIBE failed: 401 Unauthorized', 'auth-failed'],
      ['[error] rtsp://127.0.0.1:43055/stream: Server returned 401 Unauthorized (authorization failed)', 'auth-failed'],
      ['[rtsp @ 0x564c6c3dd9c0] [error] method DESCRIBE failed: 404 Not Found', 'not-found'],
      ['[tcp @ 0x561d74ea5880] [error] Connection to tcp://127.0.0.1:1?timeout=5000000 failed: Connection refused', 'unreachable'],
      ['[h264 @ 0x558bdd1f1840] [error] P sub_mb_type 12 out of range at 19 0', 'corrupt-data'],
      ['[h264 @ 0x558bdd1f1840] [error] error while decoding MB 19 0', 'corrupt-data'],
      ['[warning] rtsp://127.0.0.1:37759/stream: corrupt decoded frame in stream 0', 'corrupt-data'],
      ['[error] /x/missing.avi: No such file or directory', 'not-found'],
      ['[error] av_interleaved_write_frame(): Immediate exit requested', undefined],
      ['[info]   Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(tv, smpte170m, progressive), 640x480 [SAR 1:1 DAR 4:3], 10 fps, 10 tbr, 90k tbn', undefined],
      ['[error] something nobody expected', 'error'],
    ];
    for (const [line, kind] of cases) assert.equal(classifyFfmpegLine(line), kind, line);
    assert.deepEqual(parseStreamInfo(cases[9]![0]), { codec: 'h264', width: 640, height: 480, fps: 10 });
    assert.equal(short('[tcp @ 0x5] [error] Connection to tcp://admin:secret@10.0.0.5:554 failed'), 'Connection to tcp://10.0.0.5:554 failed', 'no credentials in a detail');
  });

  test('ffmpeg is resolved in order: config, FFMPEG_PATH, ffmpeg-static, PATH; a broken explicit choice and a missing ffmpeg are clear errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-ff-'));
    const fake = (name: string, version: string) => {
      const p = join(dir, name);
      writeFileSync(p, `#!/bin/sh\necho "ffmpeg version ${version} Copyright (c) 2000-2022 the FFmpeg developers"\n`);
      chmodSync(p, 0o755);
      return p;
    };
    const four = fake('ffmpeg4', '4.4.2-0ubuntu0.22.04.1');
    const seven = fake('ffmpeg7', 'n7.1');
    mkdtempSync(join(dir, 'p'));
    const pathDir = mkdtempSync(join(dir, 'bin-'));
    writeFileSync(join(pathDir, 'ffmpeg'), `#!/bin/sh\necho "ffmpeg version 5.1.6-0+deb12u1"\n`);
    chmodSync(join(pathDir, 'ffmpeg'), 0o755);
    const none = async () => undefined;
    const c = await resolveFfmpeg({ configured: four, env: { FFMPEG_PATH: seven, PATH: pathDir }, staticPath: none });
    assert.deepEqual([c.via, c.fpsMode, c.rtspTimeoutOption], ['config', false, '-stimeout']);
    const e = await resolveFfmpeg({ env: { FFMPEG_PATH: seven, PATH: pathDir }, staticPath: none });
    assert.deepEqual([e.via, e.version, e.fpsMode, e.rtspTimeoutOption], ['FFMPEG_PATH', 'n7.1', true, '-timeout']);
    const s = await resolveFfmpeg({ env: { PATH: pathDir }, staticPath: async () => four });
    assert.equal(s.via, 'ffmpeg-static');
    const p = await resolveFfmpeg({ env: { PATH: pathDir }, staticPath: none });
    assert.deepEqual([p.via, p.version], ['PATH', '5.1.6-0+deb12u1']);
    await assert.rejects(resolveFfmpeg({ configured: join(dir, 'nope'), env: { PATH: pathDir }, staticPath: none }), (err: Error) => {
      assert.ok(err instanceof FfmpegMissing);
      assert.match(err.message, /video\.ffmpegPath .*nope.* does not run: no such file/);
      return true;
    });
    await assert.rejects(resolveFfmpeg({ env: { PATH: join(dir, 'p') }, staticPath: none }), (err: Error) => {
      assert.match(err.message, /^ffmpeg not found .*ffmpeg-static \(not installed\).*apt-get install ffmpeg.*video\.ffmpegPath.*FFMPEG_PATH/);
      return true;
    });
  });
});

describe('WS-Discovery messages', () => {
  test('a ProbeMatches answer is read only when it relates to our probe', () => {
    const probe = probeMessage('urn:uuid:1');
    assert.equal(tagText(probe, 'Types'), 'dn:NetworkVideoTransmitter');
    const reply = probeMatchesMessage('urn:uuid:1', {
      endpoint: 'urn:uuid:cam',
      xaddrs: ['http://192.168.1.64/onvif/device_service', 'http://[fe80::1]/onvif/device_service'],
      scopes: ['onvif://www.onvif.org/name/Front%20Gate', 'onvif://www.onvif.org/hardware/DS-2CD'],
    });
    const m = parseProbeMatches(reply, 'urn:uuid:1', '192.168.1.64');
    assert.equal(m.length, 1);
    assert.equal(m[0]!.endpoint, 'urn:uuid:cam');
    assert.equal(m[0]!.xaddrs.length, 2);
    assert.equal(scopeValue(m[0]!.scopes, 'name'), 'Front Gate');
    assert.deepEqual(parseProbeMatches(reply, 'urn:uuid:other', '192.168.1.64'), []);
  });
});

describe('discovery writes the config', () => {
  const text = `# Cabinet at the hospital gate
gateway:
  id: gw-1   # topic id
  gridId: "31011500301201"
devices:
  - id: cam-vc-1-vc0001   # a device that happens to have the id a camera would get
    profile: generic-json-hydrant
cameras: []
`;
  test('entries are appended with unique ids; comments and the rest of the file stay', () => {
    const taken = existingIds(text);
    const id = cameraIdFor({ model: 'VC-1', serial: 'VC0001', xaddr: 'http://10.0.0.9/onvif/device_service' }, taken);
    assert.equal(id, 'cam-vc-1-vc0001-2');
    const out = addCamerasToConfig(text, [{ id, name: 'GridGate VC-1', source: { kind: 'onvif', url: 'http://10.0.0.9/onvif/device_service', username: 'admin', password: '${CAM_PW}', profile: 'main' } }]);
    assert.ok(out.startsWith('# Cabinet at the hospital gate\ngateway:\n  id: gw-1 # topic id\n'), out);
    assert.match(out, /# a device that happens to have the id a camera would get/);
    const doc = parseDocument(out).toJS() as { cameras: Array<{ id: string; source: { password: string } }> };
    assert.equal(doc.cameras[0]!.id, 'cam-vc-1-vc0001-2');
    assert.equal(doc.cameras[0]!.source.password, '${CAM_PW}', 'the secret stays a reference');
    assert.deepEqual([...configuredOnvifUrls(out)], ['http://10.0.0.9/onvif/device_service']);
    const noList = addCamerasToConfig('gateway: { id: gw }\n', [{ id: 'cam-a', source: { kind: 'onvif', url: 'http://h/x' } }]);
    assert.match(noList, /^cameras:\n {2}- id: cam-a\n/m);
  });
});

describe('evidence helpers', () => {
  test('blur regions: the head of a person, the plate area of a vehicle, nothing for other labels', () => {
    const r = privacyRegions(
      [
        { box: [0.2, 0.2, 0.4, 0.8], label: 'person' },
        { box: [0.5, 0.5, 0.9, 0.9], label: 'car' },
        { box: [0, 0, 0.1, 0.1], label: 'umbrella' },
      ],
      { faces: true, plates: true },
    );
    assert.equal(r.length, 2);
    const [head, plate] = r as unknown as [number[], number[]];
    assert.ok(head[1]! <= 0.2 && head[3]! < 0.4 && head[0]! < 0.2 && head[2]! > 0.4, `head ${head}`);
    assert.ok(plate[1]! > 0.7 && plate[3] === 0.9, `plate ${plate}`);
    assert.deepEqual(privacyRegions([{ box: [0.2, 0.2, 0.4, 0.8], label: 'person' }], { faces: false, plates: true }), []);
  });

  test('the overlay escapes labels', () => {
    assert.match(overlaySvg(100, 100, { objects: [{ box: [0, 0, 0.5, 0.5], label: '<script>' }], zones: [], caption: 'a&b' }), /&#60;script&#62;.*a&#38;b/s);
  });

  test('retention: past the age limit, then the oldest until under the quota', () => {
    const day = 86400_000;
    const now = 100 * day;
    const files = [
      { path: 'a', size: 10, mtimeMs: now - 40 * day },
      { path: 'b', size: 10, mtimeMs: now - 3 * day },
      { path: 'c', size: 10, mtimeMs: now - 2 * day },
      { path: 'd', size: 10, mtimeMs: now - 1 * day },
    ];
    assert.deepEqual(retentionPlan(files, now, { maxAgeMs: 30 * day, maxBytes: 1000 }).map((f) => f.path), ['a']);
    assert.deepEqual(retentionPlan(files, now, { maxAgeMs: 30 * day, maxBytes: 20 }).map((f) => f.path), ['a', 'b']);
    assert.deepEqual(retentionPlan(files, now, { maxAgeMs: 1000 * day, maxBytes: 40 }), []);
  });
});
