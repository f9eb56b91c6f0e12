import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { SourceError } from '../src/util/yaml-source.js';
import { findGaps, findOverlaps, place } from '../src/pipeline/grids/check.js';
import { gcj02ToWgs84, wgs84ToGcj02 } from '../src/pipeline/grids/gcj02.js';
import { gridCodeProblem } from '../src/pipeline/grids/grid-code.js';
import { GridMap } from '../src/pipeline/grids/grid-map.js';
import { areaM2 } from '../src/model/geometry.js';
import { loadGridMap } from '../src/pipeline/grids/load.js';
import { prng } from '../fakes/sim/scenario.js';
import { runCli } from './helpers/gateway-process.js';
import { repoRoot } from './helpers/shared.js';

const DEMO_MAP = join(repoRoot, 'firmware-configs', 'grids', 'yangjing-demo.geojson');
const demoJson = () => JSON.parse(readFileSync(DEMO_MAP, 'utf8')) as { type: string; features: Array<{ type: string; properties: Record<string, unknown>; geometry: { type: string; coordinates: unknown } }> };

type Ring = Array<[number, number]>;
/** An axis-aligned square grid cell as a GeoJSON feature. */
function cell(code: string, lon0: number, lat0: number, lon1: number, lat1: number, holes: Ring[] = []) {
  const outer: Ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]];
  return { type: 'Feature', properties: { code }, geometry: { type: 'Polygon', coordinates: [outer, ...holes] } };
}
const fc = (...features: unknown[]) => ({ type: 'FeatureCollection', features });

describe('grid codes', () => {
  test('14-digit national form: county 6 + street 3 + community 3 + grid 2', () => {
    assert.equal(gridCodeProblem('31011500301205'), undefined);
    assert.match(gridCodeProblem('3101150030120')!, /13 digits; this map uses 14 digits/);
    assert.match(gridCodeProblem('310115003012051')!, /needs grids.codeLength: 15/);
    assert.match(gridCodeProblem('99011500301205')!, /province code/);
    assert.match(gridCodeProblem('31011500301200')!, /serial 0/);
    assert.match(gridCodeProblem('3101150030120a')!, /digits only/);
  });
  test("Beijing's 15-digit form when declared", () => {
    assert.equal(gridCodeProblem('110102001002003', 15), undefined);
    assert.match(gridCodeProblem('11010200100203', 15)!, /Beijing form/);
  });
});

