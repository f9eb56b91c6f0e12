import type { CameraSource } from './config.js';
import type { FfmpegInfo } from './ffmpeg.js';

/** How ffmpeg opens one camera's stream. */
export interface CaptureInput {
  /** ffmpeg input options ending with `-i <url>`. May hold credentials (ffmpeg < 5): never log them. */
  args: string[];
  /** What ffmpeg reads on its fd 3 (`-i pipe:3`): the stream address with its credentials. Never log it. */
  script?: string;
  /** The address without credentials, for logs and status. */
  display: string;
  /** Checked with a TCP connect before ffmpeg is started: a camera that is not there costs no process. */
  probe?: { host: string; port: number };
  /** A file played once: when it ends, the capture ends (no retry). */
  once?: boolean;
}

export interface OutputShape {
  width: number;
  height: number;
  fps: number;
  decode: 'all' | 'keyframes';
}

const DEFAULT_PORTS: Record<string, number> = { 'rtsp:': 554, 'rtsps:': 322, 'http:': 80, 'https:': 443 };
const IO_TIMEOUT_US = 10_000_000;

/** Puts credentials into a stream URL (ffmpeg takes them only there), percent-encoded. */
export function withCredentials(url: string, username?: string, password?: string): string {
  if (!username) return url;
  const u = new URL(url);
  u.username = encodeURIComponent(username);
  u.password = password ? encodeURIComponent(password) : '';
  return u.toString();
}

function hasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

/** The URL with any user name and password removed. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

export function probeTarget(url: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(url);
    const port = u.port ? Number(u.port) : DEFAULT_PORTS[u.protocol];
    return port ? { host: u.hostname.replace(/^\[|\]$/g, ''), port } : undefined;
  } catch {
    return undefined;
  }
}

/** The protocols a camera stream may use (and the pipe its address comes on); nothing else, no local files. */
const STREAM_PROTOCOLS = 'pipe,rtsp,rtsps,rtp,srtp,udp,tcp,tls,http,https,httpproxy';

/**
 * ffmpeg input options for a stream URL (rtsp/http) with its credentials. With credentials and an ffmpeg that
 * can (5.0+), the address and its options go in a concat script that ffmpeg reads from a pipe: anything in its
 * command line is readable by every local user (/proc/<pid>/cmdline).
 */
export function urlInput(url: string, username: string | undefined, password: string | undefined, ff: Pick<FfmpegInfo, 'rtspTimeoutOption'> & Partial<Pick<FfmpegInfo, 'urlOnPipe'>>): CaptureInput {
  const full = withCredentials(url, username, password);
  const display = withoutCredentials(url);
  const probe = probeTarget(url);
  // A short probe: RTSP describes the stream in its SDP, there is no need to read seconds of it first.
  const common = ['-analyzeduration', '1000000', '-probesize', '1000000'];
  const options = /^rtsps?:/i.test(url)
    ? // TCP (interleaved): no UDP ports to open through NAT or firewalls, no packet loss smearing frames;
      // video only: the camera does not even send its audio.
      ['-rtsp_transport', 'tcp', '-allowed_media_types', 'video', ff.rtspTimeoutOption, String(IO_TIMEOUT_US), ...common]
    : // MJPEG over HTTP carries no timestamps: stamp frames on arrival, so frames are taken by wall time.
      ['-rw_timeout', String(IO_TIMEOUT_US), '-use_wallclock_as_timestamps', '1', ...common];
  const where = { display, ...(probe && { probe }) };
  if (!ff.urlOnPipe || !hasCredentials(full)) return { args: [...options, '-i', full], ...where };
  return { args: ['-protocol_whitelist', STREAM_PROTOCOLS, '-f', 'concat', '-safe', '0', ...common, '-i', 'pipe:3'], script: concatScript(full, options), ...where };
}

/** A one-file concat script (ffmpeg 5.0+): the address quoted, the demuxer options as `option` lines. */
export function concatScript(url: string, options: string[]): string {
  const lines = ['ffconcat version 1.0', `file '${url.replaceAll("'", "'\\''")}'`];
  for (let i = 0; i < options.length; i += 2) lines.push(`option ${options[i]!.replace(/^-/, '')} ${options[i + 1]!}`);
  return `${lines.join('\n')}\n`;
}

/** ffmpeg input options for a video file played in real time (demos, tests). */
export function fileInput(path: string, loop: boolean): CaptureInput {
  return { args: ['-re', ...(loop ? ['-stream_loop', '-1'] : []), '-i', path], display: path, ...(!loop && { once: true }) };
}

/** Input options for a configured source that needs no lookup first (everything but ONVIF). */
export function directInput(source: Exclude<CameraSource, { kind: 'onvif' }>, ff: Pick<FfmpegInfo, 'rtspTimeoutOption' | 'urlOnPipe'>): CaptureInput {
  return source.kind === 'file' ? fileInput(source.path, source.loop) : urlInput(source.url, source.username, source.password, ff);
}

/**
 * The whole ffmpeg command line for one camera: decode with one thread, keep a frame every 1/fps seconds of
 * stream time (no burst of duplicates after a gap, unlike the fps filter), scale only the kept frames to the
 * detector's size and write them as raw RGB to stdout.
 */
export function captureArgs(input: CaptureInput, out: OutputShape, ff: Pick<FfmpegInfo, 'fpsMode'>): string[] {
  const interval = (0.95 / out.fps).toFixed(4); // a little under the period: jittered timestamps still give `fps`
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'level+info',
    '-threads',
    '1',
    ...(out.decode === 'keyframes' ? ['-skip_frame', 'nokey'] : []),
    ...input.args,
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-filter_threads',
    '1',
    '-vf',
    `select='isnan(prev_selected_t)+gte(abs(t-prev_selected_t),${interval})',scale=${out.width}:${out.height}:flags=bilinear`,
    ...(ff.fpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}
