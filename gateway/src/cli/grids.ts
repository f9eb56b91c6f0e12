import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { GatewayConfig } from '../config/schema.js';
import { formatProblem, YamlSource } from '../util/yaml-source.js';
import { envRefs } from '../util/env-ref.js';
import { findGaps, findOverlaps, place, totalAreaM2, type Placeable } from '../pipeline/grids/check.js';
import { GridsConfig } from '../pipeline/grids/config.js';
import { gcj02ToWgs84 } from '../pipeline/grids/gcj02.js';
import { loadGridMap } from '../pipeline/grids/load.js';

interface CheckOpts {
  config?: string;
  map?: string;
  codeLength?: string;
  crs?: string;
  cellM?: string;
  json?: boolean;
}

/**
 * Reads a gateway config for its grid map and the things placed on it. Secrets are irrelevant here:
 * unset ${VARS} read as placeholders so a field engineer can check grids without the cabinet's secrets.
 */
function readConfig(file: string): GatewayConfig {
  const src = YamlSource.read(file);
  const syntax = src.syntaxProblems();
  if (syntax.length) throw new Error(syntax.map(formatProblem).join('\n'));
  const env = { ...process.env };
  for (const m of readFileSync(file, 'utf8').matchAll(envRefs())) if (m[2] === undefined) env[m[1]!] ??= 'unset-variable-placeholder';
  src.substituteEnv(env);
  const { value, problems } = src.validate(GatewayConfig);
  if (!value) throw new Error(problems.map(formatProblem).join('\n'));
  return value;
}