describe('grid map lookup', () => {
  const { map, problems } = GridMap.parse(demoJson());

  test('the demo map: nine grids, no problems, devices land in different grids', () => {
    assert.deepEqual(problems, []);
    assert.equal(map.grids.length, 9);
    assert.equal(map.lookup({ lat: 31.2339, lon: 121.5331 })?.code, '31011500301205', 'cover-001 in the centre grid');
    assert.equal(map.lookup({ lat: 31.2341, lon: 121.5325 })?.code, '31011500301208');
    assert.equal(map.lookup({ lat: 31.2327, lon: 121.5345 })?.code, '31011500301203');
    assert.equal(map.lookup({ lat: 31.2329, lon: 121.5319 })?.code, '31011500301201');
    assert.equal(map.lookup({ lat: 31.25, lon: 121.5331 }), undefined, 'north of the map');
  });

  test('a point on a shared edge gets exactly one grid, the same every time', () => {
    const onEdge = { lat: 31.2318 + (31.23305 - 31.2318) / 2, lon: 121.53235 - 0.000015 };
    const a = map.lookup(onEdge)?.code;
    assert.ok(a, 'an edge point is in a grid');
    assert.equal(map.lookup(onEdge)?.code, a);
  });

  test('the bucket index finds what a linear scan finds (2,000 random points over and around the map)', () => {
    const r = prng(11);
    for (let i = 0; i < 2000; i++) {
      const loc = { lat: 31.2310 + r() * 0.0055, lon: 121.5300 + r() * 0.006 };
      assert.equal(map.lookup(loc)?.code, map.lookupLinear(loc)?.code, `at ${loc.lat}, ${loc.lon}`);
    }
  });

  test('holes and multipolygons', () => {
    const hole: Ring = [[121.51, 31.21], [121.52, 31.21], [121.52, 31.22], [121.51, 31.22], [121.51, 31.21]];
    const donut = cell('31011500301201', 121.5, 31.2, 121.53, 31.23, [hole]);
    const multi = { type: 'Feature', properties: { code: '31011500301202' }, geometry: { type: 'MultiPolygon', coordinates: [[[[121.6, 31.2], [121.61, 31.2], [121.61, 31.21], [121.6, 31.2]]], [[[121.7, 31.2], [121.71, 31.2], [121.71, 31.21], [121.7, 31.2]]]] } };
    const m = GridMap.parse(fc(donut, multi)).map;
    assert.equal(m.lookup({ lat: 31.205, lon: 121.505 })?.code, '31011500301201');
    assert.equal(m.lookup({ lat: 31.215, lon: 121.515 }), undefined, 'inside the hole');
    assert.equal(m.lookup({ lat: 31.201, lon: 121.709 })?.code, '31011500301202', 'second part of the multipolygon');
  });

  test('bad features are named with what is wrong and left out; the rest of the map works', () => {
    const { map: m, problems: p } = GridMap.parse(
      fc(
        cell('31011500301201', 121.5, 31.2, 121.51, 31.21),
        { type: 'Feature', properties: { code: 31011500301202 }, geometry: { type: 'Polygon', coordinates: [] } },
        cell('31011500301201', 121.52, 31.2, 121.53, 31.21),
        { type: 'Feature', properties: { code: '31011500301203' }, geometry: { type: 'Point', coordinates: [121.5, 31.2] } },
        { type: 'Feature', properties: { code: '31011500301204' }, geometry: { type: 'Polygon', coordinates: [[[31.2, 121.5], [31.21, 121.5], [31.21, 121.51], [31.2, 121.5]]] } },
        { type: 'Feature', properties: { code: '31011500301205' }, geometry: { type: 'Polygon', coordinates: [[[121.6, 31.2], [121.61, 31.2], [121.61, 31.21]]] } },
        { type: 'Feature', properties: { name: 'no code' }, geometry: { type: 'Polygon', coordinates: [] } },
      ),
    );
    const msg = (i: number) => p.filter((x) => x.feature === i).map((x) => x.message).join(' | ');
    assert.match(msg(1), /is a number .* write grid codes as strings/);
    assert.match(msg(2), /31011500301201 is used again \(first by feature 0\)/);
    assert.match(msg(3), /Polygon or MultiPolygon \(got Point\)/);
    assert.match(msg(4), /looks like \[lat, lon\]/);
    assert.match(msg(5), /not closed/);
    assert.equal(p.find((x) => x.feature === 5)?.level, 'warning', 'an open ring is closed, with a warning');
    assert.match(msg(6), /no "code" property/);
    assert.deepEqual(m.grids.map((g) => g.code).sort(), ['31011500301201', '31011500301205']);
    assert.throws(() => GridMap.parse({ type: 'Feature' }), /FeatureCollection/);
  });
});

