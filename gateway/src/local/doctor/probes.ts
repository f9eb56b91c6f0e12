import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import mqtt, { type IClientOptions } from 'mqtt';
import { createServer } from 'node:net';
import { tcpProbe } from '../../southbound/cameras/capture.js';
import { readTlsFiles, type TlsFileConfig } from '../../util/tls.js';
import type { CertProbe, ClockProbe, DiskProbe, ListenPort, MqttProbe, PortHolder, PortProbe } from './checks.js';

// The doctor's probes: each asks the real system one question and returns what it found, never throws.

/** NTP state from systemd's timedatectl, else chrony; undefined when neither can tell. */
export function probeClock(): ClockProbe {
  const now = Date.now();
  const t = spawnSync('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { encoding: 'utf8', timeout: 3000 });
  if (t.status === 0 && /^(yes|no)\s*$/.test(t.stdout)) return { now, ntp: { synced: t.stdout.trim() === 'yes', source: `timedatectl: NTPSynchronized=${t.stdout.trim()}` } };
  const c = spawnSync('chronyc', ['-n', 'tracking'], { encoding: 'utf8', timeout: 3000 });
  if (c.status === 0) {
    const leap = /Leap status\s*:\s*(.+)/.exec(c.stdout)?.[1]?.trim();
    if (leap) return { now, ntp: { synced: leap === 'Normal', source: `chronyc: leap status ${leap}` } };
  }
  return { now };
}

/** Space and writability of the data folder (or of its nearest existing parent when it is not made yet). */
export function probeDisk(dir: string): DiskProbe {
  let at = dir;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  let totalBytes = 0;
  let availableBytes = 0;
  try {
    const s = statfsSync(at);
    totalBytes = s.blocks * s.bsize;
    availableBytes = s.bavail * s.bsize;
  } catch {
    /* reported as not writable below if it matters */
  }
  try {
    mkdirSync(dir, { recursive: true });
    const f = join(dir, `.doctor-${randomBytes(4).toString('hex')}`);
    writeFileSync(f, 'x');
    rmSync(f);
    return { path: dir, totalBytes, availableBytes, writable: true };
  } catch (e) {
    return { path: dir, totalBytes, availableBytes, writable: false, writeError: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
}

export function probeCert(role: string, file: string, keyFile?: string): CertProbe {
  try {
    const c = new X509Certificate(readFileSync(file));
    let keyMatches: boolean | undefined;
    if (keyFile) {
      try {
        keyMatches = c.checkPrivateKey(createPrivateKey(readFileSync(keyFile)));
      } catch {
        keyMatches = false;
      }
    }
    return { role, file, validFrom: Date.parse(c.validFrom), validTo: Date.parse(c.validTo), subject: c.subject.split('\n').join(', '), ...(keyMatches !== undefined && { keyMatches }) };
  } catch (e) {
    return { role, file, error: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `not a PEM certificate (${(e as Error).message})` };
  }
}

export interface MqttTarget {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  tls?: TlsFileConfig | undefined;
  rejectUnauthorized?: boolean;
  protocolVersion?: 4 | 5;
  /** The client id the doctor uses: never the gateway's own, which would push the running gateway off. */
  clientId: string;
}

const MQTT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };

/**
 * Connects once with the configured credentials and TLS files, then disconnects; publishes nothing. A TCP
 * connect first: the MQTT client reports a refused or unreachable address only as a closed connection.
 */
export async function probeMqtt(name: string, t: MqttTarget, timeoutMs: number): Promise<MqttProbe> {
  let host = '';
  let port = 0;
  try {
    const u = new URL(t.url);
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = u.port ? Number(u.port) : (MQTT_PORTS[u.protocol] ?? 0);
  } catch {
    return { name, url: t.url, ok: false, code: 'BAD_URL', message: 'not a URL' };
  }
  const tcp = await tcpProbe(host, port, timeoutMs);
  if (tcp) return { name, url: t.url, ok: false, code: tcp.startsWith('no answer') ? 'TIMEOUT' : tcp, message: `${tcp} at ${host}:${port}` };
  return mqttConnect(name, t, timeoutMs);
}

function mqttConnect(name: string, t: MqttTarget, timeoutMs: number): Promise<MqttProbe> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let done = false;
    let client: mqtt.MqttClient | undefined;
    const finish = (r: Omit<MqttProbe, 'name' | 'url'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client?.removeAllListeners();
      client?.on('error', () => {});
      client?.end(true);
      resolve({ name, url: t.url, ...r });
    };
    const timer = setTimeout(() => finish({ ok: false, code: 'TIMEOUT', message: `no answer within ${timeoutMs} ms` }), timeoutMs);
    let tls: ReturnType<typeof readTlsFiles>;
    try {
      tls = readTlsFiles(t.tls);
    } catch (e) {
      return finish({ ok: false, code: (e as NodeJS.ErrnoException).code ?? 'TLS_FILES', message: `cannot read a TLS file: ${(e as Error).message}` });
    }
    const opts: IClientOptions = {
      clientId: t.clientId,
      protocolVersion: t.protocolVersion ?? 5,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      rejectUnauthorized: t.rejectUnauthorized ?? true,
      ...tls,
      ...(t.username && { username: t.username }),
      ...(t.password && { password: t.password }),
    };
    try {
      client = mqtt.connect(t.url, opts);
    } catch (e) {
      return finish({ ok: false, code: 'BAD_URL', message: (e as Error).message });
    }
    client.on('connect', (ack) => finish({ ok: true, ms: Date.now() - t0, ...(ack.properties?.receiveMaximum !== undefined && { receiveMaximum: ack.properties.receiveMaximum }) }));
    client.on('error', (e: Error & { code?: string | number }) => finish({ ok: false, code: connackCode(e.code) ?? String(e.code ?? ''), message: e.message }));
    client.on('close', () => setTimeout(() => finish({ ok: false, code: 'CLOSED', message: 'the broker closed the connection' }), 50));
  });
}

/** CONNACK refusals (MQTT 3.1.1 return codes, MQTT 5 reason codes) as names. */
function connackCode(code: unknown): string | undefined {
  if (typeof code !== 'number') return undefined;
  if (code === 4 || code === 134) return 'BAD_CREDENTIALS';
  if (code === 5 || code === 135) return 'NOT_AUTHORIZED';
  return `CONNACK_${code}`;
}

/** Whether the gateway could listen on the port now (it listens and closes again), and who holds it if not. */
export function probeListen(p: ListenPort): Promise<PortProbe> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => res({ ...p, error: e.code ?? e.message, ...(e.code === 'EADDRINUSE' && { holder: portHolder(p.port) }) }));
    srv.listen({ host: p.host, port: p.port, exclusive: true }, () => srv.close(() => res({ ...p })));
  });
}

/** The program listening on a TCP port, per `ss -ltnp` (other users' programs only when run as root). */
export function portHolder(port: number): PortHolder {
  const r = spawnSync('ss', ['-H', '-ltnp', `sport = :${port}`], { encoding: 'utf8', timeout: 3000 });
  const m = r.status === 0 ? /users:\(\("([^"]+)",pid=(\d+)/.exec(r.stdout) : null;
  if (!m) return {};
  const pid = Number(m[2]);
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    /* gone, or not ours to read */
  }
  return { program: m[1]!, pid, ...(/gridgate(\.js)? .*\brun\b|cli\/main\.js .*\brun\b/.test(cmdline) && { gridgate: true }) };
}