export function registerGrids(program: Command): void {
  const grids = program.command('grids').description('unit-grid maps (单元网格): check a map, find the grid of a place');

  grids
    .command('check')
    .description('validate grid codes, find overlaps and gaps, and list devices outside every grid')
    .option('-c, --config <file>', 'gateway config (its grids: section, devices and gateway location)')
    .option('-m, --map <geojson>', 'a grid map on its own (instead of --config)')
    .option('--code-length <n>', 'with --map: 14 (national) or 15 (Beijing form)', '14')
    .option('--crs <crs>', 'with --map: wgs84 or gcj02', 'wgs84')
    .option('--cell-m <m>', 'lattice size for the gap search, metres', '5')
    .option('--json', 'print the result as JSON')
    .action((o: CheckOpts) => {
      let gridsCfg: GridsConfig;
      let items: Placeable[] = [];
      let fallback: string | undefined;
      if (o.config) {
        const c = readConfig(o.config);
        if (!c.grids) throw new Error(`${o.config} has no grids: section (grids: { file: grids/my-map.geojson })`);
        gridsCfg = { ...c.grids, file: resolve(dirname(resolve(o.config)), c.grids.file) };
        fallback = c.gateway.gridId;
        items = [
          { kind: 'gateway', id: c.gateway.id, ...(c.gateway.location && { location: c.gateway.location }), ...(c.gateway.gridId && { gridId: c.gateway.gridId }) },
          ...c.devices.map((d): Placeable => ({ kind: 'device', id: d.id, ...((d.location ?? c.gateway.location) && { location: d.location ?? c.gateway.location }), ...(d.gridId && { gridId: d.gridId }) })),
        ];
      } else if (o.map) {
        gridsCfg = GridsConfig.parse({ file: o.map, codeLength: Number(o.codeLength), crs: o.crs });
      } else {
        throw new Error('give --config <gateway config> or --map <geojson>');
      }
      const loaded = loadGridMap(gridsCfg);
      const map = loaded.map;
      const overlaps = findOverlaps(map);
      const { gaps, cellM } = findGaps(map, { cellM: Number(o.cellM) });
      // The gateway's own entry is its fallback grid: checked as an override, never "falling back" to itself.
      const placed = place(map, items, fallback).map((p) => (p.kind === 'gateway' && !p.location && p.gridId ? { ...p, level: undefined, problem: undefined } : p));
      const errors = loaded.problems.filter((p) => p.level === 'error').length + overlaps.length + gaps.length + placed.filter((p) => p.level === 'error').length;
      const warnings = loaded.problems.filter((p) => p.level === 'warning').length + placed.filter((p) => p.level === 'warning').length;
      if (o.json) {
        process.stdout.write(JSON.stringify({ file: loaded.file, grids: map.grids.length, areaM2: totalAreaM2(map), codeLength: map.codeLength, crs: gridsCfg.crs, problems: loaded.problems, overlaps, gaps, gapCellM: cellM, placements: placed, errors, warnings }, null, 2) + '\n');
      } else {
        const out = (s: string) => process.stdout.write(s + '\n');
        out(`grid map ${loaded.file}: ${map.grids.length} grid(s), ${totalAreaM2(map).toLocaleString('en')} m², ${map.codeLength}-digit codes, ${gridsCfg.crs}`);
        for (const p of loaded.problems) out(`  ${p.level === 'error' ? 'ERROR' : 'warn '} ${formatProblem(p)}`);
        out(overlaps.length ? `  ERROR ${overlaps.length} overlap(s):` : '  ok    no overlaps');
        for (const x of overlaps) out(`        grids ${x.a} and ${x.b} overlap near ${x.at.lat.toFixed(6)}, ${x.at.lon.toFixed(6)}`);
        out(gaps.length ? `  ERROR ${gaps.length} gap(s) between grids (lattice ${cellM.toFixed(1)} m):` : `  ok    no gaps (lattice ${cellM.toFixed(1)} m)`);
        for (const g of gaps) out(`        about ${g.areaM2} m² in no grid, around ${g.at.lat}, ${g.at.lon}`);
        if (placed.length) {
          out(`placements (${placed.length}):`);
          for (const p of placed) {
            const where = p.location ? `(${p.location.lat}, ${p.location.lon})` : '(no location)';
            const tag = p.level === 'error' ? 'ERROR' : p.level === 'warning' ? 'warn ' : 'ok   ';
            out(`  ${tag} ${p.kind.padEnd(7)} ${p.id.padEnd(14)} ${(p.effective ?? '-').padEnd(15)} ${where}${p.problem ? `  ${p.problem}` : ''}`);
          }
          const outside = placed.filter((p) => p.location && !p.lookedUp && p.kind !== 'gateway');
          out(outside.length ? `outside every grid: ${outside.map((p) => p.id).join(', ')}` : 'outside every grid: none');
        }
        out(`${errors} error(s), ${warnings} warning(s)`);
      }
      if (errors) process.exitCode = 2;
    });

  grids
    .command('locate')
    .description('the grid a position falls in')
    .requiredOption('-c, --config <file>', 'gateway config with a grids: section')
    .requiredOption('--lat <deg>', 'latitude')
    .requiredOption('--lon <deg>', 'longitude')
    .option('--gcj02', 'the position is GCJ-02 (from a Chinese web map): convert it to WGS84 first')
    .action((o: { config: string; lat: string; lon: string; gcj02?: boolean }) => {
      const c = readConfig(o.config);
      if (!c.grids) throw new Error(`${o.config} has no grids: section`);
      const map = loadGridMap({ ...c.grids, file: resolve(dirname(resolve(o.config)), c.grids.file) }).map;
      let loc = { lat: Number(o.lat), lon: Number(o.lon) };
      if (!Number.isFinite(loc.lat) || !Number.isFinite(loc.lon)) throw new Error('--lat and --lon take decimal degrees');
      if (o.gcj02) {
        loc = gcj02ToWgs84(loc.lat, loc.lon);
        process.stdout.write(`WGS84 ${loc.lat.toFixed(7)}, ${loc.lon.toFixed(7)} (converted from GCJ-02)\n`);
      }
      const g = map.lookup(loc);
      if (!g) {
        process.stdout.write(`outside every grid of ${c.grids.file}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${g.code}${g.name ? `  ${g.name}` : ''}\n`);
    });
}
