import type { MotionConfig } from './config.js';
import { polygonMask } from '../../model/geometry.js';
import type { Box } from '../../model/geometry.js';
import type { Frame, GateReason, MotionResult } from './types.js';

export interface GateDecision {
  /** Set when detection should see this frame, and why. */
  pass?: GateReason;
  motion: MotionResult;
}

const MAX_REGIONS = 32;
/** Source pixels sampled per cell side at most: a cell's average needs no more to be stable. */
const SAMPLES_PER_SIDE = 4;

/**
 * The motion gate: frame differencing on a small grey image. Each frame is reduced to a gridWidth-wide grey
 * image (block averages, so sensor and compression noise mostly cancel), compared cell by cell with the
 * previous one after removing the change of mean brightness (clouds, auto exposure), and the share of
 * changed cells outside the masks is the motion score. Frames with motion go to detection; so does one frame
 * every `periodicS` without motion, because a stall or a parked car does not move.
 */
export class MotionGate {
  readonly gridWidth: number;
  readonly gridHeight: number;
  /** 1 where a cell counts (outside every motion mask). */
  private readonly active: Uint8Array;
  private readonly activeCount: number;
  private readonly xs: Int32Array[];
  private readonly ys: Int32Array[];
  private prev?: Float32Array;
  private prevMean = 0;
  private lastPassed = -Infinity;

  constructor(
    private readonly cfg: Pick<MotionConfig, 'enabled' | 'pixelThreshold' | 'minArea' | 'gridWidth' | 'periodicS' | 'masks'>,
    readonly width: number,
    readonly height: number,
  ) {
    this.gridWidth = Math.min(cfg.gridWidth, width);
    this.gridHeight = Math.max(1, Math.min(height, Math.round((this.gridWidth * height) / width)));
    const masked = polygonMask(cfg.masks.map((m) => m.polygon), this.gridWidth, this.gridHeight);
    this.active = masked.map((m) => 1 - m);
    this.activeCount = this.active.reduce((a, b) => a + b, 0);
    this.xs = sampleIndexes(width, this.gridWidth);
    this.ys = sampleIndexes(height, this.gridHeight);
  }

  /** Scores a frame against the previous one and decides whether detection sees it. */
  check(frame: Frame): GateDecision {
    if (frame.width !== this.width || frame.height !== this.height) throw new Error(`motion gate is for ${this.width}×${this.height}, frame is ${frame.width}×${frame.height}`);
    const grey = this.downscale(frame.data);
    const mean = this.mean(grey);
    const prev = this.prev;
    const prevMean = this.prevMean;
    this.prev = grey;
    this.prevMean = mean;
    let motion: MotionResult = { score: 0, motion: false };
    if (prev && this.activeCount > 0) {
      const changed = new Uint8Array(grey.length);
      const offset = mean - prevMean;
      const t = this.cfg.pixelThreshold;
      let n = 0;
      for (let i = 0; i < grey.length; i++) {
        if (this.active[i] && Math.abs(grey[i]! - prev[i]! - offset) > t) {
          changed[i] = 1;
          n++;
        }
      }
      const score = n / this.activeCount;
      const moving = n > 0 && score >= this.cfg.minArea;
      motion = { score, motion: moving, ...(moving && { regions: regionsOf(changed, this.gridWidth, this.gridHeight) }) };
    }
    if (!this.cfg.enabled) return { pass: 'motion', motion };
    if (motion.motion) return { pass: 'motion', motion };
    if (this.cfg.periodicS > 0 && frame.ts - this.lastPassed >= this.cfg.periodicS * 1000) return { pass: 'periodic', motion };
    return { motion };
  }

  /** The camera calls this when a passed frame was really handed to detection (not skipped as busy). */
  notePassed(ts: number): void {
    this.lastPassed = ts;
  }

  /** Forgets the previous frame (after a reconnect the scene may have changed for reasons that are not motion). */
  reset(): void {
    this.prev = undefined;
  }

  private downscale(rgb: Buffer): Float32Array {
    const gw = this.gridWidth;
    const out = new Float32Array(gw * this.gridHeight);
    const stride = this.width * 3;
    for (let cy = 0; cy < this.gridHeight; cy++) {
      const rows = this.ys[cy]!;
      for (let cx = 0; cx < gw; cx++) {
        const cols = this.xs[cx]!;
        let sum = 0;
        for (let r = 0; r < rows.length; r++) {
          const base = rows[r]! * stride;
          for (let c = 0; c < cols.length; c++) {
            const p = base + cols[c]! * 3;
            sum += 77 * rgb[p]! + 150 * rgb[p + 1]! + 29 * rgb[p + 2]!;
          }
        }
        out[cy * gw + cx] = sum / (256 * rows.length * cols.length);
      }
    }
    return out;
  }

  private mean(grey: Float32Array): number {
    if (!this.activeCount) return 0;
    let s = 0;
    for (let i = 0; i < grey.length; i++) if (this.active[i]) s += grey[i]!;
    return s / this.activeCount;
  }
}

/** For each of `cells` cells over `size` source pixels: up to SAMPLES_PER_SIDE evenly spread source indexes. */
function sampleIndexes(size: number, cells: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let c = 0; c < cells; c++) {
    const a = Math.floor((c * size) / cells);
    const b = Math.max(a + 1, Math.floor(((c + 1) * size) / cells));
    const n = Math.min(SAMPLES_PER_SIDE, b - a);
    out.push(Int32Array.from({ length: n }, (_, k) => a + Math.floor(((k + 0.5) * (b - a)) / n)));
  }
  return out;
}

/** Bounding boxes (normalized) of 4-connected groups of changed cells, largest first. */
export function regionsOf(changed: Uint8Array, w: number, h: number): Box[] {
  const seen = new Uint8Array(changed.length);
  const boxes: Array<{ box: Box; n: number }> = [];
  const stack: number[] = [];
  for (let i = 0; i < changed.length; i++) {
    if (!changed[i] || seen[i]) continue;
    let x1 = w;
    let y1 = h;
    let x2 = -1;
    let y2 = -1;
    let n = 0;
    stack.push(i);
    seen[i] = 1;
    while (stack.length) {
      const j = stack.pop()!;
      const x = j % w;
      const y = (j - x) / w;
      n++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      const push = (k: number) => {
        if (changed[k] && !seen[k]) {
          seen[k] = 1;
          stack.push(k);
        }
      };
      if (x > 0) push(j - 1);
      if (x < w - 1) push(j + 1);
      if (y > 0) push(j - w);
      if (y < h - 1) push(j + w);
    }
    boxes.push({ box: [x1 / w, y1 / h, (x2 + 1) / w, (y2 + 1) / h], n });
  }
  return boxes
    .sort((a, b) => b.n - a.n)
    .slice(0, MAX_REGIONS)
    .map((b) => b.box);
}
