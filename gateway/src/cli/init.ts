import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { isMap, isScalar, parseDocument, type Document, type YAMLMap } from 'yaml';
import { ConfigRefused, writeConfigSafely } from '../config/safe-write.js';
import { GridsConfig } from '../pipeline/grids/config.js';
import { readEnvFile } from '../local/provision/env-file.js';
import { envReference } from '../util/env-ref.js';
import { defaultEnvFile, provideApiToken } from './provision.js';
import { loadGridMap } from '../pipeline/grids/load.js';
import { defaultProfilesDir, firmwareConfigsDir } from './paths.js';

export const HARDWARE: Record<string, { template: string; board: string }> = {
  rpi4: { template: 'rpi4.yaml', board: 'Raspberry Pi 4' },
  rpi5: { template: 'rpi5.yaml', board: 'Raspberry Pi 5' },
  jetson: { template: 'jetson-orin-nano.yaml', board: 'NVIDIA Jetson Orin Nano' },
};

export interface InitOptions {
  hardware: string;
  site: string;
  /** Grid map path as written into the config (relative to the config's folder). */
  gridMapRef: string;
  crs: 'wgs84' | 'gcj02';
  id: string;
  location?: { lat: number; lon: number };
  gridId?: string;
  /** Where the grid id came from, for the comment beside it. */
  gridIdFrom?: string;
  /** Profile folder as written into the config (relative to the config's folder). */
  profilesRef: string;
  schemaRef: string;
  command: string;
  date: string;
}

/** `a/b` with forward slashes, and `./` in front when it does not leave the folder. */
function rel(from: string, to: string): string {
  const r = relative(from, to).split(sep).join('/');
  return r.startsWith('.') ? r : `./${r}`;
}

/**
 * How the written config names a file: relative (`./grids/x.geojson`) when it lies in or below the config's
 * folder, so that the folder can move as a whole; else its absolute path, never a `../../` climb into the
 * checkout that breaks as soon as the config is copied anywhere else.
 */
export function fileRef(configDir: string, target: string): string {
  const r = relative(configDir, target);
  return r && !r.startsWith('..') && !isAbsolute(r) ? rel(configDir, target) : target.split(sep).join('/');
}

/**
 * A site name as an id fragment: latin letters and digits. A name written in another script (Chinese) gives
 * nothing, not the digits left over from it ("洋泾 民生路 3号箱" is not "gw-3"): init asks for --id instead.
 */