describe('map checks', () => {
  test('the demo map has no overlaps and no gaps', () => {
    const { map } = GridMap.parse(demoJson());
    assert.deepEqual(findOverlaps(map), []);
    assert.deepEqual(findGaps(map).gaps, []);
  });

  test('neighbours that share an edge or a T-junction do not overlap; a shifted or duplicated grid does', () => {
    const ok = GridMap.parse(
      fc(cell('31011500301201', 121.5, 31.2, 121.51, 31.21), cell('31011500301202', 121.51, 31.2, 121.52, 31.205), cell('31011500301203', 121.51, 31.205, 121.52, 31.21)),
    ).map;
    assert.deepEqual(findOverlaps(ok), []);
    const shifted = GridMap.parse(fc(cell('31011500301201', 121.5, 31.2, 121.51, 31.21), cell('31011500301202', 121.509, 31.2, 121.52, 31.21))).map;
    const o = findOverlaps(shifted);
    assert.equal(o.length, 1);
    assert.deepEqual([o[0]!.a, o[0]!.b], ['31011500301201', '31011500301202']);
    assert.ok(o[0]!.at.lon > 121.5089 && o[0]!.at.lon < 121.5101, `the overlap is named where it is, got ${JSON.stringify(o[0]!.at)}`);
    const dup = GridMap.parse(fc(cell('31011500301201', 121.5, 31.2, 121.51, 31.21), cell('31011500301202', 121.5, 31.2, 121.51, 31.21))).map;
    assert.equal(findOverlaps(dup).length, 1, 'the same outline twice');
    const inner = GridMap.parse(fc(cell('31011500301201', 121.5, 31.2, 121.51, 31.21), cell('31011500301202', 121.502, 31.202, 121.505, 31.205))).map;
    assert.equal(findOverlaps(inner).length, 1, 'one grid inside another');
  });

  test('a grid missing from the middle is a gap of about its size; a missing corner is only the map’s edge', () => {
    const json = demoJson();
    const centre = json.features.findIndex((f) => f.properties.code === '31011500301205');
    const withoutCentre = { ...json, features: json.features.filter((_, i) => i !== centre) };
    const full = GridMap.parse(json).map;
    const centreArea = full.byCode.get('31011500301205')!;
    const { gaps } = findGaps(GridMap.parse(withoutCentre).map, { cellM: 2 });
    assert.equal(gaps.length, 1);
    const expected = centreArea.polygons.reduce((t, p) => t + areaM2(p), 0); // about 114 m × 111 m
    assert.ok(Math.abs(gaps[0]!.areaM2 - expected) / expected < 0.15, `gap of ${gaps[0]!.areaM2} m², expected about ${expected}`);
    assert.equal(full.lookup(gaps[0]!.at)?.code, centreArea.code, 'the gap is named where the centre grid was');
    const corner = json.features.findIndex((f) => f.properties.code === '31011500301201');
    assert.deepEqual(findGaps(GridMap.parse({ ...json, features: json.features.filter((_, i) => i !== corner) }).map).gaps, []);
  });

  test('placements: override checked against the map, outside listed, fallback named', () => {
    const { map } = GridMap.parse(demoJson());
    const p = place(
      map,
      [
        { kind: 'device', id: 'in', location: { lat: 31.2339, lon: 121.5331 } },
        { kind: 'device', id: 'override', location: { lat: 31.2339, lon: 121.5331 }, gridId: '31011500301201' },
        { kind: 'device', id: 'unknown', gridId: '31011500301299' },
        { kind: 'device', id: 'short', gridId: '3101150030129' },
        { kind: 'device', id: 'far', location: { lat: 31.3, lon: 121.6 } },
      ],
      '31011500301205',
    );
    const by = (id: string) => p.find((x) => x.id === id)!;
    assert.equal(by('in').effective, '31011500301205');
    assert.equal(by('in').problem, undefined);
    assert.equal(by('override').effective, '31011500301201');
    assert.match(by('override').problem!, /location is in grid 31011500301205/);
    assert.equal(by('unknown').level, 'error');
    assert.match(by('unknown').problem!, /not in the grid map/);
    assert.match(by('short').problem!, /13 digits/);
    assert.equal(by('far').level, 'warning');
    assert.match(by('far').problem!, /outside every grid \(falls back to gateway.gridId 31011500301205\)/);
    assert.equal(place(map, [{ kind: 'device', id: 'far', location: { lat: 31.3, lon: 121.6 } }])[0]!.level, 'error', 'no fallback: an error');
  });
});

describe('GCJ-02', () => {
  test('the published forward vector, and the inverse back to within a centimetre', () => {
    const g = wgs84ToGcj02(39.915, 116.404);
    assert.ok(Math.abs(g.lon - 116.41024449916938) < 1e-9 && Math.abs(g.lat - 39.91640428150164) < 1e-9, JSON.stringify(g));
    const r = prng(3);
    for (let i = 0; i < 200; i++) {
      const w = { lat: 20 + r() * 25, lon: 100 + r() * 20 };
      const back = gcj02ToWgs84(wgs84ToGcj02(w.lat, w.lon).lat, wgs84ToGcj02(w.lat, w.lon).lon);
      assert.ok(Math.abs(back.lat - w.lat) < 1e-7 && Math.abs(back.lon - w.lon) < 1e-7, `${JSON.stringify(w)} -> ${JSON.stringify(back)}`);
    }
    assert.deepEqual(wgs84ToGcj02(48.85, 2.35), { lat: 48.85, lon: 2.35 }, 'no offset outside China');
  });

  test('a grid map declared gcj02 is converted: a WGS84 device lands in the grid drawn on a Chinese web map', () => {
    // Draw the demo centre grid the way a GCJ-02 web map shows it (shifted by several hundred metres).
    const json = demoJson();
    const gcj = {
      ...json,
      features: json.features.map((f) => ({
        ...f,
        geometry: { ...f.geometry, coordinates: (f.geometry.coordinates as number[][][]).map((ring) => ring.map(([lon, lat]) => { const g = wgs84ToGcj02(lat!, lon!); return [g.lon, g.lat]; })) },
      })),
    };
    const device = { lat: 31.2339, lon: 121.5331 };
    assert.equal(GridMap.parse(gcj, { crs: 'wgs84' }).map.lookup(device)?.code, undefined, 'read as WGS84, the shifted map misses the device');
    assert.equal(GridMap.parse(gcj, { crs: 'gcj02' }).map.lookup(device)?.code, '31011500301205');
  });
});

