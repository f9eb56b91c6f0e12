import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { MessageSecurityMode, SecurityPolicy } from 'node-opcua-client';
import { makeEUInformation, standardUnits } from 'node-opcua-data-access';
import { nodesets } from 'node-opcua-nodesets';
import { OPCUAServer } from 'node-opcua-server';
import { DataType, Variant } from 'node-opcua-variant';
import type { SecurityModeName, SecurityPolicyName } from '../../src/southbound/opcua/config.js';

// A node-opcua server that behaves like street-lighting cabinets (照明控制柜) and, optionally, pump
// stations: values change over time, a circuit can fail (current drops to 0 while the contactor is
// closed: power lost or cable theft), and the server can be stopped and started again on the same port.
// Used by the tests, the benchmark and the demo. Node ids: ns=1;s=Cabinet01.Circuit1.Voltage, ...

export const SIM_NAMESPACE = 'urn:gridgate:sim:street-assets';

export interface CabinetSimOptions {
  port: number;
  host?: string;
  /** The server's own PKI folder (its certificate is created there on first start). */
  pkiDir: string;
  cabinets?: number;
  circuits?: number;
  stations?: number;
  securityModes?: SecurityModeName[];
  securityPolicies?: SecurityPolicyName[];
  /** user → password; with none, only anonymous sessions. */
  users?: Record<string, string>;
  allowAnonymous?: boolean;
  /** Trust any client certificate (the default, as a lab server would); false to test a refused gateway. */
  acceptUnknownClients?: boolean;
  /** Accept X.509 user identities (any certificate whose key signs the session): a lab setting. */
  acceptUserCertificates?: boolean;
  /** false: the server refuses subscriptions (BadTooManySubscriptions), as some PLC servers do. */
  subscriptions?: boolean;
  changeIntervalMs?: number;
  /** Certificate validity, for tests of expired certificates. */
  certificate?: { startDaysAgo: number; validDays: number };
  seed?: number;
}

interface CircuitState {
  voltage: number;
  current: number;
  rated: number;
  contactor: boolean;
  failed: boolean;
}

interface CabinetState {
  circuits: CircuitState[];
  doorOpen: boolean;
  lux: number;
  scheduleMode: number;
}

interface StationState {
  level: number;
  pumps: Array<{ run: boolean; fault: boolean }>;
  flow: number;
}

type Var = { setValueFromSource(v: Variant, status?: unknown, ts?: Date): void };

const pad = (n: number) => String(n).padStart(2, '0');
const SLICES = 10;
export const cabinetName = (k: number) => `Cabinet${pad(k)}`;
export const stationName = (k: number) => `Station${pad(k)}`;

