import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The ffmpeg the cameras use, and what its version supports. */
export interface FfmpegInfo {
  path: string;
  via: 'config' | 'FFMPEG_PATH' | 'ffmpeg-static' | 'PATH';
  version: string;
  /** -fps_mode (5.1+); older builds take -vsync. */
  fpsMode: boolean;
  /** RTSP socket timeout option: -timeout (5.0+) or -stimeout (4.x, where -timeout means listen). */
  rtspTimeoutOption: '-timeout' | '-stimeout';
  /**
   * Takes a stream address with its options from a pipe (a concat script with per-file `option` lines, 5.0+),
   * so that camera credentials stay out of its command line, which every local user can read.
   */
  urlOnPipe: boolean;
}

export class FfmpegMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FfmpegMissing';
  }
}

export const FFMPEG_HELP =
  'install ffmpeg (Debian/Raspberry Pi OS: apt-get install ffmpeg), or set video.ffmpegPath in the gateway config or FFMPEG_PATH to an ffmpeg binary';

interface Candidate {
  path: string;
  via: FfmpegInfo['via'];
  /** An explicit choice that does not work is an error, never silently replaced by the next candidate. */
  explicit: boolean;
}

/**
 * Finds ffmpeg, in order: the config's video.ffmpegPath, $FFMPEG_PATH, the ffmpeg-static package (an
 * optionalDependency whose binary download fails on offline machines), `ffmpeg` on PATH. Runs `-version` to
 * be sure it works and to learn which options it takes.
 */
export async function resolveFfmpeg(o: { configured?: string | undefined; env?: NodeJS.ProcessEnv; staticPath?: () => Promise<string | undefined> } = {}): Promise<FfmpegInfo> {
  const env = o.env ?? process.env;
  const candidates: Candidate[] = [];
  if (o.configured) candidates.push({ path: o.configured, via: 'config', explicit: true });
  if (env.FFMPEG_PATH) candidates.push({ path: env.FFMPEG_PATH, via: 'FFMPEG_PATH', explicit: true });
  const tried: string[] = [];
  for (const c of candidates) {
    const v = await versionOf(c.path);
    if (v.ok) return info(c, v.version);
    throw new FfmpegMissing(`ffmpeg from ${c.via === 'config' ? 'video.ffmpegPath' : '$FFMPEG_PATH'} (${c.path}) does not run: ${v.error}; ${FFMPEG_HELP}`);
  }
  const fromStatic = await (o.staticPath ?? ffmpegStaticPath)();
  if (fromStatic) {
    const v = await versionOf(fromStatic);
    if (v.ok) return info({ path: fromStatic, via: 'ffmpeg-static', explicit: false }, v.version);
    tried.push(`ffmpeg-static (${fromStatic}: ${v.error})`);
  } else tried.push('ffmpeg-static (not installed)');
  const onPath = findOnPath('ffmpeg', env.PATH ?? '');
  if (onPath) {
    const v = await versionOf(onPath);
    if (v.ok) return info({ path: onPath, via: 'PATH', explicit: false }, v.version);
    tried.push(`${onPath} (${v.error})`);
  } else tried.push('ffmpeg on PATH (none)');
  throw new FfmpegMissing(`ffmpeg not found (tried video.ffmpegPath and $FFMPEG_PATH: not set; ${tried.join('; ')}): ${FFMPEG_HELP}`);
}

function info(c: Candidate, version: string): FfmpegInfo {
  const m = /^(\d+)\.(\d+)/.exec(version);
  // Builds from git ("N-12345-g…") are recent.
  const [major, minor] = m ? [Number(m[1]), Number(m[2])] : [99, 0];
  return { path: c.path, via: c.via, version, fpsMode: major > 5 || (major === 5 && minor >= 1), rtspTimeoutOption: major >= 5 ? '-timeout' : '-stimeout', urlOnPipe: major >= 5 };
}

/** The version word of `ffmpeg -version`'s first line ("ffmpeg version 5.1.6-0+deb12u1 Copyright …"). */
export function parseFfmpegVersion(text: string): string | undefined {
  return /ffmpeg version (\S+)/.exec(text)?.[1];
}

function versionOf(path: string): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  return new Promise((res) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) return res({ ok: false, error: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : err.message.split('\n')[0]! });
      const version = parseFfmpegVersion(stdout);
      res(version ? { ok: true, version } : { ok: false, error: 'it does not say it is ffmpeg' });
    });
  });
}

async function ffmpegStaticPath(): Promise<string | undefined> {
  const name = 'ffmpeg-static'; // a variable: the package is optional and may be absent at build time
  try {
    const mod = (await import(name)) as { default?: unknown };
    return typeof mod.default === 'string' ? mod.default : undefined;
  } catch {
    return undefined;
  }
}

function findOnPath(cmd: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}