describe('grid map in the gateway config', () => {
  const workspace = (mapJson: unknown, devices: string, gatewayGrid = '') => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-grids-'));
    writeFileSync(join(dir, 'map.geojson'), JSON.stringify(mapJson, null, 1));
    const file = join(dir, 'gw.yaml');
    writeFileSync(
      file,
      `gateway: { id: gw-1, location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state${gatewayGrid ? `, gridId: "${gatewayGrid}"` : ''} }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { allowAnonymous: true }
uplink: { url: "mqtt://127.0.0.1:1" }
grids: { file: map.geojson }
devices:
${devices}`,
    );
    return file;
  };

  test('devices get their grid from the map; an override not in the map, or a device outside with no fallback, is a config problem at its line', () => {
    const ok = workspace(demoJson(), `  - { id: c1, profile: generic-json-manhole-cover, location: { lat: 31.2341, lon: 121.5325 } }\n`);
    const loaded = loadConfig(ok);
    assert.equal(loaded.grids?.map.lookup({ lat: 31.2341, lon: 121.5325 })?.code, '31011500301208');

    const bad = workspace(
      demoJson(),
      `  - { id: c1, profile: generic-json-manhole-cover, gridId: "31011500301299" }\n  - { id: c2, profile: generic-json-manhole-cover, location: { lat: 31.3, lon: 121.6 } }\n  - { id: c3, profile: generic-json-manhole-cover, gridId: "310115003012051" }\n`,
    );
    const e = (() => {
      try {
        loadConfig(bad);
      } catch (x) {
        return x as SourceError;
      }
      throw new Error('expected a SourceError');
    })();
    assert.ok(e instanceof SourceError);
    const text = e.message;
    assert.match(text, /gw\.yaml:7: devices\[0\]\.gridId: grid 31011500301299 is not in the grid map/);
    assert.match(text, /gw\.yaml:8: devices\[1\]\.location: location 31\.3, 121\.6 is outside every grid/);
    assert.match(text, /devices\[2\]\.gridId: grid code "310115003012051" has 15 digits/);
  });

  test('a broken map is named with file:line of the feature', () => {
    const json = demoJson();
    json.features[3]!.properties.code = '3101150030120';
    const file = workspace(json, `  - { id: c1, profile: generic-json-manhole-cover, location: { lat: 31.2339, lon: 121.5331 } }\n`, '31011500301205');
    const { problems } = loadGridMap({ file: join(file, '..', 'map.geojson'), crs: 'wgs84', codeProperty: 'code', nameProperty: 'name', codeLength: 14 });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.path, /features\[3\]/);
    assert.ok(problems[0]!.line > 10, `line of the fourth feature, got ${problems[0]!.line}`);
    assert.throws(() => loadConfig(file), /map\.geojson:\d+: features\[3\]: grid code "3101150030120" has 13 digits/);
  });

  test('gridgate grids check: the demo passes and lists where each device lands; a gap fails with exit 2', async () => {
    const demo = await runCli(['grids', 'check', '--config', join(repoRoot, 'firmware-configs', 'demo.yaml')]);
    assert.equal(demo.code, 0, demo.stderr + demo.stdout);
    assert.match(demo.stdout, /9 grid\(s\)/);
    assert.match(demo.stdout, /device {2}cover-001 +31011500301205/);
    assert.match(demo.stdout, /outside every grid: none/);
    assert.match(demo.stdout, /0 error\(s\)/);

    const json = demoJson();
    const holed = { ...json, features: json.features.filter((f) => f.properties.code !== '31011500301205') };
    const file = workspace(holed, `  - { id: c1, profile: generic-json-manhole-cover, location: { lat: 31.2339, lon: 121.5331 } }\n  - { id: c2, profile: generic-json-manhole-cover, location: { lat: 31.2341, lon: 121.5325 } }\n`, '31011500301201');
    const r = await runCli(['grids', 'check', '--config', file, '--json']);
    assert.equal(r.code, 2, r.stderr);
    const j = JSON.parse(r.stdout) as { gaps: unknown[]; placements: Array<{ id: string; lookedUp?: string; level?: string }>; errors: number };
    assert.equal(j.gaps.length, 1);
    assert.equal(j.placements.find((p) => p.id === 'c1')!.level, 'warning', 'c1 sits in the gap: outside every grid, falls back');
    assert.equal(j.placements.find((p) => p.id === 'c2')!.lookedUp, '31011500301208');
  });
});
