import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { backoffDelay } from '../../util/backoff.js';
import { captureArgs, type CaptureInput, type OutputShape } from './capture-args.js';
import { classifyFfmpegLine, NON_FATAL, parseStreamInfo, problemMessage, short, type CaptureProblem, type CaptureProblemKind } from './capture-problems.js';
import type { CaptureConfig } from './config.js';
import type { FfmpegInfo } from './ffmpeg.js';
import type { Frame } from './types.js';

export type CaptureState = 'starting' | 'streaming' | 'retrying' | 'stopped';

export interface CaptureStatus {
  state: CaptureState;
  since: number;
  /** The latest problem: why it is retrying, or a warning while streaming (corrupt data). */
  problem?: CaptureProblem;
  /** What the camera sends, as ffmpeg describes it. */
  stream?: { codec: string; width: number; height: number; fps?: number };
  nextAttemptAt?: number;
  /** ffmpeg child's pid while one runs. */
  pid?: number;
}

export interface CaptureCounters {
  frames: number;
  sessions: number;
  probes: number;
  failures: number;
  corruptEvents: number;
}

/** Thrown by a source resolver (ONVIF lookup) with a problem kind the capture reports as is. */
export class SourceProblem extends Error {
  constructor(
    readonly kind: CaptureProblemKind,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

export interface FrameCaptureDeps {
  cameraId: string;
  ffmpeg: FfmpegInfo;
  /** Called before every connection attempt (ONVIF asks the camera for its stream address each time). */
  resolveInput(): Promise<CaptureInput>;
  onFrame(frame: Frame): void;
  onStatus(status: CaptureStatus): void;
  log: Logger;
  spawn?: typeof nodeSpawn;
  random?: () => number;
}

const KILL_GRACE_MS = 2000;
const PROBE_TIMEOUT_MS = 3000;
const STDERR_KEEP = 20;
/** A corrupt-data warning is reported again only after this quiet time (a damaged stretch is one event). */
const CORRUPT_QUIET_MS = 30_000;

/**
 * One camera's frame capture: an ffmpeg child reading the stream and writing raw RGB frames of the detector's
 * size at `fps` to a pipe. A watchdog restarts a stream that stalls without closing. Failures are retried with
 * exponential backoff and jitter; while nothing answers at the camera's address only a TCP connect is tried
 * (no process), so a dead camera costs no CPU. Never more than one ffmpeg per camera; stop() waits for it to exit.
 */
export class FrameCapture {
  readonly counters: CaptureCounters = { frames: 0, sessions: 0, probes: 0, failures: 0, corruptEvents: 0 };
  private status: CaptureStatus = { state: 'starting', since: Date.now() };
  private stopping = false;
  private child?: ChildProcess;
  private loopDone?: Promise<void>;
  private wake?: () => void;
  private waitTimer?: NodeJS.Timeout;
  /** Start of the current outage and the last problem logged at warn (both cleared by a frame). */
  private downSince?: number;
  private lastLogged?: CaptureProblemKind;
  private readonly out: OutputShape;
  private readonly stallMs: number;
  private readonly connectMs: number;

  constructor(
    private readonly deps: FrameCaptureDeps,
    shape: { width: number; height: number; fps: number },
    private readonly cfg: CaptureConfig,
  ) {
    this.out = { ...shape, decode: cfg.decode };
    this.stallMs = (cfg.stallTimeoutS ?? Math.max(10, 3 / shape.fps)) * 1000;
    this.connectMs = Math.max(cfg.connectTimeoutS * 1000, this.stallMs);
  }

  get current(): CaptureStatus {
    return this.status;
  }

  start(): void {
    if (this.loopDone) return;
    this.loopDone = this.loop().catch((e: Error) => this.deps.log.error({ camera: this.deps.cameraId, err: e.stack }, 'camera capture loop failed'));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.wake?.();
    if (this.child) terminate(this.child);
    await this.loopDone;
    this.setStatus({ state: 'stopped', since: Date.now() });
  }

  private async loop(): Promise<void> {
    let attempt = 0; // failures of a camera that answers (ffmpeg started): backoff up to maxMs
    let probeAttempt = 0; // failures to reach it at all: cheap TCP probes, backoff up to probeMaxMs
    const { minMs, maxMs, probeMaxMs } = this.cfg.reconnect;
    while (!this.stopping) {
      let input: CaptureInput;
      try {
        input = await this.deps.resolveInput();
      } catch (e) {
        const p = e instanceof SourceProblem ? { kind: e.kind, message: e.message, ...(e.detail && { detail: e.detail }) } : { kind: 'error' as const, message: (e as Error).message };
        const unreachable = p.kind === 'unreachable';
        this.fail({ ...p, at: Date.now() });
        await this.pause(unreachable ? backoffDelay(probeAttempt++, minMs, probeMaxMs, this.deps.random) : backoffDelay(attempt++, minMs, maxMs, this.deps.random));
        continue;
      }
      if (this.stopping) break;
      if (input.probe) {
        this.counters.probes++;
        const err = await tcpProbe(input.probe.host, input.probe.port, PROBE_TIMEOUT_MS);
        if (err) {
          this.fail({ kind: 'unreachable', message: problemMessage('unreachable', { display: input.display }), detail: err, at: Date.now() });
          await this.pause(backoffDelay(probeAttempt++, minMs, probeMaxMs, this.deps.random));
          continue;
        }
      }
      probeAttempt = 0;
      if (this.stopping) break;
      const r = await this.session(input);
      if (this.stopping) break;
      if (r.frames > 0) attempt = 0;
      this.fail(r.problem);
      if (input.once && r.problem.kind === 'ended') {
        this.setStatus({ ...this.status, state: 'stopped' });
        break;
      }
      await this.pause(backoffDelay(attempt++, minMs, maxMs, this.deps.random));
    }
  }

  /** Runs ffmpeg once, until it exits or the watchdog ends it. */
  private session(input: CaptureInput): Promise<{ frames: number; problem: CaptureProblem }> {
    const { cameraId, log } = this.deps;
    const args = captureArgs(input, this.out, this.deps.ffmpeg);
    const frameBytes = this.out.width * this.out.height * 3;
    const startedAt = Date.now();
    this.counters.sessions++;
    let seq = 0;
    let lastFrameAt = 0;
    let killedFor: CaptureProblem | undefined;
    let fatal: CaptureProblem | undefined;
    let lastCorruptAt = -Infinity;
    let lastError: string | undefined;
    const tail: string[] = [];
    const spawn = this.deps.spawn ?? nodeSpawn;

    return new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(this.deps.ffmpeg.path, args, { stdio: ['ignore', 'pipe', 'pipe', ...(input.script === undefined ? [] : ['pipe' as const])] });
        // The address with its credentials, on fd 3 (`-i pipe:3`): a few hundred bytes, within the pipe's buffer.
        // An ffmpeg that exits before reading it closes the pipe: that is reported by its exit, not here.
        const toFfmpeg = child.stdio[3] as Writable | null | undefined;
        if (toFfmpeg) toFfmpeg.on('error', () => {}).end(input.script);
      } catch (e) {
        resolve({ frames: 0, problem: { kind: 'ffmpeg-missing', message: problemMessage('ffmpeg-missing', { display: input.display }), detail: (e as Error).message, at: Date.now() } });
        return;
      }
      this.child = child;
      this.setStatus({ ...this.status, state: 'starting', since: startedAt, ...(child.pid !== undefined && { pid: child.pid }) });
      log.debug({ camera: cameraId, source: input.display, pid: child.pid }, 'camera: ffmpeg started');

      let cur = Buffer.allocUnsafe(frameBytes);
      let filled = 0;
      child.stdout!.on('data', (chunk: Buffer) => {
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(frameBytes - filled, chunk.length - off);
          chunk.copy(cur, filled, off, off + n);
          filled += n;
          off += n;
          if (filled === frameBytes) {
            const now = Date.now();
            const frame: Frame = { cameraId, seq: seq++, ts: now, width: this.out.width, height: this.out.height, format: 'rgb24', data: cur };
            cur = Buffer.allocUnsafe(frameBytes);
            filled = 0;
            lastFrameAt = now;
            this.counters.frames++;
            if (this.status.state !== 'streaming') {
              this.downSince = undefined;
              this.lastLogged = undefined;
              const { problem: _drop, nextAttemptAt: _n, ...rest } = this.status;
              this.setStatus({ ...rest, state: 'streaming', since: now });
            }
            try {
              this.deps.onFrame(frame);
            } catch (e) {
              log.error({ camera: cameraId, err: (e as Error).stack }, 'camera: frame handler failed');
            }
          }
        }
      });

      let errBuf = '';
      child.stderr!.on('data', (d: Buffer) => {
        errBuf += d.toString('utf8');
        let i;
        while ((i = errBuf.indexOf('\n')) >= 0) {
          const line = errBuf.slice(0, i).replace(/\r/g, '');
          errBuf = errBuf.slice(i + 1);
          if (!line.trim()) continue;
          tail.push(line);
          if (tail.length > STDERR_KEEP) tail.shift();
          if (!this.status.stream) {
            const s = parseStreamInfo(line);
            if (s) this.setStatus({ ...this.status, stream: s });
          }
          const kind = classifyFfmpegLine(line);
          if (!kind) continue;
          lastError = line;
          if (NON_FATAL.has(kind)) {
            const now = Date.now();
            if (now - lastCorruptAt > CORRUPT_QUIET_MS) {
              this.counters.corruptEvents++;
              const problem = { kind, message: problemMessage(kind, { display: input.display }), detail: short(line), at: now };
              log.warn({ camera: cameraId, problem: problem.message, detail: problem.detail }, 'camera: damaged frames');
              this.setStatus({ ...this.status, problem });
            }
            lastCorruptAt = now;
          } else if (!fatal || fatal.kind === 'error') {
            fatal = { kind, message: problemMessage(kind, { display: input.display, detail: line }), detail: short(line), at: Date.now() };
          }
        }
      });

      const watchdog = setInterval(() => {
        const now = Date.now();
        if (!lastFrameAt && now - startedAt > this.connectMs) {
          killedFor = { kind: 'no-frames', message: problemMessage('no-frames', { display: input.display, connectS: Math.round(this.connectMs / 1000) }), at: now };
        } else if (lastFrameAt && now - lastFrameAt > this.stallMs) {
          killedFor = { kind: 'stalled', message: problemMessage('stalled', { display: input.display, stallS: Math.round(this.stallMs / 1000) }), at: now };
        } else return;
        clearInterval(watchdog);
        terminate(child);
      }, Math.min(1000, this.stallMs / 4));

      let settled = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        this.child = undefined;
        const frames = seq;
        let problem: CaptureProblem;
        if (spawnError) {
          const missing = (spawnError as NodeJS.ErrnoException).code === 'ENOENT';
          problem = { kind: missing ? 'ffmpeg-missing' : 'error', message: missing ? problemMessage('ffmpeg-missing', { display: input.display }) : `cannot start ffmpeg: ${spawnError.message}`, at: Date.now() };
        } else if (killedFor) problem = killedFor;
        else if (fatal) problem = fatal;
        else if (code === 0) problem = { kind: 'ended', message: problemMessage('ended', { display: input.display }), at: Date.now() };
        else {
          const detail = lastError ?? tail[tail.length - 1] ?? `exit code ${code}${signal ? `, signal ${signal}` : ''}`;
          problem = { kind: 'error', message: problemMessage('error', { display: input.display, detail }), detail: short(detail), at: Date.now() };
        }
        log.debug({ camera: cameraId, code, signal, frames, problem: problem.kind, stderr: tail.slice(-5).map(short) }, 'camera: ffmpeg exited');
        resolve({ frames, problem });
      };
      child.once('error', (e) => {
        // spawn failures arrive here; a child that did start also emits 'close'
        if (child.pid === undefined) finish(null, null, e);
      });
      child.once('close', (code, signal) => finish(code, signal));
    });
  }

  private fail(p: CaptureProblem): void {
    if (this.stopping) return;
    this.counters.failures++;
    const { pid: _pid, ...rest } = this.status;
    this.downSince ??= p.at;
    this.setStatus({ ...rest, state: 'retrying', since: this.downSince, problem: p });
    // One line per change of what is wrong; repeats of the same failure only at debug.
    const same = this.lastLogged === p.kind;
    this.lastLogged = p.kind;
    const entry = { camera: this.deps.cameraId, problem: p.kind, why: p.message, ...(p.detail && { detail: p.detail }) };
    if (same) this.deps.log.debug(entry, 'camera: still failing');
    else this.deps.log.warn(entry, 'camera: not streaming');
  }

  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.setStatus({ ...this.status, nextAttemptAt: Date.now() + ms });
    return new Promise((res) => {
      this.wake = () => {
        this.wake = undefined;
        res();
      };
      this.waitTimer = setTimeout(() => this.wake?.(), ms);
    });
  }

  private setStatus(s: CaptureStatus): void {
    this.status = s;
    this.deps.onStatus(s);
  }
}

/** SIGTERM, then SIGKILL if it has not exited after a grace period. */
function terminate(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, KILL_GRACE_MS);
  t.unref();
  child.once('exit', () => clearTimeout(t));
}

/** Resolves with undefined when something accepts a TCP connection at host:port, else with the error. */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((res) => {
    const s = connect({ host, port });
    const done = (err?: string) => {
      s.removeAllListeners();
      s.on('error', () => {});
      s.destroy();
      res(err);
    };
    s.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    s.once('connect', () => done());
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}
