import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { RawUplink, RejectReason } from '../../src/model/readings.js';
import { buildDevices } from '../../src/runtime/devices.js';
import { CabinetSim, type CabinetSimOptions } from '../../fakes/sim/opcua-cabinet.js';
import { applicationUriOf } from '../../src/southbound/opcua/config.js';
import type { EndpointDeps } from '../../src/southbound/opcua/endpoint.js';
import { planEndpoints, type EndpointPlan } from '../../src/southbound/opcua/plan.js';
import { createLogger } from '../../src/util/log.js';
import { freePort } from './net.js';
import { repoRoot } from './shared.js';
import { tempDir } from './temp.js';

export { removeTempDirs, tempDir } from './temp.js';

/** The simulated cabinet server on a free loopback port, with its own PKI folder. */
export async function startSim(o: Partial<CabinetSimOptions> = {}): Promise<CabinetSim> {
  const sim = new CabinetSim({ port: await freePort(), pkiDir: tempDir('gg-opcua-sim-'), changeIntervalMs: 500, ...o });
  await sim.start();
  return sim;
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A real pino logger whose JSON lines are kept for assertions. */
export function captureLog(level = 'debug'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { log: createLogger(level, dest as never), lines };
}

/** A config with one endpoint and some devices, through the real loader, turned into the endpoint's plan. */
export function planFor(endpoint: string, devices: string, extraProfiles: Record<string, string> = {}): { plan: EndpointPlan; dir: string } {
  const dir = tempDir('gg-opcua-plan-');
  mkdirSync(join(dir, 'profiles'));
  for (const [name, text] of Object.entries(extraProfiles)) writeFileSync(join(dir, 'profiles', `${name}.yaml`), text);
  const file = join(dir, 'gw.yaml');
  writeFileSync(
    file,
    `gateway: { id: gw-t, gridId: "31011500301201", location: { lat: 31.2, lon: 121.5 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}${Object.keys(extraProfiles).length ? `, ${join(dir, 'profiles')}` : ''}] }
broker: { enabled: false }
uplink: { url: "mqtt://127.0.0.1:1" }
opcua:
  endpoints:
${endpoint.replace(/^/gm, '    ')}
devices:
${devices}`,
  );
  const loaded = loadConfig(file);
  const [plan] = planEndpoints(loaded.config.opcua.endpoints, buildDevices(loaded.config, loaded.profiles));
  return { plan: plan!, dir };
}

/** Records what an endpoint hands to the gateway. */
export class Recorder {
  readonly uplinks: RawUplink[] = [];
  readonly rejects: Array<{ deviceId: string; reason: RejectReason; detail: string }> = [];
  readonly availability: Array<{ up: boolean; at: number; reason?: string }> = [];

  deps(pkiDir: string, log: Logger, extra: Partial<EndpointDeps> = {}): EndpointDeps {
    return {
      pkiDir,
      applicationName: 'GridGate test',
      applicationUri: applicationUriOf('gw-t'),
      accept: (raw) => this.uplinks.push(raw),
      reject: (deviceId, reason, detail) => this.rejects.push({ deviceId, reason, detail }),
      onAvailability: (up, at, reason) => this.availability.push({ up, at, ...(reason && { reason }) }),
      trustHint: '`gridgate opcua trust --config gw.yaml URL`',
      log,
      ...extra,
    };
  }

  valuesOf(deviceId: string, field: string): unknown[] {
    return this.uplinks.filter((u) => u.deviceId === deviceId && u.content.kind === 'values' && field in u.content.values).map((u) => (u.content as { values: Record<string, unknown> }).values[field]);
  }
}

export const tempPki = () => tempDir('gg-opcua-pki-');

/** An endpoint entry for the plan: fast reconnects so tests do not wait on the production backoff. */
export function endpointYaml(url: string, extra = ''): string {
  return `- id: ep
  url: ${url}
${/^reconnect:/m.test(extra) ? '' : '  reconnect: { minMs: 200, maxMs: 1000 }\n'}  offlineAlarmAfterS: 3
${extra.replace(/^/gm, '  ')}`;
}
