import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** gateway/tools/rtsp-server.py, from gateway/dist/src/cameras/virtual/. */
export const RTSP_SERVER_SCRIPT = fileURLToPath(new URL('../../../tools/rtsp-server.py', import.meta.url));

export const GSTREAMER_HELP =
  'the virtual camera needs GStreamer\'s RTSP server for Python: apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-libav';

export interface RtspServerOptions {
  video: string;
  host?: string;
  /** 0: any free port. */
  port?: number;
  path?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Use only the first N seconds of the video (it is encoded to H.264 in memory at start). */
  maxSeconds?: number;
  username?: string;
  password?: string;
  auth?: 'basic' | 'digest';
  /** Python with gi (python3-gi); default $GRIDGATE_PYTHON or /usr/bin/python3 (a pyenv python has no gi). */
  python?: string;
  startTimeoutMs?: number;
}

export interface RtspServerInfo {
  port: number;
  url: string;
  frames: number;
  width: number;
  height: number;
  fps: number;
}

/**
 * A GStreamer RTSP server (gateway/tools/rtsp-server.py) serving a video file as a live H.264 camera. Used by
 * `gridgate virtual-camera`, the camera tests and bench:cameras. It exits when this process goes away (its stdin
 * closes), and takes fault commands: stall, resume, corrupt.
 */
export class RtspServer {
  proc?: ChildProcess;
  info?: RtspServerInfo;
  private stderr = '';
  private exited?: Promise<void>;

  constructor(readonly o: RtspServerOptions) {}

  get url(): string {
    if (!this.info) throw new Error('RTSP server not started');
    return this.info.url;
  }

  /** The URL with credentials in it, as a client uses it. */
  get authUrl(): string {
    const u = new URL(this.url);
    if (this.o.username) {
      u.username = encodeURIComponent(this.o.username);
      u.password = encodeURIComponent(this.o.password ?? '');
    }
    return u.toString();
  }

  async start(): Promise<RtspServerInfo> {
    if (!existsSync(this.o.video)) throw new Error(`video file not found: ${this.o.video}`);
    const python = this.o.python ?? process.env.GRIDGATE_PYTHON ?? '/usr/bin/python3';
    const o = this.o;
    const args = [RTSP_SERVER_SCRIPT, '--video', o.video, '--host', o.host ?? '127.0.0.1', '--port', String(o.port ?? 0), '--path', o.path ?? '/stream'];
    if (o.width) args.push('--width', String(o.width));
    if (o.height) args.push('--height', String(o.height));
    if (o.fps) args.push('--fps', String(o.fps));
    if (o.maxSeconds) args.push('--max-seconds', String(o.maxSeconds));
    if (o.auth) args.push('--auth', o.auth);
    const env = { ...process.env, GRIDGATE_RTSP_USER: o.username ?? '', GRIDGATE_RTSP_PASSWORD: o.password ?? '' };
    const proc = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.proc = proc;
    this.stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.exited = new Promise((res) => proc.once('close', () => res()));
    proc.stdin!.on('error', () => {}); // it may exit before reading a command
    let out = '';
    const ready = new Promise<RtspServerInfo>((res, rej) => {
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.includes('"ready"'));
        if (line) res(JSON.parse(line) as RtspServerInfo);
      });
      proc.once('error', (e) => rej(new Error(`cannot start ${python}: ${e.message}; ${GSTREAMER_HELP}`)));
      proc.once('close', (code) => {
        const why = this.stderr.trim().split('\n').slice(-3).join(' | ');
        rej(new Error(`RTSP server exited (${code}) before serving: ${why}${/No module named 'gi'|Namespace .* not available|GstRtspServer/.test(this.stderr) ? `; ${GSTREAMER_HELP}` : ''}`));
      });
    });
    const timeoutMs = o.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`RTSP server did not start within ${timeoutMs} ms: ${this.stderr.slice(-500)}`)), timeoutMs);
    });
    try {
      this.info = await Promise.race([ready, timeout]);
    } catch (e) {
      await this.kill();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return this.info;
  }

  /** Sends a fault command (stall | resume | corrupt). */
  command(cmd: 'stall' | 'resume' | 'corrupt'): void {
    this.proc?.stdin?.write(`${cmd}\n`);
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Stops it (SIGKILL by default: a camera losing power) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.proc!.kill(signal);
    await this.exited;
  }
}
