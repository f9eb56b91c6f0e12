import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Evidence } from '@gridgate/contract';
import type { Logger } from 'pino';
import sharp from 'sharp';
import type { EvidenceObject, EvidenceRequest } from '../../model/evidence-request.js';
import { overlaySvg, pixelRect, privacyRegions } from './evidence-draw.js';
import { retentionPlan, type StoredFile } from './retention.js';
import type { Box } from '../../model/geometry.js';
import type { Frame } from './types.js';

export interface EvidenceStoreOptions {
  /** Folder of the evidence files; refs are `evidence/<path below it>`. */
  dir: string;
  jpegQuality: number;
  maxAgeDays: number;
  maxMb: number;
  /** Per camera: blur heads / plates, and the source's aspect ratio (frames are stretched to the detector's square). */
  cameraSettings(cameraId: string): { blurFaces: boolean; blurPlates: boolean; sourceSize?: { width: number; height: number } | undefined };
  log: Logger;
  now?: () => number;
}

const REF_PREFIX = 'evidence/';
const PRUNE_EVERY_MS = 3600_000;

/**
 * Evidence snapshots of findings: an annotated JPEG (zone and boxes drawn) and the clean frame, both after
 * privacy masks and any face/plate blurring, so nothing unblurred is ever written. Each file's SHA-256 is
 * returned in the contract's Evidence objects and appended to SHA256SUMS in its folder (`sha256sum -c`).
 * Retention deletes files past maxAgeDays and the oldest beyond the maxMb quota.
 */
export class EvidenceStore {
  private readonly now: () => number;
  private bytes = 0;
  private pruning?: Promise<unknown>;
  private timer?: NodeJS.Timeout;
  private counter = 0;

  constructor(private readonly o: EvidenceStoreOptions) {
    this.now = o.now ?? Date.now;
  }

  get dir(): string {
    return this.o.dir;
  }

  /** Prunes now and then hourly; keeps a running total to prune early when the quota fills. */
  async start(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true });
    await this.prune();
    this.timer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.pruning;
  }

  /** Writes the annotated and the clean JPEG of a frame; resolves with their Evidence (annotated first). */
  async save(frame: Frame, req: EvidenceRequest = {}): Promise<Evidence[]> {
    const settings = this.o.cameraSettings(frame.cameraId);
    const objects: EvidenceObject[] = (req.boxes ?? []).map((b) => (isBox(b) ? { box: b } : b));
    const regions = [...privacyRegions(objects, { faces: settings.blurFaces, plates: settings.blurPlates }), ...(req.blur ?? [])];
    const { width, height } = outputSize(frame, settings.sourceSize);
    const base = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }).resize(width, height, { fit: 'fill' });
    let clean: Buffer = await base.raw().toBuffer();
    if (regions.length) clean = await blurRegions(clean, width, height, regions);
    const raw = { raw: { width, height, channels: 3 as const } };
    const zones = [...(req.zone ? [req.zone] : []), ...(req.zones ?? [])];
    const takenAt = new Date(frame.ts).toISOString();
    const caption = `${frame.cameraId}  ${takenAt.replace('T', ' ').slice(0, 19)}Z${req.label ? `  ${req.label}` : ''}`;
    const svg = overlaySvg(width, height, { objects, zones, caption });
    const q = { quality: this.o.jpegQuality, mozjpeg: false };
    const [annotated, plain] = await Promise.all([
      sharp(clean, raw).composite([{ input: Buffer.from(svg) }]).jpeg(q).toBuffer(),
      sharp(clean, raw).jpeg(q).toBuffer(),
    ]);
    const day = takenAt.slice(0, 10);
    const folder = join(this.o.dir, safeName(frame.cameraId), day);
    await mkdir(folder, { recursive: true });
    const stem = `${takenAt.slice(11, 23).replace(/[:.]/g, '')}-${frame.seq}-${(this.counter++ % 1000).toString().padStart(3, '0')}`;
    const out: Evidence[] = [];
    for (const [kind, buf] of [['annotated', annotated], ['clean', plain]] as const) {
      const name = `${stem}-${kind}.jpg`;
      const sha256 = createHash('sha256').update(buf).digest('hex');
      const file = join(folder, name);
      await writeFile(`${file}.tmp`, buf);
      await rename(`${file}.tmp`, file);
      await appendFile(join(folder, 'SHA256SUMS'), `${sha256}  ${name}\n`);
      this.bytes += buf.length;
      out.push({ kind, ref: REF_PREFIX + relative(this.o.dir, file).split(sep).join('/'), sha256, takenAt, ...(regions.length > 0 && { blurred: true }) });
    }
    if (this.bytes > this.o.maxMb * 1024 * 1024) void this.prune();
    return out;
  }

  /** The file behind an Evidence ref, or undefined when the ref points outside the evidence folder. */
  resolveRef(ref: string): string | undefined {
    if (!ref.startsWith(REF_PREFIX)) return undefined;
    const p = resolve(this.o.dir, ref.slice(REF_PREFIX.length));
    return p.startsWith(resolve(this.o.dir) + sep) && p.endsWith('.jpg') ? p : undefined;
  }

  /** Deletes what retention says; resolves with what went. One prune at a time. */
  prune(): Promise<{ deleted: number; bytes: number }> {
    const run = async () => {
      const files = await listFiles(this.o.dir);
      const plan = retentionPlan(files, this.now(), { maxAgeMs: this.o.maxAgeDays * 86400_000, maxBytes: this.o.maxMb * 1024 * 1024 });
      let freed = 0;
      for (const f of plan) {
        try {
          await unlink(f.path);
          freed += f.size;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.o.log.warn({ file: f.path, err: (e as Error).message }, 'evidence: cannot delete');
        }
      }
      this.bytes = files.reduce((s, f) => s + f.size, 0) - freed;
      if (plan.length) {
        await removeEmptyDirs(this.o.dir);
        this.o.log.info({ deleted: plan.length, freedMb: +(freed / 1048576).toFixed(1), keptMb: +(this.bytes / 1048576).toFixed(1) }, 'evidence: retention');
      }
      return { deleted: plan.length, bytes: freed };
    };
    const chained = (this.pruning ?? Promise.resolve()).then(run);
    this.pruning = chained.catch((e: Error) => this.o.log.error({ err: e.message }, 'evidence: retention failed'));
    return chained;
  }
}

