import type { Location } from '@gridgate/contract';
import { bboxContains, bboxOf, inGeoPolygon, type GeoBBox, type GeoPolygon, type Position } from '../../model/geometry.js';
import { gcj02ToWgs84 } from './gcj02.js';
import { gridCodeProblem, type GridCodeLength } from './grid-code.js';

export interface Grid {
  code: string;
  name?: string;
  /** WGS84, [lon, lat]. */
  polygons: GeoPolygon[];
  bbox: GeoBBox;
  /** Index of the feature in the source file. */
  feature: number;
}

export interface GridMapOptions {
  codeProperty: string;
  nameProperty: string;
  codeLength: GridCodeLength;
  crs: 'wgs84' | 'gcj02';
}

export const defaultGridMapOptions: GridMapOptions = { codeProperty: 'code', nameProperty: 'name', codeLength: 14, crs: 'wgs84' };

export interface GridMapProblem {
  level: 'error' | 'warning';
  /** Feature index in the file, when the problem is in one feature. */
  feature?: number;
  code?: string;
  message: string;
}

/** The parsed grid map: point-in-polygon lookup by WGS84 location, and membership by code. */
export class GridMap {
  readonly byCode = new Map<string, Grid>();
  private readonly cells = new Map<string, Grid[]>();
  private readonly cellDeg: number;

  constructor(
    readonly grids: Grid[],
    readonly codeLength: GridCodeLength,
  ) {
    // Deterministic winner on a shared edge: the lowest code.
    grids.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
    for (const g of grids) this.byCode.set(g.code, g);
    // A uniform bucket index sized to a typical grid: a lookup tests a handful of polygons, not all of them.
    const sizes = grids.map((g) => Math.max(g.bbox.maxLon - g.bbox.minLon, g.bbox.maxLat - g.bbox.minLat)).sort((a, b) => a - b);
    this.cellDeg = Math.max(sizes[sizes.length >> 1] ?? 0.01, 1e-5);
    for (const g of grids) {
      for (let ix = this.cell(g.bbox.minLon); ix <= this.cell(g.bbox.maxLon); ix++) {
        for (let iy = this.cell(g.bbox.minLat); iy <= this.cell(g.bbox.maxLat); iy++) {
          const k = `${ix},${iy}`;
          const list = this.cells.get(k);
          if (list) list.push(g);
          else this.cells.set(k, [g]);
        }
      }
    }
  }

  private cell(deg: number): number {
    return Math.floor(deg / this.cellDeg);
  }

  /** The grid that contains the location (WGS84), or undefined when it is outside every grid. */
  lookup(loc: Location): Grid | undefined {
    const candidates = this.cells.get(`${this.cell(loc.lon)},${this.cell(loc.lat)}`) ?? [];
    for (const g of candidates) {
      if (!bboxContains(g.bbox, loc.lon, loc.lat)) continue;
      if (g.polygons.some((p) => inGeoPolygon(p, loc.lon, loc.lat))) return g;
    }
    return undefined;
  }

  /** Reference implementation without the index (benchmarks compare against it). */
  lookupLinear(loc: Location): Grid | undefined {
    for (const g of this.grids) {
      if (!bboxContains(g.bbox, loc.lon, loc.lat)) continue;
      if (g.polygons.some((p) => inGeoPolygon(p, loc.lon, loc.lat))) return g;
    }
    return undefined;
  }

  has(code: string): boolean {
    return this.byCode.has(code);
  }