export function slug(s: string): string {
  if (/\p{L}/u.test(s.replace(/\p{Script=Latin}/gu, ''))) return '';
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

export function parseLocation(s: string, what = '--location'): { lat: number; lon: number } {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(s);
  const lat = Number(m?.[1]);
  const lon = Number(m?.[2]);
  if (!m || Math.abs(lat) > 90 || Math.abs(lon) > 180) throw new Error(`${what} "${s}": give latitude,longitude in WGS84 degrees, e.g. 31.2336,121.5329`);
  return { lat, lon };
}

/** Drops whole comment lines matching `re` from every key's comment (the template's "lands here" notes). */
function dropCommentLines(doc: Document, re: RegExp): void {
  const root = doc.contents as YAMLMap;
  for (const p of root.items) {
    const k = p.key as { commentBefore?: string | null };
    if (k && typeof k === 'object' && k.commentBefore) {
      k.commentBefore = k.commentBefore
        .split('\n')
        .filter((l) => !re.test(l))
        .join('\n');
    }
  }
}

function keyComment(doc: Document, key: string, text: string): void {
  const root = doc.contents as YAMLMap;
  const pair = root.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (pair && isScalar(pair.key)) pair.key.commentBefore = pair.key.commentBefore ? `${pair.key.commentBefore}\n${text}` : text;
}

/** The template's header without its how-to-copy paragraph (done now) and the schema line (rewritten). */
function templateNotes(header: string): string[] {
  const lines = header.split('\n').filter((l) => !l.includes('yaml-language-server'));
  const from = lines.findIndex((l) => /^\s*How to use it/.test(l));
  const to = lines.findIndex((l) => /^\s*What this hardware/.test(l));
  return from >= 0 && to > from ? [...lines.slice(0, from), ...lines.slice(to)] : lines;
}

/**
 * The config for a new site from a board template: the gateway's id, site, location and grid, the grid map,
 * and the profile folder filled in; the template's comments kept (what the board sustains, how to install);
 * secrets left as ${ENV} references. Pure: text in, text out.
 */
export function buildInitConfig(templateText: string, o: InitOptions): string {
  const doc = parseDocument(templateText);
  if (doc.errors.length || !isMap(doc.contents)) throw new Error(`template is not a YAML mapping: ${doc.errors[0]?.message ?? ''}`);
  const root = doc.contents;
  const gw = doc.get('gateway', true) as YAMLMap;
  gw.set('id', o.id);
  gw.set('site', o.site);
  gw.set('name', o.site);
  if (o.gridId) {
    gw.set('gridId', doc.createNode(o.gridId));
    const g = gw.get('gridId', true);
    if (isScalar(g)) {
      g.type = 'QUOTE_DOUBLE';
      g.comment = ` ${o.gridIdFrom ?? 'the cabinet’s own grid'}; devices without a location fall back to it`;
    }
  } else {
    gw.delete('gridId');
  }
  if (o.location) {
    const loc = doc.createNode({ lat: o.location.lat, lon: o.location.lon });
    loc.flow = true;
    gw.set('location', loc);
    const l = gw.get('location', true) as { comment?: string };
    l.comment = ' WGS84 degrees: where the cabinet stands';
  } else {
    gw.delete('location');
  }
  const up = doc.get('uplink', true) as YAMLMap;
  up.set('username', o.id);
  const dirs = doc.createNode([`\${GRIDGATE_PROFILES_DIR:-${o.profilesRef}}`]);
  (doc.get('profiles', true) as YAMLMap).set('dirs', dirs);
  // The grid map right after the gateway section, where an engineer looks for the site's geography.
  const grids = doc.createNode({ file: o.gridMapRef, ...(o.crs !== 'wgs84' && { crs: o.crs }) });
  const pair = doc.createPair('grids', grids);
  (pair.key as { commentBefore?: string }).commentBefore = ' Unit-grid map: devices and camera zones get their 14-digit grid ID from their location.';
  const at = root.items.findIndex((p) => isScalar(p.key) && p.key.value === 'log');
  root.items.splice(at < 0 ? root.items.length : at, 0, pair as (typeof root.items)[number]);
  // The template's line about the grid map (filled in now), and never a development note ("(issue 4) … land here").
  dropCommentLines(doc, /^\s*grids:|\(issue \d+\)|\blands? here\b/);
  keyComment(doc, 'devices', ' Sensors: add them with `gridgate devices add --config <this file> --profile <id> --id <id> --location lat,lon`.');
  const first = root.items[0]!.key as { commentBefore?: string };
  const header = first.commentBefore ?? '';
  first.commentBefore = [
    ` yaml-language-server: $schema=${o.schemaRef}`,
    ` Site ${o.site}: written by \`${o.command}\` on ${o.date}`,
    ` from firmware-configs/${HARDWARE[o.hardware]!.template}. Next: gridgate devices add, gridgate provision --central <url>,`,
    ' gridgate console set-password, gridgate doctor (docs/field-engineer.md).',
    '',
    ...templateNotes(header),
  ].join('\n');
  return doc.toString({ lineWidth: 0 });
}

/** What to say when --grid-map names no file: the maps there are, and what a grid map is. */
export function missingGridMap(given: string, cwd = process.cwd()): string {
  const maps = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => /\.(geo)?json$/i.test(n)).sort().map((n) => rel(cwd, join(dir, n))) : []);
  const found = [...new Set([...maps(dirname(resolve(cwd, given))), ...maps(join(firmwareConfigsDir, 'grids'))])];
  return [
    `--grid-map ${given}: no such file`,
    found.length ? `  grid maps there are: ${found.join(', ')}` : '  no grid map found beside it or in firmware-configs/grids/',
    "  a grid map is a GeoJSON FeatureCollection with one Polygon per unit grid and its 14-digit code and name as properties",
    "  (export it from the city's grid management system, or draw it in QGIS); the format is in docs/reports.md (Grid map); `gridgate grids check --map <file>` checks one",
  ].join('\n');
}

