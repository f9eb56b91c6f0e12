// Grid lookups and map checks on a district-sized map: 1,600 unit grids (Jiangyin has 1,558 third-level
// grids), each about 100 m × 100 m, drawn as a perturbed lattice so no two are the same rectangle.
// Prints medians of 5 runs and the ratio of the bucket index against a linear scan (the reference).
import { performance } from 'node:perf_hooks';
import { findGaps, findOverlaps } from '../src/pipeline/grids/check.js';
import { GridMap } from '../src/pipeline/grids/grid-map.js';
import { prng } from '../fakes/sim/scenario.js';

const N = 40; // 40 × 40 grids
const DLAT = 0.0009; // ~100 m
const DLON = 0.00105; // ~100 m at 31°
const LAT0 = 31.2;
const LON0 = 121.5;
const r = prng(42);
const nodes: Array<Array<[number, number]>> = [];
for (let i = 0; i <= N; i++) {
  nodes.push([]);
  for (let j = 0; j <= N; j++) {
    const inner = i > 0 && j > 0 && i < N && j < N;
    nodes[i]!.push([LON0 + j * DLON + (inner ? (r() - 0.5) * DLON * 0.3 : 0), LAT0 + i * DLAT + (inner ? (r() - 0.5) * DLAT * 0.3 : 0)]);
  }
}
const features = [];
for (let i = 0; i < N; i++) {
  for (let j = 0; j < N; j++) {
    const n = nodes;
    const ring = [n[i]![j]!, n[i]![j + 1]!, n[i + 1]![j + 1]!, n[i + 1]![j]!, n[i]![j]!];
    const community = String(Math.floor((i * N + j) / 99) + 1).padStart(3, '0');
    const serial = String(((i * N + j) % 99) + 1).padStart(2, '0');
    features.push({ type: 'Feature', properties: { code: `320281001${community}${serial}` }, geometry: { type: 'Polygon', coordinates: [ring] } });
  }
}
const { map, problems } = GridMap.parse({ type: 'FeatureCollection', features });
if (problems.length) throw new Error(`bench map has problems: ${problems[0]!.message}`);

const points = Array.from({ length: 100_000 }, () => ({ lat: LAT0 + r() * N * DLAT, lon: LON0 + r() * N * DLON }));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
function timeIt(fn: () => void, runs = 5): number {
  fn(); // warm-up
  const t: number[] = [];
  for (let k = 0; k < runs; k++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  return median(t);
}

let found = 0;
const indexed = timeIt(() => {
  for (const p of points) if (map.lookup(p)) found++;
});
const linear = timeIt(() => {
  for (const p of points) if (map.lookupLinear(p)) found++;
});
for (const p of points.slice(0, 2000)) if (map.lookup(p)?.code !== map.lookupLinear(p)?.code) throw new Error('index and scan disagree');
const overlaps = timeIt(() => void findOverlaps(map), 3);
const gaps = timeIt(() => void findGaps(map), 3);

const perUs = (ms: number) => ((ms * 1000) / points.length).toFixed(2);
console.log(`grid map: ${map.grids.length} grids, ${points.length.toLocaleString('en')} lookups per run, median of 5 runs`);
console.log(`  lookup, bucket index   ${perUs(indexed)} µs each   (${Math.round(points.length / (indexed / 1000)).toLocaleString('en')}/s)`);
console.log(`  lookup, linear scan    ${perUs(linear)} µs each   (reference)`);
console.log(`  index vs scan          ${(linear / indexed).toFixed(1)}× faster`);
console.log(`  grids check: overlaps  ${overlaps.toFixed(0)} ms; gaps (5 m lattice) ${gaps.toFixed(0)} ms`);
if (found === 0) console.log('(no point found a grid: the bench is broken)');
