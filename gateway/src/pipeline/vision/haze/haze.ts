import type { Point } from '../../../model/geometry.js';
import { pointInPolygon } from '../../../model/geometry.js';

/** Image statistics that haze and dust change, over a region of the frame. All 0..1. */
export interface HazeStats {
  /** Mean dark channel (He et al.): min over colour channels and a 15-pixel patch. Haze lifts it. */
  darkChannel: number;
  /** RMS contrast: standard deviation of luminance. Haze scales it by the transmission. */
  contrast: number;
  /** Mean HSV saturation. Haze washes it out. */
  saturation: number;
}

export interface HazeReading extends HazeStats {
  /** 0 = as clean as the baseline, 1 = the scene is gone in haze. */
  index: number;
}

/** Generic clear-daylight street statistics, used when a camera has no baseline of its own yet. */
export const GENERIC_CLEAN: HazeStats = { darkChannel: 0.12, contrast: 0.2, saturation: 0.3 };

const STEP = 2; // work on every 2nd pixel: the statistics are the same, the cost a quarter
const PATCH = 7; // half-resolution patch = 15 pixels at detector size

/** A mask of the sampled grid for a zone polygon, computed once per zone. */
export function zoneMask(width: number, height: number, polygon: readonly Point[]): Uint8Array {
  const w = Math.ceil(width / STEP);
  const h = Math.ceil(height / STEP);
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m[y * w + x] = pointInPolygon([(x * STEP + 0.5) / width, (y * STEP + 0.5) / height], polygon) ? 1 : 0;
  return m;
}

/** Haze statistics of an rgb24 image, over the masked part (whole frame without a mask). */
export function hazeStats(data: Uint8Array, width: number, height: number, mask?: Uint8Array): HazeStats {
  const w = Math.ceil(width / STEP);
  const h = Math.ceil(height / STEP);
  if (data.length < width * height * 3) throw new Error(`image buffer has ${data.length} bytes, ${width}x${height} rgb24 needs ${width * height * 3}`);
  const minc = new Float32Array(w * h);
  let n = 0;
  let sumL = 0;
  let sumL2 = 0;
  let sumS = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = ((y * STEP) * width + x * STEP) * 3;
      const r = data[i]! / 255;
      const g = data[i + 1]! / 255;
      const b = data[i + 2]! / 255;
      const lo = Math.min(r, g, b);
      const hi = Math.max(r, g, b);
      minc[y * w + x] = lo;
      if (mask && !mask[y * w + x]) continue;
      const l = 0.299 * r + 0.587 * g + 0.114 * b;
      sumL += l;
      sumL2 += l * l;
      sumS += hi > 0 ? (hi - lo) / hi : 0;
      n++;
    }
  }
  if (n === 0) return { darkChannel: 0, contrast: 0, saturation: 0 };
  const dark = erode(erode(minc, w, h, 1), w, h, w);
  let sumD = 0;
  for (let k = 0; k < w * h; k++) if (!mask || mask[k]) sumD += dark[k]!;
  const mean = sumL / n;
  return { darkChannel: sumD / n, contrast: Math.sqrt(Math.max(0, sumL2 / n - mean * mean)), saturation: sumS / n };
}

/** One pass of a separable minimum filter (stride 1 = rows, stride w = columns). */
function erode(src: Float32Array, w: number, h: number, stride: number): Float32Array {
  const out = new Float32Array(src.length);
  const r = PATCH >> 1;
  const along = stride === 1 ? w : h;
  const across = stride === 1 ? h : w;
  const step = stride === 1 ? w : 1;
  for (let a = 0; a < across; a++) {
    const base = a * step;
    for (let i = 0; i < along; i++) {
      let m = 1;
      for (let k = Math.max(0, i - r); k <= Math.min(along - 1, i + r); k++) m = Math.min(m, src[base + k * stride]!);
      out[base + i * stride] = m;
    }
  }
  return out;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * Haze index against a clean baseline: the geometric mean of how far the dark channel has risen towards
 * white, and how much contrast and saturation have been lost. Under the scattering model I = J·t + A·(1−t)
 * each term is about 1 − t, so the index follows the haze; a darker scene (dusk, shadow) lowers the dark
 * channel, its term is 0 and so is the index.
 */
export function hazeIndex(s: HazeStats, clean: HazeStats): number {
  const dc = clamp01((s.darkChannel - clean.darkChannel) / Math.max(1e-3, 1 - clean.darkChannel));
  const c = clamp01(1 - s.contrast / Math.max(1e-3, clean.contrast));
  const sat = clamp01(1 - s.saturation / Math.max(1e-3, clean.saturation));
  return Math.cbrt(dc * c * sat);
}

/** Learns a camera zone's clean baseline as the per-statistic median of its first N readings. */
export class HazeBaseline {
  private samples: HazeStats[] = [];
  private fixed?: HazeStats;

  constructor(private readonly learnSamples: number, fixed?: HazeStats) {
    this.fixed = fixed;
  }

  get ready(): boolean {
    return !!this.fixed;
  }

  get value(): HazeStats | undefined {
    return this.fixed;
  }

  /** Adds a sample while learning; returns the baseline once it is known. */
  offer(s: HazeStats): HazeStats | undefined {
    if (this.fixed) return this.fixed;
    this.samples.push(s);
    if (this.samples.length >= this.learnSamples) {
      const med = (k: keyof HazeStats) => {
        const v = this.samples.map((x) => x[k]).sort((a, b) => a - b);
        return v[v.length >> 1]!;
      };
      this.fixed = { darkChannel: med('darkChannel'), contrast: med('contrast'), saturation: med('saturation') };
      this.samples = [];
    }
    return this.fixed;
  }
}

/** Adds synthetic haze of transmission t with airlight a (0..1, grey) to an rgb24 image: I = J·t + A·(1−t). */
export function addHaze(data: Uint8Array, t: number, a = 0.9): Uint8Array {
  const out = new Uint8Array(data.length);
  const air = a * 255 * (1 - t);
  for (let i = 0; i < data.length; i++) out[i] = Math.round(data[i]! * t + air);
  return out;
}
