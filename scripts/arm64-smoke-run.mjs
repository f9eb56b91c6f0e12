#!/usr/bin/env node
// The checks of scripts/arm64-smoke.sh, run by the host's node against a production bundle installed for
// linux/arm64 and an arm64 node (both run under qemu-user): the native modules load, the bundle (which carries
// no fakes) says `gridgate demo` is not in it, the demo comes up from a copy of the bundle with the checkout's
// compiled fakes laid over it (test fixtures, pure JavaScript) and raises its first alarm, the image's health
// check passes, and the detector finds the pedestrians in a real frame. Prints the figures (start-up, ms per
// frame, peak RSS) and exits 1 naming the first check that failed.
//   node scripts/arm64-smoke-run.mjs --node ARM64_NODE --bundle DIR --fakes gateway/dist/fakes --work DIR --video vtest.avi --scene SCENE.yaml [--frames N]
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/** Process groups started here (each command leads its own), killed whole when a check fails. */
const groups = new Set();
function fail(msg) {
  console.error(`arm64-smoke: FAIL: ${msg}`);
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
  process.exit(1);
}
// The caller's timeout (scripts/arm64-smoke.sh) ends this with SIGTERM: take the process groups along.
for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => fail(`${sig}: stopped from outside`));
const { values: o } = parseArgs({
  options: { node: { type: 'string' }, bundle: { type: 'string' }, fakes: { type: 'string' }, work: { type: 'string' }, video: { type: 'string' }, scene: { type: 'string' }, frames: { type: 'string', default: '5' } },
});
for (const k of ['node', 'bundle', 'fakes', 'work', 'video', 'scene']) if (!o[k]) fail(`--${k} is missing (usage: see the head of scripts/arm64-smoke-run.mjs)`);
const frames = Number(o.frames);
if (!(Number.isInteger(frames) && frames >= 1 && frames <= 100)) fail(`--frames: "${o.frames}" is not a whole number from 1 to 100`);

const cli = join(o.bundle, 'gateway', 'dist', 'src', 'cli', 'main.js');
const home = join(o.work, 'home');
mkdirSync(home, { recursive: true });
// What the image sets (docker/Dockerfile), not this shell's environment. TMPDIR: the demo's state goes
// under the work folder, which the caller removes.
const env = {
  PATH: process.env.PATH,
  HOME: home,
  TMPDIR: o.work,
  NODE_ENV: 'production',
  GRIDGATE_HOME: o.bundle,
  GRIDGATE_DATA_DIR: join(o.work, 'data'),
  GRIDGATE_PROFILES_DIR: join(o.bundle, 'device-profiles'),
  GRIDGATE_RUN_DIR: join(o.work, 'run'),
  NODE_OPTIONS: '--max-semi-space-size=4',
  MALLOC_ARENA_MAX: '2',
};
const figures = {};
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
const mib = (kb) => `${(kb / 1024).toFixed(0)} MiB`;

const say = (msg) => console.log(`arm64-smoke: ${msg}`);

/** Peak resident set of a process so far (kB), read from /proc: under qemu-user it includes the emulator's code cache. */
const peakRss = (pid) => {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};