interface InitCliOptions {
  hardware: string;
  site: string;
  gridMap: string;
  out: string;
  id?: string;
  location?: string;
  gridId?: string;
  crs: string;
  envFile?: string;
  force?: boolean;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented config for a new gateway from the board template (firmware-configs/), the site and its grid map; validated before it is written')
    .requiredOption('--hardware <board>', `rpi4 | rpi5 | jetson`)
    .requiredOption('--site <name>', 'site name (a street, a crossing, a cabinet number; Chinese is fine)')
    .requiredOption('--grid-map <file>', 'GeoJSON of the unit grids around the site')
    .option('-o, --out <file>', 'config file to write', 'gateway.yaml')
    .option('--id <id>', 'gateway id, unique in the city (default: gw-<site in latin letters>; a site name in Chinese needs --id)')
    .option('--location <lat,lon>', 'where the cabinet stands (WGS84); its grid is looked up in the grid map')
    .option('--grid-id <code>', "the cabinet's unit grid (default: looked up from --location)")
    .option('--crs <datum>', 'datum of the grid map: wgs84 | gcj02', 'wgs84')
    .option('--env-file <file>', "environment file for the gateway's secrets: a random API token goes there (default: the config's name with .env)")
    .option('-f, --force', 'overwrite an existing file')
    .action((o: InitCliOptions) => {
      const hw = HARDWARE[o.hardware];
      if (!hw) throw new Error(`--hardware ${o.hardware}: choose one of ${Object.keys(HARDWARE).join(', ')}`);
      const out = resolve(o.out);
      if (existsSync(out) && !o.force) throw new Error(`${o.out} exists: choose another --out, or --force to overwrite it`);
      const crs = GridsConfig.shape.crs.parse(o.crs);
      const id = o.id ?? (slug(o.site) ? `gw-${slug(o.site)}` : undefined);
      if (!id) {
        throw new Error(
          `give the gateway an id with --id, e.g. --id gw-yangjing-minsheng-3: the site name "${o.site}" is not in latin letters, and init does not romanize it (no pinyin offline). An id is latin letters, digits and "-", unique in the city; it names the gateway's MQTT topics and its uplink user`,
        );
      }
      const gridMap = resolve(o.gridMap);
      if (!existsSync(gridMap)) throw new Error(missingGridMap(o.gridMap));
      const map = loadGridMap(GridsConfig.parse({ file: gridMap, crs }));
      const errors = map.problems.filter((p) => p.level === 'error');
      if (errors.length) throw new Error(`the grid map has problems:\n${errors.map((p) => `${p.file}:${p.line}: ${p.path}: ${p.message}`).join('\n')}`);
      const location = o.location ? parseLocation(o.location) : undefined;
      let gridId = o.gridId;
      let gridIdFrom: string | undefined;
      if (!gridId && location) {
        const g = map.map.lookup(location);
        if (!g) throw new Error(`--location ${o.location} is outside every grid of ${o.gridMap}: check the location (WGS84, lat,lon) and the map's datum (--crs gcj02?), or give --grid-id`);
        gridId = g.code;
        gridIdFrom = `looked up in the grid map at the cabinet's location${g.name ? ` (${g.name})` : ''}`;
      }
      const dir = dirname(out);
      mkdirSync(dir, { recursive: true });
      const text = buildInitConfig(readFileSync(join(firmwareConfigsDir, hw.template), 'utf8'), {
        hardware: o.hardware,
        site: o.site,
        gridMapRef: fileRef(dir, gridMap),
        crs,
        id,
        ...(location && { location }),
        ...(gridId && { gridId }),
        ...(gridIdFrom && { gridIdFrom }),
        profilesRef: fileRef(dir, defaultProfilesDir),
        schemaRef: fileRef(dir, join(firmwareConfigsDir, 'gateway.schema.json')),
        command: `gridgate ${process.argv.slice(2).map((a) => (/[\s"'$`\\]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`,
        date: new Date().toISOString().slice(0, 10),
      });
      let unset: string[];
      try {
        unset = writeConfigSafely(out, text, { placeholders: true }).unset;
      } catch (e) {
        if (e instanceof ConfigRefused) throw new Error(e.message);
        throw e;
      }
      const envFile = defaultEnvFile(out, o.envFile);
      const token = provideApiToken(text, envFile);
      const tokenVar = envReference(parseDocument(text).getIn(['api', 'token']));
      const stillUnset = unset.filter((v) => v !== tokenVar || !readEnvFile(envFile)[v]);
      const lines = [
        `wrote ${o.out} for ${hw.board}: gateway ${id}, site ${o.site}`,
        ...(token ? [`  API token   ${token}`] : []),
        `  grid map    ${fileRef(dir, gridMap)} (${map.map.grids.length} grids)${gridId ? `; the cabinet is in grid ${gridId}` : ''}`,
        ...(location ? [] : ['  location    not set: give every device its own --location (or add gateway.location)']),
        ...(stillUnset.length ? [`  secrets     the gateway's environment must set ${stillUnset.join(', ')}`] : []),
        'next:',
        `  gridgate devices add --config ${o.out} --profile <profile> --id <device> --location <lat,lon>`,
        `  gridgate provision --config ${o.out} --central mqtts://<central broker>:8883`,
        `  gridgate console set-password --config ${o.out}`,
        `  gridgate doctor --config ${o.out} --env-file ${rel(process.cwd(), envFile)}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
