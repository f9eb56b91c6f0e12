import { spawn } from 'node:child_process';

/** One decoded picture from a file: rgb24 at the requested size. */
export interface RawFrame {
  index: number;
  /** Position in the file, ms from its start. */
  ptsMs: number;
  data: Buffer;
}

export interface ReadOptions {
  width: number;
  height: number;
  /** Sample the file at this rate (frames per second); default: every frame at the file's own rate. */
  fps?: number;
  maxFrames?: number;
  /** ffmpeg binary; default `ffmpeg` on PATH. */
  ffmpeg?: string;
}

/**
 * Decodes a video or image file into rgb24 frames scaled to the detector size with ffmpeg (a child process;
 * frames stream through a pipe, one at a time, so memory stays flat). Errors name the file and quote ffmpeg.
 * For offline use: `gridgate detect`, the evaluation and the benchmark; live cameras have their own capture.
 */
export async function* readFrames(file: string, o: ReadOptions): AsyncGenerator<RawFrame> {
  const size = o.width * o.height * 3;
  const filters = [...(o.fps ? [`fps=${o.fps}`] : []), `scale=${o.width}:${o.height}`].join(',');
  const args = ['-v', 'error', '-nostdin', '-i', file, '-vf', filters, ...(o.maxFrames ? ['-frames:v', String(o.maxFrames)] : []), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  const p = spawn(o.ffmpeg ?? 'ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<{ code: number | null; err?: Error }>((res) => {
    p.once('error', (err) => res({ code: null, err }));
    p.once('close', (code) => res({ code }));
  });
  const rate = o.fps ?? (await frameRate(file, o.ffmpeg)) ?? 25;
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  try {
    for await (const chunk of p.stdout) {
      pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
      while (pending.length >= size) {
        yield { index, ptsMs: Math.round((index * 1000) / rate), data: Buffer.from(pending.subarray(0, size)) };
        index++;
        pending = pending.subarray(size);
      }
    }
  } finally {
    if (p.exitCode === null) p.kill('SIGKILL');
  }
  const r = await exited;
  if (r.err) throw new Error(`cannot run ffmpeg to read ${file}: ${r.err.message} (install ffmpeg: apt-get install ffmpeg)`);
  if (r.code !== 0 && index === 0) throw new Error(`cannot read ${file}: ${stderr.trim().split('\n').slice(-2).join(' ') || `ffmpeg exited with code ${r.code}`}`);
  if (index === 0) throw new Error(`cannot read ${file}: no picture in it`);
}

/** The file's frame rate per ffprobe, if it says. */
async function frameRate(file: string, ffmpeg?: string): Promise<number | undefined> {
  const probe = ffmpeg ? ffmpeg.replace(/ffmpeg$/, 'ffprobe') : 'ffprobe';
  return new Promise((res) => {
    const p = spawn(probe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=r_frame_rate', '-of', 'csv=p=0', file], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', () => res(undefined));
    p.once('close', () => {
      const [n, d] = out.trim().split('/').map(Number);
      res(n && d ? n / d : n || undefined);
    });
  });
}
