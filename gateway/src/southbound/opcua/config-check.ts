import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { DeviceConfig } from '../../model/device-config.js';
import type { LoadedProfile } from '../../profiles/load.js';
import type { OpcuaConfig } from './config.js';
import type { EndpointDefaults } from './endpoint-device.js';
import { placeholders } from './plan.js';

export interface ConfigProblem {
  path: (string | number)[];
  message: string;
}

/** The parts of a gateway config the OPC-UA checks read. */
export interface OpcuaCheckInput extends EndpointDefaults {
  opcua: OpcuaConfig;
  devices: readonly DeviceConfig[];
}

const abs = (base: string, p: string) => (isAbsolute(p) ? p : resolve(base, p));

/** Paths in the opcua section, relative to the config file's folder. */
export function resolveOpcuaPaths(o: OpcuaConfig, base: string): OpcuaConfig {
  return {
    ...o,
    ...(o.pkiDir && { pkiDir: abs(base, o.pkiDir) }),
    endpoints: o.endpoints.map((e) => (e.user.kind === 'certificate' ? { ...e, user: { ...e.user, certificate: abs(base, e.user.certificate), privateKey: abs(base, e.user.privateKey) } } : e)),
  };
}

/** Checks that need the whole config and the profiles: bindings, ids, placeholders, files. */
export function checkOpcuaConfig(c: OpcuaCheckInput, profiles: ReadonlyMap<string, LoadedProfile>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const endpoints = new Map<string, number>();
  const deviceIds = new Set(c.devices.map((d) => d.id));
  c.opcua.endpoints.forEach((e, i) => {
    const prev = endpoints.get(e.id);
    if (prev !== undefined) out.push({ path: ['opcua', 'endpoints', i, 'id'], message: `endpoint id "${e.id}" is already used by opcua.endpoints[${prev}]` });
    else endpoints.set(e.id, i);
    if (e.securityMode !== 'None' && e.securityPolicy === 'None') {
      out.push({ path: ['opcua', 'endpoints', i, 'securityPolicy'], message: `securityMode ${e.securityMode} needs a security policy (e.g. Basic256Sha256), not None` });
    }
    if (deviceIds.has(e.id)) out.push({ path: ['opcua', 'endpoints', i, 'id'], message: `"${e.id}" is also a device id; an endpoint publishes its availability under its id, so the two must differ` });
    if (e.user.kind === 'certificate') {
      for (const k of ['certificate', 'privateKey'] as const) if (!existsSync(e.user[k])) out.push({ path: ['opcua', 'endpoints', i, 'user', k], message: `file not found: ${e.user[k]}` });
    }
    const bound = c.devices.some((d) => d.opcua?.endpoint === e.id);
    if (!bound && (!e.location && !c.gateway.location || !e.gridId && !c.gateway.gridId)) {
      out.push({ path: ['opcua', 'endpoints', i], message: 'no device uses this endpoint and the gateway has no location/gridId: give the endpoint its own location and gridId' });
    }
  });
  c.devices.forEach((d, i) => {
    const p = profiles.get(d.profile)?.profile;
    if (!p) return; // reported by the generic check
    if (p.transport === 'opcua' && !d.opcua) {
      out.push({ path: ['devices', i], message: `profile ${p.id} is read over OPC-UA: give opcua.endpoint (one of: ${[...endpoints.keys()].join(', ') || 'none configured'})` });
      return;
    }
    if (!d.opcua) return;
    if (p.transport !== 'opcua') out.push({ path: ['devices', i, 'opcua'], message: `profile ${p.id} is a ${p.transport} device, not an OPC-UA one` });
    if (!endpoints.has(d.opcua.endpoint)) out.push({ path: ['devices', i, 'opcua', 'endpoint'], message: `no opcua endpoint with id "${d.opcua.endpoint}" (configured: ${[...endpoints.keys()].join(', ') || 'none'})` });
    const missing = new Set<string>();
    for (const n of Object.values(p.opcua?.nodes ?? {})) for (const v of placeholders(n.nodeId ?? '')) if (!(v in d.opcua.vars)) missing.add(v);
    if (missing.size) out.push({ path: ['devices', i, 'opcua'], message: `profile ${p.id} has node ids with placeholders: set ${[...missing].map((v) => `opcua.vars.${v}`).join(', ')}` });
  });
  return out;
}
