import { dirname, isAbsolute, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { GatewayConfig } from './schema.js';
import { SourceError, YamlSource, type SourceProblem } from './yaml-source.js';
import { loadProfiles, type LoadedProfile } from '../profiles/load.js';
import { checkOpcuaConfig, resolveOpcuaPaths } from '../southbound/opcua/config-check.js';

export interface LoadedConfig {
  file: string;
  config: GatewayConfig;
  profiles: Map<string, LoadedProfile>;
}

/**
 * Reads, substitutes ${ENV} secrets, validates and cross-checks a gateway config.
 * Throws SourceError listing every problem as `file:line: path: message`.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let src: YamlSource;
  try {
    src = YamlSource.read(file);
  } catch (e) {
    throw new SourceError([{ file, line: 1, path: '', message: `cannot read: ${(e as Error).message}` }]);
  }
  const syntax = src.syntaxProblems();
  if (syntax.length) throw new SourceError(syntax);
  const problems: SourceProblem[] = src.substituteEnv(env);
  const { value, problems: schemaProblems } = src.validate(GatewayConfig);
  // A missing variable already explains why its field is empty: one problem per cause.
  const unset = new Set(problems.map((p) => p.path));
  problems.push(...schemaProblems.filter((p) => !unset.has(p.path)));
  if (!value) throw new SourceError(problems);

  const config = resolvePaths(value, dirname(resolve(file)));
  let profiles = new Map<string, LoadedProfile>();
  try {
    profiles = loadProfiles(config.profiles.dirs);
  } catch (e) {
    if (e instanceof SourceError) problems.push(...e.problems);
    else throw e;
  }
  if (profiles.size) problems.push(...crossCheck(config, profiles, src));
  problems.push(...checkFiles(config, src));
  if (problems.length) throw new SourceError(problems);
  return { file, config, profiles };
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
  return out;
}
