import type { Location } from '@gridgate/contract';
import { areaM2, bboxesIntersect, bboxOf, edges, EPS, metresPerDegree, properlyCross, scanCrossings, type GeoPolygon } from '../../model/geometry.js';
import type { Grid, GridMap } from './grid-map.js';
import { gridCodeProblem } from './grid-code.js';

export interface Overlap {
  a: string;
  b: string;
  /** A point inside both. */
  at: Location;
}

export interface Gap {
  /** Centre of the uncovered area. */
  at: Location;
  areaM2: number;
}

/** Something that gets a grid from the map: a device, a camera zone, a site, the cabinet itself. */
export interface Placeable {
  kind: 'device' | 'zone' | 'site' | 'gateway';
  id: string;
  location?: Location;
  /** An explicit grid in the config (override). */
  gridId?: string;
}

export interface Placement extends Placeable {
  /** The grid the location falls in. */
  lookedUp?: string;
  /** What it will use: the override, else the looked-up grid. */
  effective?: string;
  problem?: string;
  level?: 'error' | 'warning';
}

/** Pairs of grids whose insides overlap (shared edges and corners are fine: grids tile the ground). */
export function findOverlaps(map: GridMap): Overlap[] {
  const out: Overlap[] = [];
  const gs = map.grids;
  for (let i = 0; i < gs.length; i++) {
    for (let j = i + 1; j < gs.length; j++) {
      const a = gs[i]!;
      const b = gs[j]!;
      if (!bboxesIntersect(a.bbox, b.bbox)) continue;
      const at = overlapPoint(a, b);
      if (at) out.push({ a: a.code, b: b.code, at });
    }
  }
  return out;
}

function overlapPoint(a: Grid, b: Grid): Location | undefined {
  for (const pa of a.polygons) {
    for (const pb of b.polygons) {
      const hit = polygonsOverlap(pa, pb);
      if (hit) return { lat: hit[1], lon: hit[0] };
    }
  }
  return undefined;
}

/** Inside spans of a polygon along the horizontal line at y, as [from, to] pairs. */
function spans(p: GeoPolygon, y: number): Array<[number, number]> {
  const xs = scanCrossings(p, y);
  const out: Array<[number, number]> = [];
  for (let k = 0; k + 1 < xs.length; k += 2) out.push([xs[k]!, xs[k + 1]!]);
  return out;
}

/**
 * A point inside both polygons, or undefined when they only touch. Complete for overlaps of any area:
 * where the outlines cross, the crossing test finds it; where they do not, the overlap holds across a
 * whole horizontal slab between vertex heights, so the slab's middle line finds it.
 */
function polygonsOverlap(a: GeoPolygon, b: GeoPolygon): [number, number] | undefined {
  for (const [p, q] of edges(a)) {
    for (const [r, s] of edges(b)) {
      if (properlyCross(p, q, r, s)) return [(p[0] + q[0] + r[0] + s[0]) / 4, (p[1] + q[1] + r[1] + s[1]) / 4];
    }
  }
  const ba = bboxOf([a]);
  const bb = bboxOf([b]);
  const lo = Math.max(ba.minLat, bb.minLat);
  const hi = Math.min(ba.maxLat, bb.maxLat);
  if (hi - lo <= EPS) return undefined;
  const ys = [lo, hi, ...[...a, ...b].flat().map((v) => v[1]).filter((y) => y > lo && y < hi)].sort((x, y) => x - y);
  for (let i = 1; i < ys.length; i++) {
    if (ys[i]! - ys[i - 1]! <= EPS) continue;
    const y = (ys[i]! + ys[i - 1]!) / 2;
    for (const [a0, a1] of spans(a, y)) {
      for (const [b0, b1] of spans(b, y)) {
        const from = Math.max(a0, b0);
        const to = Math.min(a1, b1);
        if (to - from > 10 * EPS) return [(from + to) / 2, y];
      }
    }
  }
  return undefined;
}

/**
 * Holes in the covered area: ground enclosed by grids but in none of them. Scans a lattice of
 * `cellM` (grown so at most `maxCells` are scanned) row by row, floods the uncovered cells from the
 * map's edge, and reports what the flood cannot reach. Slivers thinner than a cell can slip through.
 */
