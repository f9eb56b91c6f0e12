import { dirname, isAbsolute, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { GatewayConfig } from './schema.js';
import { openYaml, SourceError, type SourceProblem, type YamlSource } from '../util/yaml-source.js';
import { loadProfiles, type LoadedProfile } from '../profiles/load.js';
import { loadGridMap, type LoadedGridMap } from '../pipeline/grids/load.js';
import { gridCodeProblem } from '../pipeline/grids/grid-code.js';
import { loadCodeTables, type CodeTable } from '../pipeline/reports/codes.js';
import { loadCameraProfiles } from '../pipeline/vision/rules/load.js';
import type { CameraProfile } from '../pipeline/vision/rules/profile.js';
import { resolveCameraPaths } from '../southbound/cameras/paths.js';
import { checkOpcuaConfig, resolveOpcuaPaths } from '../southbound/opcua/config-check.js';

export interface LoadedConfig {
  file: string;
  config: GatewayConfig;
  profiles: Map<string, LoadedProfile>;
  /** The unit-grid map, when the config names one. */
  grids?: LoadedGridMap;
  /** Case category names: the built-in table with the deployment's overrides. */
  codes?: CodeTable;
  /** Camera profiles (zone rules) when vision is configured. */
  cameraProfiles?: Map<string, CameraProfile>;
}

/**
 * Reads, substitutes ${ENV} secrets, validates and cross-checks a gateway config.
 * Throws SourceError listing every problem as `file:line: path: message`.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  // Every problem in one go: a duplicate key does not stop validation, and a section that does not validate
  // does not stop the checks of the others (they run on the config without the offending entries).
  const src = openYaml(file, { duplicateKeysOk: true });
  const problems: SourceProblem[] = src.syntaxProblems();
  const envProblems = src.substituteEnv(env);
  problems.push(...envProblems);
  // A missing variable already explains why its field is empty: one problem per cause.
  const unset = new Set(envProblems.map((p) => p.path));
  const { value, salvaged, problems: schemaProblems } = src.validate(GatewayConfig, [], unset);
  problems.push(...schemaProblems.filter((p) => !unset.has(p.path)));
  const valid = value ?? salvaged;
  if (!valid) throw new SourceError(problems);

  const config = resolvePaths(valid, dirname(resolve(file)));
  const early = problems.length;
  let profiles = new Map<string, LoadedProfile>();
  try {
    profiles = loadProfiles(config.profiles.dirs);
  } catch (e) {
    if (e instanceof SourceError) problems.push(...e.problems);
    else throw e;
  }
  if (profiles.size) problems.push(...crossCheck(config, profiles, src));
  problems.push(...checkFiles(config, src));
  let grids: LoadedGridMap | undefined;
  if (config.grids && existsSync(config.grids.file)) {
    try {
      grids = loadGridMap(config.grids);
      problems.push(...grids.problems.filter((p) => p.level === 'error').map(({ level: _l, ...p }) => p));
      problems.push(...gridCheck(config, grids, src));
    } catch (e) {
      problems.push(src.problem(['grids', 'file'], (e as Error).message));
    }
  }
  const codes = loadCodeTables(config.reports.codeTables.filter((f) => existsSync(f)));
  problems.push(...codes.problems);
  let cameraProfiles: Map<string, CameraProfile> | undefined;
  if (config.vision?.enabled) {
    try {
      cameraProfiles = loadCameraProfiles(config.vision.profileDirs);
      if (!cameraProfiles.has(config.vision.defaultProfile)) {
        problems.push(src.problem(['vision', 'defaultProfile'], `no camera profile "${config.vision.defaultProfile}" in ${config.vision.profileDirs.join(', ')} (known: ${[...cameraProfiles.keys()].join(', ') || 'none'})`));
      }
    } catch (e) {
      if (e instanceof SourceError) problems.push(...e.problems);
      else throw e;
    }
  }
  // A field whose variable is unset was checked with a stop-gap value: what the later checks say of it is noise.
  if (problems.length) throw new SourceError(problems.filter((p, i) => i < early || !unset.has(p.path)));
  return { file, config, profiles, ...(grids && { grids }), codes: codes.table, ...(cameraProfiles && { cameraProfiles }) };
}

/** Grids named in the config must exist in the map; a device must land in a grid (or have a fallback). */
function gridCheck(c: GatewayConfig, g: LoadedGridMap, src: YamlSource): SourceProblem[] {
  const out: SourceProblem[] = [];
  const known = (path: (string | number)[], code: string) => {
    const why = gridCodeProblem(code, g.map.codeLength);
    if (why) out.push(src.problem(path, why));
    else if (!g.map.has(code)) out.push(src.problem(path, `grid ${code} is not in the grid map ${g.file}`));
  };
  if (c.gateway.gridId) known(['gateway', 'gridId'], c.gateway.gridId);
  c.devices.forEach((d, i) => {
    if (d.gridId) return known(['devices', i, 'gridId'], d.gridId);
    const loc = d.location ?? c.gateway.location;
    if (loc && !g.map.lookup(loc) && !c.gateway.gridId) {
      out.push(src.problem(['devices', i, d.location ? 'location' : 'id'], `location ${loc.lat}, ${loc.lon} is outside every grid of ${g.file}, and neither devices[${i}].gridId nor gateway.gridId is set`));
    }
  });
  return out;
}

function abs(base: string, p: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

function resolvePaths(c: GatewayConfig, base: string): GatewayConfig {
  const tls = <T extends { ca?: string; cert?: string; key?: string } | undefined>(t: T): T =>
    t ? { ...t, ...(t.ca && { ca: abs(base, t.ca) }), ...(t.cert && { cert: abs(base, t.cert) }), ...(t.key && { key: abs(base, t.key) }) } : t;
  return {
    ...c,
    gateway: { ...c.gateway, dataDir: abs(base, c.gateway.dataDir) },
    profiles: { dirs: c.profiles.dirs.map((d) => abs(base, d)) },
    broker: { ...c.broker, tls: tls(c.broker.tls) },
    uplink: { ...c.uplink, tls: tls(c.uplink.tls) },
    api: { ...c.api, ...(c.api.tls && { tls: { cert: abs(base, c.api.tls.cert), key: abs(base, c.api.tls.key) } }) },
    lns: c.lns.map((l) => ({ ...l, tls: tls(l.tls) })),
    ...(c.grids && { grids: { ...c.grids, file: abs(base, c.grids.file) } }),
    reports: { ...c.reports, codeTables: c.reports.codeTables.map((f) => abs(base, f)) },
    ...(c.vision && {
      vision: {
        ...c.vision,
        profileDirs: c.vision.profileDirs.map((d) => abs(base, d)),
        detector: { ...c.vision.detector, ...(c.vision.detector.model && { model: { ...c.vision.detector.model, path: abs(base, c.vision.detector.model.path) } }) },
      },
    }),
    ...resolveCameraPaths(c, base),
    opcua: resolveOpcuaPaths(c.opcua, base),
  };
}

function crossCheck(c: GatewayConfig, profiles: Map<string, LoadedProfile>, src: YamlSource): SourceProblem[] {
  const out: SourceProblem[] = [];
  c.devices.forEach((d, i) => {
    const lp = profiles.get(d.profile);
    if (!lp) {
      out.push(src.problem(['devices', i, 'profile'], `unknown profile "${d.profile}" (known: ${[...profiles.keys()].sort().join(', ')})`));
      return;
    }
    const p = lp.profile;
    if (p.transport === 'lorawan' && !d.lorawan) out.push(src.problem(['devices', i], `profile ${p.id} is a LoRaWAN device: give lorawan.devEui`));
    if (p.transport === 'mqtt-json' && !d.credentials && !c.broker.deviceKeySecret && !c.broker.allowAnonymous) {
      out.push(src.problem(['devices', i], 'an MQTT device needs credentials (gridgate devices add) or broker.deviceKeySecret'));
    }
    for (const rule of Object.keys(d.alarms)) {
      if (!p.alarms.some((r) => r.id === rule)) out.push(src.problem(['devices', i, 'alarms', rule], `profile ${p.id} has no alarm rule "${rule}"`));
    }
    for (const param of Object.keys(d.params)) {
      if (!(param in p.params)) out.push(src.problem(['devices', i, 'params', param], `profile ${p.id} has no parameter "${param}" (it has: ${Object.keys(p.params).join(', ') || 'none'})`));
    }
  });
  for (const p of checkOpcuaConfig(c, profiles)) out.push(src.problem(p.path, p.message));
  return out;
}

function checkFiles(c: GatewayConfig, src: YamlSource): SourceProblem[] {
  const out: SourceProblem[] = [];
  const check = (path: (string | number)[], f: string | undefined) => {
    if (f && !existsSync(f)) out.push(src.problem(path, `file not found: ${f}`));
  };
  if (c.broker.tls) for (const k of ['cert', 'key', 'ca'] as const) check(['broker', 'tls', k], c.broker.tls[k]);
  for (const k of ['cert', 'key', 'ca'] as const) check(['uplink', 'tls', k], c.uplink.tls?.[k]);
  for (const k of ['cert', 'key'] as const) check(['api', 'tls', k], c.api.tls?.[k]);
  check(['grids', 'file'], c.grids?.file);
  c.reports.codeTables.forEach((f, i) => check(['reports', 'codeTables', i], f));
  check(['vision', 'detector', 'model', 'path'], c.vision?.detector.model?.path);
  c.cameras.forEach((cam, i) => cam.source.kind === 'file' && check(['cameras', i, 'source', 'path'], cam.source.path));
  return out;
}
