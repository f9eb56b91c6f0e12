import { join } from 'node:path';
import type { Source, SourceDeps } from '../source.js';
import type { Device, DeviceRegistry } from '../../model/devices.js';
import { applicationUriOf, OWN_CERT, pkiDirOf, type OpcuaConfig } from './config.js';
import { ENDPOINT_OFFLINE_RULE } from './endpoint-device.js';
import type { EndpointStatus, OpcuaEndpoint } from './endpoint.js';
import { planEndpoints, type EndpointPlan } from './plan.js';

/** What the OPC-UA southbound needs from the gateway: the same entry as every other source, and its own section. */
export interface OpcuaSouthboundDeps extends SourceDeps {
  gateway: { id: string; dataDir: string };
  opcua: OpcuaConfig;
  /** Named in the hint to trust a server's certificate. */
  configFile: string;
  devices: DeviceRegistry;
  /** The device is reachable, nothing changed: keeps its offline rule quiet. */
  heartbeat(deviceId: string, at: number): void;
}

/** A server has no acknowledgement to wait for: a value read is taken in, durable or not. */
const NO_ACK = () => {};

const HEARTBEAT_MS = 1000;

/**
 * All configured OPC-UA endpoints. Each endpoint is an alarm subject of its own (endpoint-device.ts):
 * while it is down its devices' offline rules are held back (`sourceDown`), after offlineAlarmAfterS
 * it raises its one availability alarm, and only then are its devices marked offline too.
 */
export class OpcuaSouthbound implements Source {
  endpoints: OpcuaEndpoint[] = [];
  private readonly plans: EndpointPlan[];
  private readonly byId = new Map<string, OpcuaEndpoint>();
  private readonly reasons = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  readonly pkiDir: string;

  constructor(private readonly deps: OpcuaSouthboundDeps) {
    this.pkiDir = pkiDirOf(deps);
    this.plans = planEndpoints(deps.opcua.endpoints, deps.devices);
  }

  async start(): Promise<void> {
    if (!this.plans.length) return;
    // node-opcua takes seconds to load: only a gateway with OPC-UA endpoints imports it.
    const [{ OpcuaEndpoint }, { routeNodeOpcuaLogs }, { ensureOwnCertificate }] = await Promise.all([import('./endpoint.js'), import('./opcua-log.js'), import('./pki.js')]);
    const { deps } = this;
    routeNodeOpcuaLogs(deps.log);
    try {
      const own = await ensureOwnCertificate(this.pkiDir, deps.opcua.applicationName, applicationUriOf(deps.gateway.id));
      const fields = { pki: this.pkiDir, certificate: own.file, thumbprint: own.info.thumbprint, validUntil: own.info.notAfter.toISOString() };
      if (own.created) deps.log.info(fields, 'OPC-UA application certificate created: servers with security must trust it');
      if (own.info.notAfter.getTime() < Date.now()) deps.log.error(fields, 'the gateway OPC-UA certificate has expired: `gridgate opcua cert --renew`, then trust the new one on the servers');
    } catch (e) {
      deps.log.error({ pki: this.pkiDir, err: (e as Error).message }, 'cannot create the gateway OPC-UA certificate: secured endpoints will fail until the PKI folder is writable');
    }
    const trustHint = (url: string) => `\`gridgate opcua trust --config ${deps.configFile} ${url}\``;
    this.endpoints = this.plans.map(
      (plan) =>
        new OpcuaEndpoint(plan, {
          pkiDir: this.pkiDir,
          applicationName: deps.opcua.applicationName,
          applicationUri: applicationUriOf(deps.gateway.id),
          accept: (raw) => deps.accept(raw, NO_ACK),
          reject: (id, reason, detail) => deps.reject(id, reason, detail),
          onAvailability: (up, at, reason) => this.onAvailability(plan.endpoint.id, up, at, reason),
          trustHint: trustHint(plan.endpoint.url),
          ownCertificate: join(this.pkiDir, OWN_CERT),
          log: deps.log,
        }),
    );
    for (const e of this.endpoints) this.byId.set(e.id, e);
    for (const e of this.endpoints) e.start();
    this.timer = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.endpoints.map((e) => e.stop()));
  }

  /**
   * Whether a device's offline rule must wait: a device behind an endpoint that is down (or not yet
   * re-established) says nothing by its silence; an endpoint itself is not unreachable before its
   * first connection attempt has ended (loading node-opcua alone can take seconds on a small board).
   */
  holdOffline(device: Device): boolean {
    if (this.plans.some((p) => p.endpoint.id === device.id)) return !this.byId.get(device.id)?.tried;
    const id = device.config.opcua?.endpoint;
    if (!id) return false;
    return !this.byId.get(id)?.healthy;
  }

  status(): EndpointStatus[] {
    return this.endpoints.map((e) => e.status());
  }

  /**
   * Marks the endpoint's devices offline once its availability alarm is raised (not at every blip). The
   * composition root calls it with every alarm transition: the alarm stage sits above this source.
   */
  alarmChanged(subjectId: string, ruleId: string, state: string, at: number): void {
    if (ruleId !== ENDPOINT_OFFLINE_RULE || state !== 'raised') return;
    const plan = this.plans.find((p) => p.endpoint.id === subjectId);
    if (!plan) return;
    const why = this.reasons.get(plan.endpoint.id);
    const reason = `OPC-UA endpoint ${plan.endpoint.id} unreachable${why ? `: ${why}` : ''}`.slice(0, 200);
    for (const id of plan.deviceIds) this.deps.setAvailability(id, 'offline', at, reason);
  }

  private onAvailability(id: string, up: boolean, at: number, reason?: string): void {
    if (up) this.reasons.delete(id);
    else if (reason) this.reasons.set(id, reason);
    this.deps.setAvailability(id, up ? 'online' : 'offline', at, up ? undefined : reason);
  }

  private heartbeat(): void {
    const now = Date.now();
    for (const e of this.endpoints) {
      if (!e.healthy) continue;
      this.deps.heartbeat(e.id, now);
      for (const d of e.aliveDevices()) this.deps.heartbeat(d, now);
    }
  }
}
