// bench:cameras — N cameras from the RTSP test server at 1 fps into the motion gate (detector off):
// CPU per camera (ffmpeg + this process) and memory, for N = 1, 4, 8. Reference in the same run: a bare
// `ffmpeg -f null` decoding the same stream (the floor of any capture that decodes every frame).
// Usage: npm run bench:cameras [-- --seconds 20 --counts 1,4,8]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { CameraConfig, VideoConfig } from '../src/southbound/cameras/config.js';
import { resolveFfmpeg } from '../src/southbound/cameras/ffmpeg.js';
import { CameraStage } from '../src/southbound/cameras/stage.js';
import { RtspServer } from '../fakes/virtual-camera/rtsp-server.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const SECONDS = Number(opt('seconds', '20'));
const COUNTS = opt('counts', '1,4,8').split(',').map(Number);
const SLICES = 4;
const WARMUP_S = 4;
const TICK_HZ = 100; // USER_HZ on Linux

interface ProcStat {
  ticks: number;
  rssKb: number;
  /** Proportional set size: shared library pages split among the processes that map them. */
  pssKb: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    let pss: string | undefined;
    try {
      pss = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
    } catch {
      /* older kernels: no rollup */
    }
    return { ticks: Number(f[11]) + Number(f[12]), rssKb: Number(rss ?? 0), pssKb: Number(pss ?? rss ?? 0) };
  } catch {
    return undefined;
  }
}

function childrenNamed(comm: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => {
      try {
        const s = readFileSync(`/proc/${p}/stat`, 'utf8');
        const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
        return name === comm && Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** CPU share (of one core) of this process plus the given child pids, sampled in SLICES windows. */
async function measure(pids: () => number[], seconds: number): Promise<{ cpu: number[]; ownCpu: number[]; rssMb: number; childRssMb: number; childPssMb: number }> {
  const cpu: number[] = [];
  const ownCpu: number[] = [];
  const slice = (seconds * 1000) / SLICES;
  for (let i = 0; i < SLICES; i++) {
    const ps = pids();
    const before = new Map(ps.map((p) => [p, procStat(p)?.ticks ?? 0]));
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(slice);
    const wall = performance.now() - t0;
    const own = process.cpuUsage(own0);
    let childMs = 0;
    for (const p of ps) {
      const s = procStat(p);
      if (s) childMs += ((s.ticks - before.get(p)!) * 1000) / TICK_HZ;
    }
    const ownMs = (own.user + own.system) / 1000;
    cpu.push((childMs + ownMs) / wall);
    ownCpu.push(ownMs / wall);
  }
  const stats = pids().map((p) => procStat(p));
  const sum = (k: 'rssKb' | 'pssKb') => stats.reduce((s, x) => s + (x?.[k] ?? 0), 0) / 1024;
  return { cpu, ownCpu, rssMb: process.memoryUsage().rss / 1048576, childRssMb: sum('rssKb'), childPssMb: sum('pssKb') };
}

async function main(): Promise<void> {
  const video = join(repoRoot, 'test-artifacts', 'media', 'vtest.avi');
  if (!existsSync(video)) throw new Error(`${video} is missing: run .ci/fetch-test-media.sh`);
  const ffmpeg = await resolveFfmpeg();
  const server = new RtspServer({ video, width: 640, height: 480, fps: 10, maxSeconds: 30 });
  const info = await server.start();
  const serverPid = server.proc!.pid!;
  process.stdout.write(`bench:cameras — RTSP test server: vtest.avi as H.264 ${info.width}×${info.height} @ ${info.fps} fps (GOP 2 s); ffmpeg ${ffmpeg.version} (${ffmpeg.via}); ${SECONDS} s per run, ${SLICES} slices, median\n`);
  process.stdout.write(`machine: ${(await import('node:os')).cpus().length} cores, load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on the machine inflates the figures)\n\n`);

  // Reference: ffmpeg decoding every frame of one stream and throwing it away.
  const ref: ChildProcess = spawn(ffmpeg.path, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-threads', '1', '-rtsp_transport', 'tcp', '-i', server.url, '-an', '-f', 'null', '-'], { stdio: 'ignore' });
  await sleep(WARMUP_S * 1000);
  const r = await measure(() => [ref.pid!], SECONDS);
  ref.kill('SIGKILL');
  await new Promise((res) => ref.once('close', res));
  const refOwn = median(r.ownCpu);
  const refCpu = median(r.cpu) - refOwn; // the reference is ffmpeg alone
  process.stdout.write(`reference  bare ffmpeg decode of 1 stream (-f null):           ${(refCpu * 100).toFixed(2)} % of a core\n\n`);

  const rows: string[] = [];
  for (const decode of ['all', 'keyframes'] as const) {
    for (const n of COUNTS) {
      const video = VideoConfig.parse({});
      const stage = new CameraStage({
        gateway: { id: 'bench', gridId: '31011500301201', location: { lat: 31.2, lon: 121.5 } },
        cameras: Array.from({ length: n }, (_, i) => CameraConfig.parse({ id: `cam-${i + 1}`, fps: 1, input: { width: 512, height: 512 }, capture: { decode }, source: { kind: 'rtsp', url: server.url } })),
        video: { ...video, evidence: { ...video.evidence, dir: mkdtempSync(join(tmpdir(), 'gg-bench-ev-')) } },
        setAvailability: () => {},
        log: pino({ level: 'warn' }),
        resolveFfmpeg: async () => ffmpeg,
      });
      const server0 = procStat(serverPid)?.ticks ?? 0;
      const t0 = performance.now();
      await stage.start();
      const online = Date.now() + 30_000;
      while ([...stage.cameras.values()].some((c) => !c.isOnline) && Date.now() < online) await sleep(200);
      await sleep(WARMUP_S * 1000);
      const frames0 = [...stage.cameras.values()].reduce((s, c) => s + c.counters.frames, 0);
      const m = await measure(() => childrenNamed('ffmpeg'), SECONDS);
      const frames = [...stage.cameras.values()].reduce((s, c) => s + c.counters.frames, 0) - frames0;
      const gated = [...stage.cameras.values()].reduce((s, c) => s + c.counters.motion + c.counters.periodic, 0);
      const serverCpu = (((procStat(serverPid)?.ticks ?? 0) - server0) * 1000) / TICK_HZ / (performance.now() - t0);
      await stage.stop();
      const perCam = median(m.cpu) / n;
      const row = `decode=${decode.padEnd(9)} N=${String(n).padStart(2)}  CPU per camera ${(perCam * 100).toFixed(2).padStart(5)} % of a core (x${(perCam / refCpu).toFixed(2)} the bare decode; node ${((median(m.ownCpu) / n) * 100).toFixed(2)} %)  RSS node ${m.rssMb.toFixed(0)} MB, ffmpeg ${(m.childRssMb / n).toFixed(0)} MB each (PSS ${(m.childPssMb / n).toFixed(0)} MB)  ${(frames / SECONDS / n).toFixed(2)} frames/s/camera, ${gated} gated  [RTSP server ${(serverCpu * 100).toFixed(1)} %]`;
      rows.push(row);
      process.stdout.write(`${row}\n`);
    }
  }
  await server.kill();
  process.stdout.write(`\ntarget: ≤ 5 % of one core per 1 fps 640×480 camera (capture + motion gate)\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench:cameras failed: ${e.stack}\n`);
  process.exit(1);
});
