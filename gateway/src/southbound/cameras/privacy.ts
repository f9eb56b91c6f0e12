import { polygonSpans } from '../../model/geometry.js';
import type { Point } from '../../model/geometry.js';
import type { Frame } from './types.js';

/**
 * Blanks privacy masks out of frames, in place, before the motion gate, the detector or the evidence store
 * see them. The polygons are rasterized once for the frame size.
 */
export class PrivacyMasker {
  private readonly spans: Int32Array;

  constructor(polygons: readonly (readonly Point[])[], readonly width: number, readonly height: number) {
    this.spans = polygonSpans(polygons, width, height);
  }

  get empty(): boolean {
    return this.spans.length === 0;
  }

  apply(frame: Frame): void {
    if (frame.width !== this.width || frame.height !== this.height) throw new Error(`privacy mask is for ${this.width}×${this.height}, frame is ${frame.width}×${frame.height}`);
    const { data } = frame;
    const s = this.spans;
    for (let i = 0; i < s.length; i += 3) {
      const row = s[i]! * this.width;
      data.fill(0, (row + s[i + 1]!) * 3, (row + s[i + 2]!) * 3);
    }
  }
}
