/** Why a camera is not delivering frames (or delivers damaged ones), in words a field engineer can act on. */
export type CaptureProblemKind =
  | 'ffmpeg-missing'
  | 'unreachable'
  | 'auth-failed'
  | 'not-found'
  | 'no-frames'
  | 'stalled'
  | 'bad-stream'
  | 'corrupt-data'
  | 'ended'
  | 'onvif-failed'
  | 'error';

export interface CaptureProblem {
  kind: CaptureProblemKind;
  /** What is wrong and what to do; short (it also goes into the retained availability message). */
  message: string;
  /** The line from ffmpeg (or the ONVIF error) it was read from. */
  detail?: string;
  at: number;
}

/** Problems after which the stream goes on (ffmpeg conceals the damage and keeps decoding). */
export const NON_FATAL: ReadonlySet<CaptureProblemKind> = new Set(['corrupt-data']);

type LineKind = 'unreachable' | 'auth-failed' | 'not-found' | 'bad-stream' | 'corrupt-data' | 'error';

const RULES: Array<[RegExp, LineKind]> = [
  [/\b401\b|authorization failed|Unauthorized/i, 'auth-failed'],
  [/\b403\b|Forbidden/i, 'auth-failed'],
  [/\b404\b|Not Found|No such file or directory/i, 'not-found'],
  [/Connection refused|Connection timed out|No route to host|Network is unreachable|Name or service not known|Temporary failure in name resolution|Host is down|Connection reset by peer|Broken pipe|\b503\b|Service Unavailable/i, 'unreachable'],
  [/Could not find codec parameters|does not contain any stream|Stream map .* matches no streams|Invalid data found when processing input|Unsupported codec|Decoder \(codec .*\) not found|Option .* not found|Unrecognized option/i, 'bad-stream'],
  [
    /error while decoding|corrupt decoded frame|concealing \d+ \w+ errors|Invalid NAL unit|decode_slice_header error|non-existing PPS|no frame!|missing picture in access unit|Error splitting the input into NAL units|(top|left) block unavailable|out of range at|ac-tex damaged|Warning MVs not available|illegal short term buffer|reference picture missing|number of reference frames .* exceeds|RTP: missed \d+ packets|max delay reached|corrupt/i,
    'corrupt-data',
  ],
];

/** Lines ffmpeg writes when we stop it ourselves: no problem of the camera's. */
const OWN_STOP = /Immediate exit requested|Exiting normally, received signal|received signal \d+|Error writing trailer|Error closing file|av_interleaved_write_frame\(\)/i;

/** Reads one ffmpeg log line (`-loglevel level+…`): the problem it reports, if any. */
export function classifyFfmpegLine(line: string): LineKind | undefined {
  const level = /\[(panic|fatal|error|warning|info|verbose|debug)\]/.exec(line)?.[1];
  if (level !== 'panic' && level !== 'fatal' && level !== 'error' && level !== 'warning') return undefined;
  if (OWN_STOP.test(line)) return undefined;
  for (const [re, kind] of RULES) if (re.test(line)) return kind;
  return level === 'warning' ? undefined : 'error';
}

/** The short, actionable message for a problem (the ffmpeg line stays in `detail`). */
export function problemMessage(kind: CaptureProblemKind, ctx: { display: string; stallS?: number; connectS?: number; detail?: string }): string {
  const where = ctx.display;
  switch (kind) {
    case 'ffmpeg-missing':
      return 'ffmpeg is not installed or does not run (see the gateway log)';
    case 'unreachable':
      return `nothing answers at ${hostOf(where)}: check the camera's power, cable and address`;
    case 'auth-failed':
      return `${hostOf(where)} refused the user name or password: check source.username and source.password`;
    case 'not-found':
      return /^(rtsp|http)/i.test(where) ? `no stream at ${pathOf(where)} on ${hostOf(where)}: check the path in source.url` : `no such file: ${where}`;
    case 'no-frames':
      return `connected, but no frame came within ${ctx.connectS ?? '?'} s`;
    case 'stalled':
      return `the stream stopped delivering frames for ${ctx.stallS ?? '?'} s without closing; restarting it`;
    case 'bad-stream':
      return `the stream at ${where} is not video ffmpeg can read${ctx.detail ? `: ${short(ctx.detail)}` : ''}`;
    case 'corrupt-data':
      return 'damaged frames in the stream (decoder errors); frames continue';
    case 'ended':
      return /^(rtsp|http)/i.test(where) ? `${hostOf(where)} closed the stream` : `the video ended: ${where}`;
    case 'onvif-failed':
      return `the ONVIF service at ${hostOf(where)} failed${ctx.detail ? `: ${short(ctx.detail)}` : ''}`;
    case 'error':
      return `ffmpeg failed${ctx.detail ? `: ${short(ctx.detail)}` : ''}`;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/** ffmpeg lines carry a "[ctx @ 0x…] [error]" prefix and may carry the URL (with credentials): cut both. */
export function short(line: string): string {
  return line
    .replace(/\[[^\]]*@ 0x[0-9a-f]+\]\s*/gi, '')
    .replace(/\[(panic|fatal|error|warning|info)\]\s*/gi, '')
    .replace(/\b([a-z]+:\/\/)[^/@\s]*@/gi, '$1')
    .trim()
    .slice(0, 120);
}

/** The stream line of ffmpeg's input description: "Stream #0:0: Video: h264 (…), yuv420p(…), 640x480 …, 10 fps". */
export function parseStreamInfo(line: string): { codec: string; width: number; height: number; fps?: number } | undefined {
  const m = /Stream #\d+:\d+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})/.exec(line);
  if (!m) return undefined;
  const fps = /, (\d+(?:\.\d+)?) fps/.exec(line)?.[1];
  return { codec: m[1]!, width: Number(m[2]), height: Number(m[3]), ...(fps && { fps: Number(fps) }) };
}