/** Runs the arm64 node with ARGS, bounded by limitMs; resolves with its exit, output, wall time and peak RSS. */
function runNode(args, limitMs, extraEnv = {}) {
  const started = performance.now();
  const p = spawn(o.node, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  groups.add(p.pid);
  let stdout = '';
  let stderr = '';
  let rss = 0;
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
  const sample = setInterval(() => (rss = Math.max(rss, peakRss(p.pid))), 250);
  const kill = setTimeout(() => process.kill(-p.pid, 'SIGKILL'), limitMs);
  return new Promise((res) => {
    p.once('error', (e) => res({ code: null, stdout, stderr: `${stderr}${e.message}`, ms: 0, rss }));
    p.once('exit', (code, signal) => {
      clearInterval(sample);
      clearTimeout(kill);
      groups.delete(p.pid);
      res({ code: code ?? signal, stdout, stderr, ms: performance.now() - started, rss, timedOut: signal === 'SIGKILL' });
    });
  });
}

const freePort = () =>
  new Promise((res, rej) => {
    const srv = createServer().once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });

async function until(what, limitMs, check, everyMs = 250) {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) fail(`${what}: not within ${s(limitMs)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// 1. The runtime and the native modules of the bundle, as built or fetched for arm64.
{
  const probe = `
    const { createRequire } = require('node:module');
    const req = createRequire(${JSON.stringify(join(o.bundle, 'gateway', 'package.json'))});
    const db = new (req('better-sqlite3'))(':memory:');
    const sqlite = db.prepare('select sqlite_version() as v').get().v;
    req('sharp')({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).jpeg().toBuffer()
      .then((jpeg) => console.log(JSON.stringify({ arch: process.arch, node: process.version, sqlite, sharpJpegBytes: jpeg.length, libvips: req('sharp').versions.vips })));`;
  const r = await runNode(['-e', probe], 120_000);
  if (r.code !== 0) fail(`the native modules do not load under the arm64 node (exit ${r.code}):\n${r.stderr}`);
  const v = JSON.parse(r.stdout);
  if (v.arch !== 'arm64') fail(`${o.node} reports process.arch ${v.arch}, not arm64`);
  if (!(v.sharpJpegBytes > 0)) fail('sharp produced no JPEG');
  say(`node ${v.node} (${v.arch}): better-sqlite3 (SQLite ${v.sqlite}) and sharp (libvips ${v.libvips}) load and work`);
}

// 2. The demo. The bundle carries no fakes: there `gridgate demo` says it is a development and lab command.
//    Then from a copy of the bundle (hard links) with the checkout's compiled fakes laid over it, production
//    code driving fake devices as the lab image runs it: up (its API answers /healthz), the first alarm end to
//    end, the image's health check, a clean stop on SIGTERM.
{
  if (existsSync(join(o.bundle, 'gateway', 'dist', 'fakes')) || existsSync(join(o.bundle, 'gateway', 'fakes'))) fail('the production bundle carries the fakes');
  const bare = await runNode([cli, 'demo', '--duration', '5'], 120_000);
  if (bare.code !== 1 || !/^gridgate: demo is a development and lab command .*not part of this production bundle/.test(bare.stderr)) {
    fail(`gridgate demo in the bundle (no fakes) should exit 1 saying it is not in the bundle; exit ${bare.code}:\n${bare.stdout}${bare.stderr}`);
  }
  say(`the bundle carries no fakes: gridgate demo there exits 1 saying so (${s(bare.ms)} under emulation)`);
  const lab = join(o.work, 'opt-gridgate-lab');
  const cp = spawnSync('cp', ['-al', o.bundle, lab], { encoding: 'utf8' });
  if (cp.status !== 0) fail(`cp -al ${o.bundle} ${lab}: ${cp.stderr}`);
  cpSync(o.fakes, join(lab, 'gateway', 'dist', 'fakes'), { recursive: true });
  const labCli = join(lab, 'gateway', 'dist', 'src', 'cli', 'main.js');

  const ports = { CENTRAL: await freePort(), BROKER: await freePort(), API: await freePort(), OPCUA: await freePort(), BRIDGE: await freePort() };
  const demoEnv = Object.fromEntries(Object.entries(ports).map(([k, v]) => [`GRIDGATE_DEMO_${k}_PORT`, String(v)]));
  const started = performance.now();
  // Its own process group: a failed check kills it with the cloud bridge it starts.
  const demo = spawn(o.node, [labCli, 'demo', '--duration', '600'], { env: { ...env, GRIDGATE_HOME: lab, GRIDGATE_PROFILES_DIR: join(lab, 'device-profiles'), ...demoEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  groups.add(demo.pid);
  let out = '';
  let exit;
  demo.stdout.on('data', (d) => (out += d));
  demo.stderr.on('data', (d) => (out += d));
  demo.once('exit', (code, signal) => (exit = code ?? signal));
  const tail = () => out.slice(-3000);
  const alive = () => exit === undefined || fail(`the demo exited (${exit}):\n${tail()}`);
  try {
    // The demo prints the API port it got (it takes another when the asked one is busy).
    const api = await until(`the demo's banner (output so far:\n${tail()})`, 300_000, () => alive() && out.match(/http:\/\/127\.0\.0\.1:(\d+)\/api\/v1\/status/)?.[1]);
    await until('GET /healthz answering 200', 60_000, () => alive() && fetch(`http://127.0.0.1:${api}/healthz`).then((r) => r.ok, () => false));
    figures.demoUpMs = performance.now() - started;
    say(`demo up in ${s(figures.demoUpMs)} (banner printed, /healthz 200)`);
    await until(`the demo's first alarm (output so far:\n${tail()})`, 120_000, () => alive() && /ALARM RAISED\s+hydrant-001/.test(out));
    figures.firstAlarmMs = performance.now() - started;
    say(`first alarm (hydrant-001 opened) on the central broker ${s(figures.firstAlarmMs)} after start`);
    const hc = await runNode([join(o.bundle, 'docker', 'healthcheck.mjs')], 60_000, { GRIDGATE_API_PORT: api });
    if (hc.code !== 0) fail(`docker/healthcheck.mjs failed (exit ${hc.code}): ${hc.stderr}`);
    if (JSON.parse(hc.stdout).gatewayId !== 'gw-demo-01') fail(`the health check answered for another gateway: ${hc.stdout}`);
    say(`docker/healthcheck.mjs passes (${s(hc.ms)} under emulation)`);
    figures.demoRssKb = peakRss(demo.pid);
  } finally {
    if (exit === undefined) demo.kill('SIGTERM');
  }
  await until('the demo to stop on SIGTERM', 60_000, () => exit !== undefined);
  groups.delete(demo.pid);
  if (exit !== 0) fail(`the demo exited with ${exit} on SIGTERM:\n${tail()}`);
  if (!/demo stopped: \d+ device messages simulated/.test(out)) fail(`the demo did not say it stopped:\n${tail()}`);
  say(`demo stopped cleanly on SIGTERM; peak RSS of the gateway process ${mib(figures.demoRssKb)}`);
}

// 3. Detection: one real street frame (JPEG), then N frames of the video through the whole vision pipeline.
{
  const jpeg = join(o.work, 'vtest-frame100.jpg');
  const ff = await new Promise((res) => {
    const p = spawn('ffmpeg', ['-v', 'error', '-y', '-i', o.video, '-vf', 'select=eq(n\\,100)', '-frames:v', '1', '-q:v', '3', jpeg], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.once('error', (e) => res(e.message));
    p.once('exit', (code) => res(code === 0 ? '' : err || `ffmpeg exit ${code}`));
  });
  if (ff) fail(`cannot cut a frame out of ${o.video}: ${ff}`);

  const img = await runNode([cli, 'detect', '--image', jpeg, '--workers', '1'], 600_000);
  if (img.code !== 0) fail(`gridgate detect --image failed (exit ${img.code}${img.timedOut ? ', timed out' : ''}):\n${img.stderr}`);
  const d = JSON.parse(img.stdout);
  const persons = d.detections.filter((x) => x.label === 'person').length;
  // The same frame as gateway/test/vision-detector.test.ts, which finds at least 4 pedestrians on x64.
  if (persons < 4) fail(`detect --image found ${persons} pedestrians in frame 100 of vtest.avi, expected at least 4: ${JSON.stringify(d.detections)}`);
  Object.assign(figures, { imageMs: img.ms, imageRssKb: img.rss, ...d.timing });
  say(`a frame detected (${d.backend} backend): ${d.detections.length} objects, ${persons} pedestrians; model load ${d.timing.modelLoadMs} ms, warm-up ${d.timing.warmupMs} ms, inference ${d.timing.inferMs} ms; whole command ${s(img.ms)}, peak RSS ${mib(img.rss)}`);

  const vid = await runNode([cli, 'detect', '--video', o.video, '--config', o.scene, '--fps', '1', '--max-frames', String(frames), '--workers', '1'], 600_000);
  if (vid.code !== 0) fail(`gridgate detect --video failed (exit ${vid.code}${vid.timedOut ? ', timed out' : ''}):\n${vid.stderr}`);
  const v = JSON.parse(vid.stdout);
  if (v.frames !== frames || v.detectionErrors) fail(`detect --video: ${v.frames} of ${frames} frames, ${v.detectionErrors} detection errors`);
  Object.assign(figures, { videoMsPerFrame: v.timing.msPerFrame, videoMedianInferMs: v.timing.medianInferMs, videoMs: vid.ms, videoRssKb: vid.rss });
  say(`${frames} video frame(s) through the vision pipeline: ${v.timing.msPerFrame} ms per frame (median inference ${v.timing.medianInferMs} ms), whole command ${s(vid.ms)}, peak RSS ${mib(vid.rss)}`);
}

console.log(`arm64-smoke: figures ${JSON.stringify(figures, (_, x) => (typeof x === 'number' ? Math.round(x) : x))}`);
