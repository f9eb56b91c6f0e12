// The shape rules of a camera zone or mask polygon, in normalized frame coordinates (0..1). One pure function
// shared by the console's zone editor (in the browser, as the user draws) and the gateway's config validation,
// so both refuse the same polygons with the same words. No imports: the browser loads this file as it is (the
// console's browser project compiles it and serves it among its assets, see local/console/web/tsconfig.json).

export type Pt = readonly [number, number];

export type ShapeProblemCode = 'too-few-points' | 'too-many-points' | 'out-of-frame' | 'duplicate-point' | 'self-intersects' | 'no-area';

export interface ShapeProblem {
  code: ShapeProblemCode;
  /** Indices of the corners involved (0-based): the corner out of frame, or the first corners of two crossing edges. */
  points: number[];
  message: string;
}

export const MAX_POLYGON_POINTS = 100;
const EPS = 1e-9;

function cross(o: Pt, a: Pt, b: Pt): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

function onSegment(p: Pt, a: Pt, b: Pt): boolean {
  return Math.min(a[0], b[0]) - EPS <= p[0] && p[0] <= Math.max(a[0], b[0]) + EPS && Math.min(a[1], b[1]) - EPS <= p[1] && p[1] <= Math.max(a[1], b[1]) + EPS;
}

/** Whether segments ab and cd share any point (touching and collinear overlap count). */
export function segmentsIntersect(a: Pt, b: Pt, c: Pt, d: Pt): boolean {
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  if (((d1 > EPS && d2 < -EPS) || (d1 < -EPS && d2 > EPS)) && ((d3 > EPS && d4 < -EPS) || (d3 < -EPS && d4 > EPS))) return true;
  if (Math.abs(d1) <= EPS && onSegment(a, c, d)) return true;
  if (Math.abs(d2) <= EPS && onSegment(b, c, d)) return true;
  if (Math.abs(d3) <= EPS && onSegment(c, a, b)) return true;
  if (Math.abs(d4) <= EPS && onSegment(d, a, b)) return true;
  return false;
}

/** Twice the signed area (shoelace). */
function area2(poly: readonly Pt[]): number {
  let s = 0;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) s += (poly[j]![0] - poly[i]![0]) * (poly[j]![1] + poly[i]![1]);
  return s;
}

const fmt = (n: number) => (Number.isFinite(n) ? String(Math.round(n * 1000) / 1000) : String(n));

/**
 * Everything wrong with a polygon as a zone: fewer than 3 or more than MAX_POLYGON_POINTS corners, a corner
 * outside the frame (0..1), two equal corners in a row, edges that cross or touch (other than neighbours at
 * their shared corner), no area. An empty list means the polygon is fine.
 */
export function polygonProblems(poly: readonly Pt[]): ShapeProblem[] {
  const out: ShapeProblem[] = [];
  const n = poly.length;
  if (n < 3) return [{ code: 'too-few-points', points: [], message: `a zone needs at least 3 corners; it has ${n}` }];
  if (n > MAX_POLYGON_POINTS) out.push({ code: 'too-many-points', points: [], message: `a zone has at most ${MAX_POLYGON_POINTS} corners; it has ${n}` });
  poly.forEach(([x, y], i) => {
    if (!(Number.isFinite(x) && Number.isFinite(y) && x >= 0 && x <= 1 && y >= 0 && y <= 1)) {
      out.push({ code: 'out-of-frame', points: [i], message: `corner ${i + 1} (${fmt(x)}, ${fmt(y)}) is outside the picture: coordinates run from 0 to 1` });
    }
  });
  if (out.some((p) => p.code === 'out-of-frame')) return out;
  for (let i = 0; i < n; i++) {
    const a = poly[i]!;
    const b = poly[(i + 1) % n]!;
    if (Math.abs(a[0] - b[0]) <= EPS && Math.abs(a[1] - b[1]) <= EPS) out.push({ code: 'duplicate-point', points: [i, (i + 1) % n], message: `corners ${i + 1} and ${((i + 1) % n) + 1} are the same point` });
  }
  if (out.length) return out;
  // Every pair of edges that are not neighbours must not meet; neighbours must meet only at their shared corner
  // (one folding back along the other is a spike: the polygon touches itself).
  outer: for (let i = 0; i < n; i++) {
    const a = poly[i]!;
    const b = poly[(i + 1) % n]!;
    for (let j = i + 1; j < n; j++) {
      const c = poly[j]!;
      const d = poly[(j + 1) % n]!;
      const neighbours = j === i + 1 || (i === 0 && j === n - 1);
      if (neighbours) {
        const [shared, p, q] = j === i + 1 ? [b, a, d] : [a, b, c];
        // Collinear and pointing the same way from the shared corner: they overlap.
        if (Math.abs(cross(shared, p, q)) <= EPS && (p[0] - shared[0]) * (q[0] - shared[0]) + (p[1] - shared[1]) * (q[1] - shared[1]) > 0) {
          out.push({ code: 'self-intersects', points: [i, j], message: `edges ${i + 1} and ${j + 1} fold back over each other` });
          break outer;
        }
        continue;
      }
      if (segmentsIntersect(a, b, c, d)) {
        out.push({ code: 'self-intersects', points: [i, j], message: `the zone crosses itself: edge ${i + 1}–${((i + 1) % n) + 1} meets edge ${j + 1}–${((j + 1) % n) + 1}` });
        break outer;
      }
    }
  }
  if (!out.length && Math.abs(area2(poly)) < 1e-8) out.push({ code: 'no-area', points: [], message: 'the corners lie on one line: the zone has no area' });
  return out;
}