/** Deterministic noise, so a test run can be repeated. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export class CabinetSim {
  private server?: OPCUAServer;
  private cm?: OPCUACertificateManager;
  private timer?: NodeJS.Timeout;
  private readonly vars = new Map<string, { v: Var; type: DataType; last?: number | boolean | string }>();
  private readonly cabinets: CabinetState[];
  private readonly stations: StationState[];
  private readonly random: () => number;
  /** Values written since start (all restarts together): the benchmark's change count. */
  changes = 0;

  constructor(readonly o: CabinetSimOptions) {
    this.random = rng(o.seed ?? 42);
    const circuits = o.circuits ?? 4;
    this.cabinets = Array.from({ length: o.cabinets ?? 1 }, () => ({
      circuits: Array.from({ length: circuits }, (_, c) => ({ voltage: 226, current: 0, rated: 6 + c, contactor: true, failed: false })),
      doorOpen: false,
      lux: 4,
      scheduleMode: 1,
    }));
    this.stations = Array.from({ length: o.stations ?? 0 }, () => ({ level: 1.4, pumps: [{ run: false, fault: false }, { run: false, fault: false }], flow: 0 }));
    for (const cab of this.cabinets) for (const c of cab.circuits) c.current = c.rated;
  }

  get endpointUrl(): string {
    return `opc.tcp://${this.o.host ?? '127.0.0.1'}:${this.o.port}`;
  }

  get running(): boolean {
    return !!this.server;
  }

  /** The server certificate file (PEM), e.g. for `gridgate opcua trust --file`. */
  get certificateFile(): string {
    return join(this.o.pkiDir, 'own/certs/server_certificate.pem');
  }

  nodeId(path: string): string {
    return `ns=1;s=${path}`;
  }

  /** Creates the server certificate if there is none yet (before start, so a client can trust it first). */
  async ensureCertificate(): Promise<string> {
    const o = this.o;
    if (!this.cm) {
      this.cm = new OPCUACertificateManager({ rootFolder: o.pkiDir, automaticallyAcceptUnknownCertificate: o.acceptUnknownClients ?? true, disableFileWatchers: true });
      await this.cm.initialize();
    }
    if (!existsSync(this.certificateFile)) {
      const start = new Date(Date.now() - (o.certificate?.startDaysAgo ?? 1) * 86_400_000);
      await this.cm.createSelfSignedCertificate({ applicationUri: this.applicationUri, dns: [...new Set([o.host ?? '127.0.0.1', 'localhost', hostname()])], outputFile: this.certificateFile, subject: '/CN=GridGate cabinet simulator/O=GridGate', startDate: start, validity: o.certificate?.validDays ?? 3650 });
    }
    return this.certificateFile;
  }

  /** Also the URI of its namespace 1, so profiles may write nsu=urn:gridgate:sim:street-assets;s=… */
  private get applicationUri(): string {
    return SIM_NAMESPACE;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const o = this.o;
    await this.ensureCertificate();
    const cm = this.cm!;
    const applicationUri = this.applicationUri;
    const modes = o.securityModes ?? ['None', 'Sign', 'SignAndEncrypt'];
    const policies = o.securityPolicies ?? ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'];
    const users = o.users;
    let userCm: OPCUACertificateManager | undefined;
    if (o.acceptUserCertificates) {
      userCm = new OPCUACertificateManager({ rootFolder: join(o.pkiDir, 'users'), automaticallyAcceptUnknownCertificate: true, disableFileWatchers: true });
      await userCm.initialize();
    }
    const server = new OPCUAServer({
      port: o.port,
      host: o.host ?? '127.0.0.1', // listen there only (a lab server, not the cabinet LAN)
      hostname: o.host ?? '127.0.0.1',
      serverCertificateManager: cm,
      certificateFile: this.certificateFile,
      privateKeyFile: cm.privateKey,
      nodeset_filename: [nodesets.standard],
      serverInfo: { applicationUri, productUri: 'urn:gridgate:sim', applicationName: { text: 'GridGate street-asset OPC-UA simulator' } },
      buildInfo: { productName: 'GridGate cabinet simulator', manufacturerName: 'GridGate', softwareVersion: '1' },
      securityModes: modes.map((m) => MessageSecurityMode[m]),
      securityPolicies: policies.map((p) => SecurityPolicy[p]),
      allowAnonymous: o.allowAnonymous ?? true,
      ...(users && { userManager: { isValidUser: (u: string, p: string) => users[u] !== undefined && users[u] === p } }),
      ...(userCm && { userCertificateManager: userCm }),
      maxConnectionsPerEndpoint: 50,
      serverCapabilities: { maxSessions: 50 },
    });
    await server.initialize();
    this.build(server);
    await server.start();
    this.server = server;
    this.allowSubscriptions(o.subscriptions ?? true);
    this.publishAll();
    // Assets change at different moments, as real ones do: each interval is cut into slices and every
    // cabinet or station is updated in its own slice, once per interval.
    let slice = 0;
    this.timer = setInterval(() => this.step(slice++ % SLICES), (o.changeIntervalMs ?? 1000) / SLICES);
    this.timer.unref();
  }

  /** Stops the server (its sessions and subscriptions end); the simulated state carries on at the next start. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const s = this.server;
    this.server = undefined;
    this.cm = undefined; // the server disposes its certificate manager; start() makes a new one
    this.vars.clear();
    if (s) await s.shutdown(0);
  }

  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs) await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  /** Like a PLC server that must be polled: new subscriptions are refused (BadTooManySubscriptions). */
  allowSubscriptions(allowed: boolean): void {
    this.o.subscriptions = allowed;
    const caps = this.server?.engine.serverCapabilities;
    if (!caps) return;
    caps.maxSubscriptions = allowed ? 100 : 0;
    caps.maxSubscriptionsPerSession = allowed ? 10 : 0;
  }

  /** Whether a client certificate the server has not seen is accepted (a lab server) or refused (a locked-down one). */
  acceptUnknownClients(accept: boolean): void {
    this.o.acceptUnknownClients = accept;
    if (this.cm) this.cm.automaticallyAcceptUnknownCertificate = accept;
  }

  /** A circuit losing its supply: the current drops to 0 while the contactor stays closed. */
  failCircuit(cabinet: number, circuit: number, failed = true): void {
    const c = this.cabinets[cabinet - 1]?.circuits[circuit - 1];
    if (!c) throw new Error(`no circuit ${circuit} in cabinet ${cabinet}`);
    c.failed = failed;
    this.publishCabinet(cabinet - 1);
  }

  setDoor(cabinet: number, open: boolean): void {
    this.cabinets[cabinet - 1]!.doorOpen = open;
    this.publishCabinet(cabinet - 1);
  }

  setPumpFault(station: number, pump: number, fault: boolean): void {
    const p = this.stations[station - 1]!.pumps[pump - 1]!;
    p.fault = fault;
    if (fault) p.run = false;
    this.publishStation(station - 1);
  }

  private build(server: OPCUAServer): void {
    const addressSpace = server.engine.addressSpace!;
    const ns = addressSpace.getOwnNamespace();
    const objects = addressSpace.rootFolder.objects;
    const analog = (parent: unknown, path: string, name: string, unit: ReturnType<typeof makeEUInformation>, low: number, high: number) => {
      const v = ns.addAnalogDataItem({ componentOf: parent as never, browseName: name, nodeId: `s=${path}`, dataType: 'Double', engineeringUnits: unit, engineeringUnitsRange: { low, high }, value: new Variant({ dataType: DataType.Double, value: 0 }) });
      this.vars.set(path, { v: v as unknown as Var, type: DataType.Double });
    };
    const plain = (parent: unknown, path: string, name: string, type: DataType, initial: unknown) => {
      const v = ns.addVariable({ componentOf: parent as never, browseName: name, nodeId: `s=${path}`, dataType: DataType[type], value: new Variant({ dataType: type, value: initial }) });
      this.vars.set(path, { v: v as unknown as Var, type });
    };
    const lux = makeEUInformation('lx', 'lx', 'lux');
    this.cabinets.forEach((cab, i) => {
      const name = cabinetName(i + 1);
      const obj = ns.addObject({ organizedBy: objects, browseName: name, nodeId: `s=${name}` });
      cab.circuits.forEach((_, c) => {
        const cname = `Circuit${c + 1}`;
        const co = ns.addObject({ componentOf: obj, browseName: cname, nodeId: `s=${name}.${cname}` });
        analog(co, `${name}.${cname}.Voltage`, 'Voltage', standardUnits.volt, 0, 400);
        analog(co, `${name}.${cname}.Current`, 'Current', standardUnits.ampere, 0, 100);
        plain(co, `${name}.${cname}.Contactor`, 'Contactor', DataType.Boolean, true);
      });
      plain(obj, `${name}.DoorOpen`, 'DoorOpen', DataType.Boolean, false);
      analog(obj, `${name}.Lux`, 'Lux', lux, 0, 2000);
      plain(obj, `${name}.ScheduleMode`, 'ScheduleMode', DataType.Int32, 1);
      plain(obj, `${name}.Label`, 'Label', DataType.String, `${name} (simulated)`);
    });
    this.stations.forEach((st, i) => {
      const name = stationName(i + 1);
      const obj = ns.addObject({ organizedBy: objects, browseName: name, nodeId: `s=${name}` });
      analog(obj, `${name}.WetWellLevel`, 'WetWellLevel', standardUnits.metre, 0, 5);
      analog(obj, `${name}.Flow`, 'Flow', standardUnits.cubic_metre_per_hour, 0, 1000);
      st.pumps.forEach((_, p) => {
        plain(obj, `${name}.Pump${p + 1}Run`, `Pump${p + 1}Run`, DataType.Boolean, false);
        plain(obj, `${name}.Pump${p + 1}Fault`, `Pump${p + 1}Fault`, DataType.Boolean, false);
      });
    });
  }

  private write(path: string, value: number | boolean | string, at: Date): void {
    const e = this.vars.get(path);
    if (!e || e.last === value) return;
    e.last = value;
    e.v.setValueFromSource(new Variant({ dataType: e.type, value }), undefined, at);
    this.changes++;
  }

  private publishCabinet(i: number, at = new Date()): void {
    const cab = this.cabinets[i]!;
    const name = cabinetName(i + 1);
    cab.circuits.forEach((c, k) => {
      const p = `${name}.Circuit${k + 1}`;
      this.write(`${p}.Voltage`, round(c.voltage, 1), at);
      this.write(`${p}.Current`, c.contactor && !c.failed ? round(c.current, 2) : 0, at);
      this.write(`${p}.Contactor`, c.contactor, at);
    });
    this.write(`${name}.DoorOpen`, cab.doorOpen, at);
    this.write(`${name}.Lux`, round(cab.lux, 1), at);
    this.write(`${name}.ScheduleMode`, cab.scheduleMode, at);
  }

  private publishStation(i: number, at = new Date()): void {
    const st = this.stations[i]!;
    const name = stationName(i + 1);
    this.write(`${name}.WetWellLevel`, round(st.level, 3), at);
    this.write(`${name}.Flow`, round(st.flow, 1), at);
    st.pumps.forEach((p, k) => {
      this.write(`${name}.Pump${k + 1}Run`, p.run, at);
      this.write(`${name}.Pump${k + 1}Fault`, p.fault, at);
    });
  }

  private publishAll(): void {
    const at = new Date();
    this.cabinets.forEach((_, i) => this.publishCabinet(i, at));
    this.stations.forEach((_, i) => this.publishStation(i, at));
  }

  /** One slice of a simulation step: supply voltage wanders, lamp currents follow it, the wet well fills and is pumped. */
  private step(slice: number): void {
    const r = this.random;
    const at = new Date();
    this.cabinets.forEach((cab, i) => {
      if (i % SLICES !== slice) return;
      for (const c of cab.circuits) {
        c.voltage = clamp(c.voltage + (r() - 0.5) * 3, 214, 236);
        c.current = c.rated * (0.97 + r() * 0.06) * (c.voltage / 226);
      }
      cab.lux = clamp(cab.lux + (r() - 0.5), 1, 9);
      this.publishCabinet(i, at);
    });
    this.stations.forEach((st, i) => {
      if ((i + this.cabinets.length) % SLICES !== slice) return;
      const running = st.pumps.filter((p) => p.run).length;
      st.level = clamp(st.level + 0.02 - running * 0.035 + (r() - 0.5) * 0.004, 0, 5);
      const duty = st.pumps.find((p) => !p.fault);
      if (duty && st.level > 2.0) duty.run = true;
      if (st.level < 1.2) for (const p of st.pumps) p.run = false;
      st.flow = st.pumps.filter((p) => p.run).length * (180 + (r() - 0.5) * 10);
      this.publishStation(i, at);
    });
  }
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round = (x: number, d: number) => Number(x.toFixed(d));