function isBox(b: Box | EvidenceObject): b is Box {
  return Array.isArray(b);
}

/** Frames are the detector's (square) size; evidence gets the camera's aspect ratio back. */
function outputSize(frame: Frame, source?: { width: number; height: number }): { width: number; height: number } {
  if (!source || source.width <= 0 || source.height <= 0) return { width: frame.width, height: frame.height };
  return { width: frame.width, height: Math.max(16, Math.round((frame.width * source.height) / source.width)) };
}

async function blurRegions(rgb: Buffer, width: number, height: number, regions: readonly Box[]): Promise<Buffer> {
  const layers = await Promise.all(
    regions.map(async (b) => {
      const r = pixelRect(b, width, height);
      // Strong: a sigma of a quarter of the region's short side leaves no readable face or plate.
      const sigma = Math.max(3, Math.min(r.width, r.height) / 4);
      const input = await sharp(rgb, { raw: { width, height, channels: 3 } }).extract(r).blur(sigma).raw().toBuffer();
      return { input, raw: { width: r.width, height: r.height, channels: 3 as const }, left: r.left, top: r.top };
    }),
  );
  // Compositing adds an alpha channel: drop it, the caller reads the result as packed RGB.
  const { data, info } = await sharp(rgb, { raw: { width, height, channels: 3 } }).composite(layers).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width || info.height !== height) throw new Error(`blurring produced ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×3`);
  return data;
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function listFiles(dir: string): Promise<StoredFile[]> {
  const out: StoredFile[] = [];
  const walk = async (d: string) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.endsWith('.jpg')) {
        try {
          const s = await stat(p);
          out.push({ path: p, size: s.size, mtimeMs: s.mtimeMs });
        } catch {
          /* deleted meanwhile */
        }
      }
    }
  };
  await walk(dir);
  return out;
}

/** Removes day folders whose pictures are all gone (with their SHA256SUMS), and empty camera folders. */
async function removeEmptyDirs(dir: string): Promise<void> {
  for (const cam of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!cam.isDirectory()) continue;
    const camDir = join(dir, cam.name);
    for (const day of await readdir(camDir, { withFileTypes: true }).catch(() => [])) {
      if (!day.isDirectory()) continue;
      const dayDir = join(camDir, day.name);
      const left = await readdir(dayDir).catch(() => ['?']);
      if (left.every((n) => n === 'SHA256SUMS')) {
        await unlink(join(dayDir, 'SHA256SUMS')).catch(() => {});
        await rmdir(dayDir).catch(() => {});
      }
    }
    await rmdir(camDir).catch(() => {}); // fails while not empty: fine
  }
}
