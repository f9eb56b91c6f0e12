/** Planar geometry on lon/lat degrees, enough for unit grids (~100 m across): no projection needed. */

/** [lon, lat], GeoJSON order. */
export type Position = [number, number];
/** Outer ring first, then holes; each ring closed (first point repeated last). */
export type Polygon = Position[][];
export interface BBox {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

/** Tolerance for "on the boundary": 1e-9° is about 0.1 mm. */
export const EPS = 1e-9;

export function bboxOf(polys: Polygon[]): BBox {
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

export function bboxContains(b: BBox, x: number, y: number): boolean {
  return x >= b.minLon - EPS && x <= b.maxLon + EPS && y >= b.minLat - EPS && y <= b.maxLat + EPS;
}

export function bboxesIntersect(a: BBox, b: BBox): boolean {
  return a.minLon <= b.maxLon + EPS && b.minLon <= a.maxLon + EPS && a.minLat <= b.maxLat + EPS && b.minLat <= a.maxLat + EPS;
}

/** Even-odd ray casting; points exactly on an edge go either way (use onBoundary to tell). */
export function inRing(ring: Position[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function inPolygon(poly: Polygon, x: number, y: number): boolean {
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

export function edges(poly: Polygon): Array<[Position, Position]> {
  const out: Array<[Position, Position]> = [];
  for (const ring of poly) for (let i = 1; i < ring.length; i++) out.push([ring[i - 1]!, ring[i]!]);
  return out;
}

/** x coordinates where the horizontal line at y crosses the polygon's rings (even-odd pairs = inside spans). */
export function scanCrossings(poly: Polygon, y: number): number[] {
  const xs: number[] = [];
  for (const ring of poly) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i]!;
      const [xj, yj] = ring[j]!;
      if (yi > y !== yj > y) xs.push(((xj - xi) * (y - yi)) / (yj - yi) + xi);
    }
  }
  return xs.sort((a, b) => a - b);
}

/** Metres per degree near a latitude (spherical Earth: good to ~0.5% at grid scale). */
export function metresPerDegree(lat: number): { lon: number; lat: number } {
  return { lon: 111_320 * Math.cos((lat * Math.PI) / 180), lat: 110_574 };
}

/** Area in m² (shoelace on locally scaled degrees; holes subtracted). */
export function areaM2(poly: Polygon): number {
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