export function findGaps(map: GridMap, opts: { cellM?: number; maxCells?: number; minAreaM2?: number } = {}): { gaps: Gap[]; cellM: number } {
  const gs = map.grids;
  if (!gs.length) return { gaps: [], cellM: opts.cellM ?? 5 };
  const all = bboxOf(gs.flatMap((g) => g.polygons));
  const m = metresPerDegree((all.minLat + all.maxLat) / 2);
  let cellM = opts.cellM ?? 5;
  const maxCells = opts.maxCells ?? 2_000_000;
  const span = { x: (all.maxLon - all.minLon) * m.lon, y: (all.maxLat - all.minLat) * m.lat };
  while ((span.x / cellM + 3) * (span.y / cellM + 3) > maxCells) cellM *= 1.5;
  const dx = cellM / m.lon;
  const dy = cellM / m.lat;
  // One empty cell of margin all round, so the flood starts outside everything.
  const x0 = all.minLon - dx;
  const y0 = all.minLat - dy;
  const nx = Math.ceil((all.maxLon - all.minLon) / dx) + 3;
  const ny = Math.ceil((all.maxLat - all.minLat) / dy) + 3;
  const COVERED = 1;
  const OUTSIDE = 2;
  const cell = new Uint8Array(nx * ny);
  for (let iy = 0; iy < ny; iy++) {
    const y = y0 + (iy + 0.5) * dy;
    for (const g of gs) {
      if (y < g.bbox.minLat || y > g.bbox.maxLat) continue;
      for (const p of g.polygons) {
        const xs = scanCrossings(p, y);
        for (let k = 0; k + 1 < xs.length; k += 2) {
          const from = Math.max(0, Math.ceil((xs[k]! - x0) / dx - 0.5));
          const to = Math.min(nx - 1, Math.floor((xs[k + 1]! - x0) / dx - 0.5));
          for (let ix = from; ix <= to; ix++) cell[iy * nx + ix] = COVERED;
        }
      }
    }
  }
  const flood = (start: number, mark: number, visit?: (i: number) => void) => {
    const stack = [start];
    cell[start] = mark;
    while (stack.length) {
      const i = stack.pop()!;
      visit?.(i);
      const ix = i % nx;
      const iy = (i - ix) / nx;
      for (const [nx2, ny2] of [[ix - 1, iy], [ix + 1, iy], [ix, iy - 1], [ix, iy + 1]] as const) {
        if (nx2 < 0 || ny2 < 0 || nx2 >= nx || ny2 >= ny) continue;
        const j = ny2 * nx + nx2;
        if (cell[j] === 0) {
          cell[j] = mark;
          stack.push(j);
        }
      }
    }
  };
  flood(0, OUTSIDE);
  const gaps: Gap[] = [];
  const cellArea = cellM * cellM;
  for (let i = 0; i < cell.length; i++) {
    if (cell[i] !== 0) continue;
    let n = 0;
    let sx = 0;
    let sy = 0;
    flood(i, 3, (k) => {
      n++;
      sx += k % nx;
      sy += Math.floor(k / nx);
    });
    const area = n * cellArea;
    if (area < (opts.minAreaM2 ?? cellArea)) continue;
    gaps.push({ at: { lon: round7(x0 + (sx / n + 0.5) * dx), lat: round7(y0 + (sy / n + 0.5) * dy) }, areaM2: Math.round(area) });
  }
  return { gaps, cellM };
}

const round7 = (x: number) => Math.round(x * 1e7) / 1e7;

/** Where each thing lands: explicit grid checked against the map, location looked up. */
export function place(map: GridMap, items: Placeable[], fallback?: string): Placement[] {
  return items.map((it) => {
    const found = it.location ? map.lookup(it.location)?.code : undefined;
    const base: Placement = { ...it, ...(found && { lookedUp: found }) };
    if (it.gridId) {
      const codeErr = gridCodeProblem(it.gridId, map.codeLength);
      if (codeErr) return { ...base, level: 'error', problem: codeErr };
      if (!map.has(it.gridId)) return { ...base, level: 'error', problem: `grid ${it.gridId} is not in the grid map` };
      if (found && found !== it.gridId) return { ...base, effective: it.gridId, level: 'warning', problem: `explicit grid ${it.gridId}, but its location is in grid ${found}` };
      if (it.location && !found) return { ...base, effective: it.gridId, level: 'warning', problem: `explicit grid ${it.gridId}; its location is outside every grid` };
      return { ...base, effective: it.gridId };
    }
    if (found) return { ...base, effective: found };
    if (!it.location) return fallback ? { ...base, effective: fallback } : { ...base, level: 'error', problem: 'no location and no grid' };
    return {
      ...base,
      ...(fallback && { effective: fallback }),
      level: fallback ? 'warning' : 'error',
      problem: `location ${it.location.lat}, ${it.location.lon} is outside every grid${fallback ? ` (falls back to gateway.gridId ${fallback})` : ''}`,
    };
  });
}

/** Total area of the map, m². */
export function totalAreaM2(map: GridMap): number {
  return Math.round(map.grids.reduce((s, g) => s + g.polygons.reduce((t, p) => t + areaM2(p), 0), 0));
}
