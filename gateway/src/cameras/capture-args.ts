import type { CameraSource } from './config.js';
import type { FfmpegInfo } from './ffmpeg.js';

/** How ffmpeg opens one camera's stream. */
export interface CaptureInput {
  /** ffmpeg input options ending with `-i <url>`. May hold credentials: never log them. */
  args: string[];
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

/** ffmpeg input options for a stream URL (rtsp/http) with its credentials. */
export function urlInput(url: string, username: string | undefined, password: string | undefined, ff: Pick<FfmpegInfo, 'rtspTimeoutOption'>): CaptureInput {
  const full = withCredentials(url, username, password);
  const display = withoutCredentials(url);
  const probe = probeTarget(url);
  // A short probe: RTSP describes the stream in its SDP, there is no need to read seconds of it first.
  const common = ['-analyzeduration', '1000000', '-probesize', '1000000'];
  if (/^rtsps?:/i.test(url)) {
    // TCP (interleaved): no UDP ports to open through NAT or firewalls, no packet loss smearing frames;
    // video only: the camera does not even send its audio.
    return { args: ['-rtsp_transport', 'tcp', '-allowed_media_types', 'video', ff.rtspTimeoutOption, String(IO_TIMEOUT_US), ...common, '-i', full], display, ...(probe && { probe }) };
  }
  // MJPEG over HTTP carries no timestamps: stamp frames on arrival, so frames are taken by wall time.
  return { args: ['-rw_timeout', String(IO_TIMEOUT_US), '-use_wallclock_as_timestamps', '1', ...common, '-i', full], display, ...(probe && { probe }) };
}

/** ffmpeg input options for a video file played in real time (demos, tests). */
export function fileInput(path: string, loop: boolean): CaptureInput {
  return { args: ['-re', ...(loop ? ['-stream_loop', '-1'] : []), '-i', path], display: path, ...(!loop && { once: true }) };
}

/** Input options for a configured source that needs no lookup first (everything but ONVIF). */
export function directInput(source: Exclude<CameraSource, { kind: 'onvif' }>, ff: Pick<FfmpegInfo, 'rtspTimeoutOption'>): CaptureInput {
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
