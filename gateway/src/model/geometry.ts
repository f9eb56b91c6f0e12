// Plane geometry shared by the camera stages (normalized frame coordinates: x right, y down, 0..1) and the
// unit grids (WGS84 [lon, lat] degrees, GeoJSON order; a grid is ~100 m across, so no projection is needed).
// Pure functions, one implementation of each operation. The console's zone-shape.ts keeps its own segment
// test: the browser loads it as it is, without imports, and a zone's edges must not even touch (grid outlines
// may share corners, so the grid check counts only proper crossings).

/** A point: normalized frame coordinates in camera code, [lon, lat] in grid code. */
export type Point = [number, number];

/** Axis-aligned box in normalized frame coordinates: x1, y1, x2, y2 in 0..1. */
export type Box = [number, number, number, number];

// ---- Polygons (either coordinate kind) ----

/**
 * Even-odd ray casting against one ring, open (camera zones) or closed with the first point repeated
 * (GeoJSON; the repeated point adds an edge of no length, which never counts). A point exactly on an edge
 * goes either way. Takes x and y apart so the grid lookup allocates nothing per test.
 */
export function inRing(ring: readonly Point[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether a point (normalized) is inside a camera polygon. */
export function pointInPolygon([x, y]: Point, polygon: readonly Point[]): boolean {
  return inRing(polygon, x, y);
}

/** x coordinates where the horizontal line at y crosses the rings, sorted (even-odd pairs are inside spans). */
export function scanCrossings(rings: readonly (readonly Point[])[], y: number): number[] {
  const xs: number[] = [];
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i]!;
      const [xj, yj] = ring[j]!;
      if (yi > y !== yj > y) xs.push(((xj - xi) * (y - yi)) / (yj - yi) + xi);
    }
  }
  return xs.sort((a, b) => a - b);
}

// ---- Boxes and frames (normalized) ----

export const WHOLE_FRAME: Point[] = [
  [0, 0],
  [1, 0],
  [1, 1],
  [0, 1],
];

export function area(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (area(a) + area(b) - inter);
}

export function centre(b: Box): Point {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

/** Where an object stands: the middle of its box's bottom edge (feet, wheels). Zones are drawn on the ground. */
export function footPoint(box: Box): Point {
  return [(box[0] + box[2]) / 2, box[3]];
}

/** Shortest distance between two boxes (0 when they overlap). */
export function boxGap(a: Box, b: Box): number {
  const dx = Math.max(0, Math.max(a[0], b[0]) - Math.min(a[2], b[2]));
  const dy = Math.max(0, Math.max(a[1], b[1]) - Math.min(a[3], b[3]));
  return Math.hypot(dx, dy);
}

/** Clamps a box to the frame and orders its corners. */
export function clampBox([a, b, c, d]: Box): Box {
  const cl = (v: number) => Math.min(1, Math.max(0, v));
  return [cl(Math.min(a, c)), cl(Math.min(b, d)), cl(Math.max(a, c)), cl(Math.max(b, d))];
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
      const xs = scanCrossings([poly], cy);
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

// ---- Lon/lat (unit grids) ----

/** [lon, lat], GeoJSON order. */
export type Position = Point;
/** A GeoJSON polygon: outer ring first, then holes; each ring closed (first point repeated last). */
export type GeoPolygon = Position[][];
export interface GeoBBox {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

/** Tolerance for "on the boundary" in degrees: 1e-9° is about 0.1 mm. */
export const EPS = 1e-9;

/** Bounds of the polygons' outer rings (holes lie inside them). */
export function bboxOf(polys: GeoPolygon[]): GeoBBox {
  const b = { minLon: Infinity, minLat: Infinity, maxLon: -Infinity, maxLat: -Infinity };
  for (const p of polys) {
    for (const [x, y] of p[0] ?? []) {
      if (x < b.minLon) b.minLon = x;
      if (x > b.maxLon) b.maxLon = x;
      if (y < b.minLat) b.minLat = y;
      if (y > b.maxLat) b.maxLat = y;
    }
  }
  return b;
}

export function bboxContains(b: GeoBBox, x: number, y: number): boolean {
  return x >= b.minLon - EPS && x <= b.maxLon + EPS && y >= b.minLat - EPS && y <= b.maxLat + EPS;
}

export function bboxesIntersect(a: GeoBBox, b: GeoBBox): boolean {
  return a.minLon <= b.maxLon + EPS && b.minLon <= a.maxLon + EPS && a.minLat <= b.maxLat + EPS && b.minLat <= a.maxLat + EPS;
}

/** Inside the outer ring and in none of the holes. */
export function inGeoPolygon(poly: GeoPolygon, x: number, y: number): boolean {
  if (!poly[0] || !inRing(poly[0], x, y)) return false;
  for (let h = 1; h < poly.length; h++) if (inRing(poly[h]!, x, y)) return false;
  return true;
}

function orient(a: Position, b: Position, c: Position): number {
  const v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
  return Math.abs(v) < EPS * EPS ? 0 : Math.sign(v);
}

/** Do the segments cross at a point inside both (not touching at an end, not collinear)? */
export function properlyCross(a: Position, b: Position, c: Position, d: Position): boolean {
  const o1 = orient(a, b, c);
  const o2 = orient(a, b, d);
  const o3 = orient(c, d, a);
  const o4 = orient(c, d, b);
  return o1 * o2 < 0 && o3 * o4 < 0;
}

export function edges(poly: GeoPolygon): Array<[Position, Position]> {
  const out: Array<[Position, Position]> = [];
  for (const ring of poly) for (let i = 1; i < ring.length; i++) out.push([ring[i - 1]!, ring[i]!]);
  return out;
}

/** Metres per degree near a latitude (spherical Earth: good to ~0.5% at grid scale). */
export function metresPerDegree(lat: number): { lon: number; lat: number } {
  return { lon: 111_320 * Math.cos((lat * Math.PI) / 180), lat: 110_574 };
}

/** Area in m² (shoelace on locally scaled degrees; holes subtracted). */
export function areaM2(poly: GeoPolygon): number {
  const ref = poly[0]?.[0]?.[1] ?? 0;
  const m = metresPerDegree(ref);
  let total = 0;
  poly.forEach((ring, k) => {
    let s = 0;
    for (let i = 1; i < ring.length; i++) s += ring[i - 1]![0] * ring[i]![1] - ring[i]![0] * ring[i - 1]![1];
    const a = Math.abs(s / 2) * m.lon * m.lat;
    total += k === 0 ? a : -a;
  });
  return total;
}
