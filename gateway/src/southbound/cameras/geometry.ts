import type { Box, Point } from './types.js';

/** Even-odd test of a point (normalized coordinates) against a polygon. */
export function pointInPolygon([x, y]: Point, polygon: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Where an object stands: the middle of its box's bottom edge (feet, wheels). */
export function footPoint(box: Box): Point {
  return [(box[0] + box[2]) / 2, box[3]];
}

/** Bounding box of a polygon, normalized. */
export function polygonBounds(polygon: readonly Point[]): Box {
  let x1 = 1;
  let y1 = 1;
  let x2 = 0;
  let y2 = 0;
  for (const [x, y] of polygon) {
    x1 = Math.min(x1, x);
    y1 = Math.min(y1, y);
    x2 = Math.max(x2, x);
    y2 = Math.max(y2, y);
  }
  return [x1, y1, x2, y2];
}

/**
 * Rasterizes polygons (normalized) onto a width × height pixel grid as horizontal runs: triples
 * (y, xStart, xEnd exclusive). A pixel is inside when its centre is (even-odd per polygon, union of polygons).
 */
export function polygonSpans(polygons: readonly (readonly Point[])[], width: number, height: number): Int32Array {
  const out: number[] = [];
  const row = new Uint8Array(width);
  for (let y = 0; y < height; y++) {
    const cy = (y + 0.5) / height;
    row.fill(0);
    let any = false;
    for (const poly of polygons) {
      const xs: number[] = [];
      for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
        const [xi, yi] = poly[i]!;
        const [xj, yj] = poly[j]!;
        if (yi > cy !== yj > cy) xs.push(((xj - xi) * (cy - yi)) / (yj - yi) + xi);
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const a = Math.max(0, Math.ceil(xs[k]! * width - 0.5));
        const b = Math.min(width, Math.ceil(xs[k + 1]! * width - 0.5));
        if (b > a) {
          row.fill(1, a, b);
          any = true;
        }
      }
    }
    if (!any) continue;
    for (let x = 0; x < width; ) {
      if (!row[x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < width && row[x]) x++;
      out.push(y, start, x);
    }
  }
  return Int32Array.from(out);
}

/** A width × height mask (1 inside any polygon) from polygon spans. */
export function polygonMask(polygons: readonly (readonly Point[])[], width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  const spans = polygonSpans(polygons, width, height);
  for (let i = 0; i < spans.length; i += 3) mask.fill(1, spans[i]! * width + spans[i + 1]!, spans[i]! * width + spans[i + 2]!);
  return mask;
}

/** Clamps a box to the frame and orders its corners. */
export function clampBox([a, b, c, d]: Box): Box {
  const cl = (v: number) => Math.min(1, Math.max(0, v));
  return [cl(Math.min(a, c)), cl(Math.min(b, d)), cl(Math.max(a, c)), cl(Math.max(b, d))];
}
