import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './shared.js';

/**
 * vtest.avi (OpenCV's CCTV sample from Debian's opencv-doc). Fetched by .ci/fetch-test-media.sh into the
 * git-ignored test-artifacts/media; fetched here on first use when absent, and a failure says how to get it.
 */
export function testVideo(): string {
  const path = join(repoRoot, 'test-artifacts', 'media', 'vtest.avi');
  if (existsSync(path)) return path;
  const r = spawnSync(join(repoRoot, '.ci', 'fetch-test-media.sh'), { encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(path)) {
    throw new Error(`test video ${path} is missing and .ci/fetch-test-media.sh failed (${r.status}): ${(r.stderr || r.stdout || '').slice(-500)}`);
  }
  return path;
}

function readStat(pid: number): { comm: string; ppid: number; ticks: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    // fields after comm: state ppid … utime(12) stime(13)
    return { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** ffmpeg processes started by this process (the leak counter of the fault tests). */
export function ffmpegChildren(parent = process.pid): number[] {
  return pids().filter((p) => {
    const s = readStat(p);
    return s?.ppid === parent && s.comm === 'ffmpeg';
  });
}

/** ffmpeg processes anywhere whose command line contains `marker` (e.g. the test server's port). */
export function ffmpegProcessesWith(marker: string): number[] {
  return pids().filter((p) => {
    if (readStat(p)?.comm !== 'ffmpeg') return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  });
}

/** CPU time (user + system) of a process in ms, from /proc; 0 when it is gone. */
export function cpuMsOf(pid: number): number {
  const s = readStat(pid);
  return s ? (s.ticks * 1000) / 100 : 0; // USER_HZ is 100 on Linux
}

/** Own CPU time in ms (this process, all threads). */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