  /** Parses a GeoJSON FeatureCollection. Features with errors are left out and named in `problems`. */
  static parse(json: unknown, opts: Partial<GridMapOptions> = {}): { map: GridMap; problems: GridMapProblem[] } {
    const o = { ...defaultGridMapOptions, ...opts };
    const problems: GridMapProblem[] = [];
    const root = json as { type?: unknown; features?: unknown };
    if (!root || typeof root !== 'object' || root.type !== 'FeatureCollection' || !Array.isArray(root.features)) {
      throw new Error('a grid map is a GeoJSON FeatureCollection: {"type": "FeatureCollection", "features": [...]}');
    }
    const grids: Grid[] = [];
    const seen = new Map<string, number>();
    root.features.forEach((f: unknown, i: number) => {
      const feature = f as { type?: unknown; geometry?: { type?: unknown; coordinates?: unknown }; properties?: Record<string, unknown> | null };
      const err = (message: string, code?: string) => problems.push({ level: 'error', feature: i, ...(code && { code }), message });
      if (!feature || feature.type !== 'Feature') return err('not a GeoJSON Feature');
      const raw = feature.properties?.[o.codeProperty];
      if (raw === undefined || raw === null || raw === '') return err(`no "${o.codeProperty}" property (the grid code)`);
      if (typeof raw === 'number') return err(`"${o.codeProperty}" is a number (${raw}); write grid codes as strings so no digit is lost`);
      const code = String(raw);
      const codeErr = gridCodeProblem(code, o.codeLength);
      if (codeErr) return err(codeErr, code);
      const prev = seen.get(code);
      if (prev !== undefined) return err(`grid code ${code} is used again (first by feature ${prev})`, code);
      const geom = feature.geometry;
      let polys: unknown[];
      if (geom?.type === 'Polygon') polys = [geom.coordinates];
      else if (geom?.type === 'MultiPolygon' && Array.isArray(geom.coordinates)) polys = geom.coordinates;
      else return err(`geometry must be a Polygon or MultiPolygon (got ${String(geom?.type ?? 'none')})`, code);
      const parsed: GeoPolygon[] = [];
      for (const p of polys) {
        const r = parsePolygon(p, o.crs);
        if (typeof r === 'string') return err(r, code);
        for (const w of r.warnings) problems.push({ level: 'warning', feature: i, code, message: w });
        parsed.push(r.polygon);
      }
      const nameRaw = feature.properties?.[o.nameProperty];
      seen.set(code, i);
      grids.push({ code, ...(typeof nameRaw === 'string' && nameRaw && { name: nameRaw }), polygons: parsed, bbox: bboxOf(parsed), feature: i });
    });
    return { map: new GridMap(grids, o.codeLength), problems };
  }
}

function parsePolygon(p: unknown, crs: 'wgs84' | 'gcj02'): { polygon: GeoPolygon; warnings: string[] } | string {
  if (!Array.isArray(p) || !p.length) return 'a polygon needs at least its outer ring';
  const warnings: string[] = [];
  const rings: Position[][] = [];
  for (const [k, r] of p.entries()) {
    if (!Array.isArray(r)) return `ring ${k} is not an array of positions`;
    const ring: Position[] = [];
    for (const pos of r) {
      if (!Array.isArray(pos) || pos.length < 2 || typeof pos[0] !== 'number' || typeof pos[1] !== 'number' || !Number.isFinite(pos[0]) || !Number.isFinite(pos[1])) {
        return `ring ${k} has a position that is not [lon, lat] numbers: ${JSON.stringify(pos)}`;
      }
      const [lon, lat] = pos as [number, number];
      if (Math.abs(lat) > 90 || Math.abs(lon) > 180) {
        return `ring ${k}: position ${JSON.stringify(pos)} is out of range; GeoJSON positions are [longitude, latitude]${Math.abs(lon) <= 90 && Math.abs(lat) <= 180 ? ' (this looks like [lat, lon])' : ''}`;
      }
      if (crs === 'gcj02') {
        const w = gcj02ToWgs84(lat, lon);
        ring.push([w.lon, w.lat]);
      } else ring.push([lon, lat]);
    }
    const first = ring[0];
    const last = ring[ring.length - 1];
    if (first && last && (first[0] !== last[0] || first[1] !== last[1])) {
      warnings.push(`ring ${k} is not closed (GeoJSON repeats the first position last); closed it`);
      ring.push([first[0], first[1]]);
    }
    if (ring.length < 4) return `ring ${k} has ${ring.length} positions; a closed ring needs at least 4`;
    rings.push(ring);
  }
  return { polygon: rings, warnings };
}
