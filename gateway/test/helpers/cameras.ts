import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

/**
 * ffmpeg processes anywhere with an established TCP connection to `port` (a test server's). Found by their
 * sockets, not their command line: a stream address with credentials is not there.
 */
export function ffmpegProcessesConnectedTo(port: number): number[] {
  const inodes = socketInodesTo(port);
  return pids().filter((p) => {
    if (readStat(p)?.comm !== 'ffmpeg') return false;
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      return false;
    }
    return fds.some((fd) => {
      try {
        return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/fd/${fd}`))?.[1] ?? '');
      } catch {
        return false; // closed meanwhile
      }
    });
  });
}

/** Inodes of this network namespace's established TCP sockets whose remote port is `port`. */
function socketInodesTo(port: number): Set<string> {
  const out = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '01' && parseInt(f[2]!.split(':')[1]!, 16) === port) out.add(f[9]!);
    }
  }
  return out;
}

/** True once a process has exited (no /proc entry, or a zombie nobody reaped yet). */
export function processGone(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/**
 * Whether the ffmpeg the cameras use can read a stream address from a pipe (5.0+: per-file options in concat
 * scripts). Read from its version, not from the gateway's own flag, so that a gateway that stopped using the
 * pipe fails the tests instead of skipping them.
 */
export async function ffmpegTakesUrlOnPipe(): Promise<boolean> {
  const { resolveFfmpeg } = await import('../../src/southbound/cameras/ffmpeg.js');
  const major = /^(\d+)\./.exec((await resolveFfmpeg()).version)?.[1];
  return major === undefined || Number(major) >= 5; // builds from git ("N-…") are new
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
