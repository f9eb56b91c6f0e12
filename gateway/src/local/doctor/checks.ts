// `gridgate doctor`: what each check concludes from what the probes found. Pure functions, so that every
// verdict and every one-line fix is tested without breaking a real clock, disk or broker.

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
  /** One line: what to do about it (failures and warnings). */
  fix?: string;
}

const MB = 1024 * 1024;
const GB = 1024 * MB;
const DAY = 86400_000;

export function fmtBytes(n: number): string {
  return n >= GB ? `${(n / GB).toFixed(1)} GB` : `${Math.round(n / MB)} MB`;
}

// --- clock

export interface ClockProbe {
  now: number;
  /** Whether the system clock is disciplined by NTP, and who said so; undefined when nothing could tell. */
  ntp?: { synced: boolean; source: string };
}

/** Evidence timestamps and case deadlines come from this clock: it must be synchronized. */
export function clockCheck(p: ClockProbe): CheckResult {
  const year = new Date(p.now).getUTCFullYear();
  if (year < 2024) {
    return { check: 'clock', status: 'fail', detail: `the clock says ${new Date(p.now).toISOString()}: it was never set (a board without a battery-backed clock?)`, fix: 'give the gateway network access to an NTP server (timedatectl set-ntp true), or set the time: date -s' };
  }
  if (!p.ntp) {
    return { check: 'clock', status: 'warn', detail: 'cannot tell whether the clock is synchronized (no timedatectl or chronyc here; in a container the host keeps the time)', fix: "make sure the host synchronizes its clock (NTP): evidence timestamps and case deadlines use it" };
  }
  if (!p.ntp.synced) {
    return { check: 'clock', status: 'fail', detail: `the clock is not synchronized (${p.ntp.source})`, fix: 'enable NTP and let it reach a server: timedatectl set-ntp true (or configure chrony), then check timedatectl status' };
  }
  return { check: 'clock', status: 'pass', detail: `synchronized (${p.ntp.source})` };
}

// --- disk and quotas

export interface DiskProbe {
  path: string;
  totalBytes: number;
  availableBytes: number;
  writable: boolean;
  writeError?: string;
}

/**
 * Free space of the data folder, and the quotas that will fill it (evidence, outbox): a quota larger than
 * the free space cannot be kept, and a nearly full disk stops the outbox.
 */
export function diskCheck(d: DiskProbe, quotas: Array<{ name: string; mb: number; usedBytes?: number }>): CheckResult[] {
  const out: CheckResult[] = [];
  if (!d.writable) {
    out.push({ check: 'disk', status: 'fail', detail: `cannot write to the data folder ${d.path}: ${d.writeError ?? 'permission denied'}`, fix: `give the gateway's user write access to ${d.path} (or point gateway.dataDir / GRIDGATE_DATA_DIR elsewhere)` });
    return out;
  }
  const share = d.totalBytes ? d.availableBytes / d.totalBytes : 0;
  const detail = `${fmtBytes(d.availableBytes)} free of ${fmtBytes(d.totalBytes)} (${Math.round(share * 100)} %) at ${d.path}`;
  if (d.availableBytes < 512 * MB || share < 0.05) out.push({ check: 'disk', status: 'fail', detail, fix: `free space on the filesystem of ${d.path} (old logs, images), or move the data folder to a larger disk` });
  else if (share < 0.15) out.push({ check: 'disk', status: 'warn', detail, fix: 'the disk is filling: plan to free space or lower the quotas' });
  else out.push({ check: 'disk', status: 'pass', detail });
  for (const q of quotas) {
    const need = q.mb * MB - (q.usedBytes ?? 0);
    if (need > d.availableBytes) {
      out.push({ check: 'quota', status: 'warn', detail: `${q.name} may grow to ${q.mb} MB, but only ${fmtBytes(d.availableBytes)} is free`, fix: `lower ${q.name} to what the disk holds, or free space` });
    } else {
      out.push({ check: 'quota', status: 'pass', detail: `${q.name} ${q.mb} MB fits in the free space` });
    }
  }
  return out;
}

// --- certificates

export interface CertProbe {
  /** What the certificate is for, e.g. "uplink client certificate (uplink.tls.cert)". */
  role: string;
  file: string;
  validFrom?: number;
  validTo?: number;
  subject?: string;
  /** Set when the file could not be read or parsed. */
  error?: string;
  /** For a certificate with its private key: whether they belong together. */
  keyMatches?: boolean;
  /** How this certificate is renewed (default: the uplink's client-certificate procedure). */
  renew?: string;
}

export function certCheck(c: CertProbe, now: number): CheckResult {
  const check = 'certificate';
  if (c.error) return { check, status: 'fail', detail: `${c.role} ${c.file}: ${c.error}`, fix: `put a PEM certificate at ${c.file}` };
  if (c.keyMatches === false) return { check, status: 'fail', detail: `${c.role} ${c.file} does not belong to its private key`, fix: 'install the certificate signed for this key (gridgate provision --cert), or the key it was made with' };
  const until = c.validTo ?? 0;
  const days = Math.floor((until - now) / DAY);
  const when = new Date(until).toISOString().slice(0, 10);
  if (c.validFrom !== undefined && c.validFrom > now) return { check, status: 'fail', detail: `${c.role} is not valid before ${new Date(c.validFrom).toISOString().slice(0, 10)} (is the clock right?)`, fix: 'check the clock first; else ask the CA for a certificate valid now' };
  const renew = c.renew ?? 'gridgate provision --force (new key and request), then --cert with the signed certificate';
  if (until <= now) return { check, status: 'fail', detail: `${c.role} ${c.file} expired on ${when}`, fix: `renew it: ${renew}` };
  if (days < 30) return { check, status: 'warn', detail: `${c.role} expires on ${when} (in ${days} days)`, fix: `renew it before then: ${renew}` };
  return { check, status: 'pass', detail: `${c.role} valid until ${when} (${days} days)${c.subject ? `, ${c.subject}` : ''}` };
}

// --- brokers

export interface MqttProbe {
  name: string;
  url: string;
  ok: boolean;
  /** Error code (ECONNREFUSED, a TLS code, a CONNACK reason) and message when it failed. */
  code?: string;
  message?: string;
  ms?: number;
  /** The MQTT 5 Receive Maximum the broker announced. */
  receiveMaximum?: number;
}

/** Below this many publishes in flight a backlog drains slowly (20 over a 50 ms link: 400 msg/s). */
const LOW_RECEIVE_MAXIMUM = 100;

/** Why a broker connection failed, and the one thing to do about it. */
export function mqttCheck(p: MqttProbe, field: string): CheckResult {
  const check = p.name;
  if (p.ok) {
    const detail = `${p.url}: connected and accepted the credentials${p.ms !== undefined ? ` (${p.ms} ms)` : ''}`;
    const rm = p.receiveMaximum;
    if (rm !== undefined && rm < LOW_RECEIVE_MAXIMUM) {
      return { check, status: 'warn', detail: `${detail}; it accepts only ${rm} unacknowledged publishes at a time (Receive Maximum), so an outage backlog drains at ${rm} per round trip`, fix: 'ask for a higher Receive Maximum on the central broker (mosquitto: max_inflight_messages 1000); see docs/durability.md' };
    }
    return { check, status: 'pass', detail };
  }
  const code = p.code ?? '';
  const msg = `${p.url}: ${p.message ?? code}`;
  const f = (fix: string): CheckResult => ({ check, status: 'fail', detail: msg, fix });
  if (code === 'ECONNREFUSED') return f(`nothing listens there: check the host and port in ${field}.url, and that the broker runs`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return f(`the name does not resolve: check ${field}.url and the gateway's DNS`);
  if (code === 'ETIMEDOUT' || code === 'TIMEOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return f('no answer: check the network route and firewalls between the cabinet and the broker (port open?)');
  if (code === 'CERT_HAS_EXPIRED') return f("the broker's certificate has expired: the central side must renew it");
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return f(`the broker's certificate is not for this host name: use the name in its certificate in ${field}.url`);
  if (/CERT|SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/.test(code)) return f(`the broker's certificate is not trusted: set ${field}.tls.ca to the CA that signed it (gridgate provision --ca central-ca.pem)`);
  if (code === 'EPROTO' || code === 'ECONNRESET' || /handshake|certificate required|alert/i.test(p.message ?? '')) {
    return f(`the TLS handshake failed: if the broker wants a client certificate, run gridgate provision (key, request, then --cert); if it speaks plain MQTT, use mqtt:// in ${field}.url`);
  }
  if (code === 'BAD_CREDENTIALS' || code === 'NOT_AUTHORIZED') return f(`the broker refused the username or password: check ${field}.username and the password variable in the gateway's environment (gridgate provision --password makes new ones)`);
  return f(`check ${field} against what the broker expects`);
}

// --- endpoints (cameras, OPC-UA)

export interface EndpointProbe {
  check: string;
  name: string;
  target: string;
  /** undefined: reachable; else why not. */
  error?: string;
  fix: string;
}

export function endpointCheck(p: EndpointProbe): CheckResult {
  if (!p.error) return { check: p.check, status: 'pass', detail: `${p.name}: ${p.target} answers` };
  return { check: p.check, status: 'fail', detail: `${p.name}: ${p.target}: ${p.error}`, fix: p.fix };
}

// --- listening ports (the gateway's own: device broker, API)

/** A port the gateway listens on, and the config field that sets it. */
export interface ListenPort {
  name: string;
  host: string;
  port: number;
  field: string;
}

/** Who holds a port (from `ss -ltnp`); the program name only when the system tells. */
export interface PortHolder {
  program?: string;
  pid?: number;
  /** The holder is a `gridgate run`: this gateway, already running. */
  gridgate?: boolean;
}

export interface PortProbe extends ListenPort {
  /** undefined: free; else the listen error code (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
  error?: string;
  holder?: PortHolder;
}

/** The ports `gridgate run` will listen on, from the config. */
export function listenPorts(c: { broker: { enabled: boolean; plain: boolean; host: string; port: number; tls?: { host?: string | undefined; port: number } | undefined }; api: { enabled: boolean; host: string; port: number } }): ListenPort[] {
  const out: ListenPort[] = [];
  if (c.broker.enabled && c.broker.plain) out.push({ name: 'device broker', host: c.broker.host, port: c.broker.port, field: 'broker.port' });
  if (c.broker.enabled && c.broker.tls) out.push({ name: 'device broker (TLS)', host: c.broker.tls.host ?? c.broker.host, port: c.broker.tls.port, field: 'broker.tls.port' });
  if (c.api.enabled) out.push({ name: 'API and console', host: c.api.host, port: c.api.port, field: 'api.port' });
  return out;
}

const PORT_ENV: Record<string, string> = { 'broker.port': 'GRIDGATE_BROKER_PORT', 'api.port': 'GRIDGATE_API_PORT' };

/** What the holder is, in words: "mosquitto (pid 812)", or "another program". */
export function holderText(h: PortHolder | undefined): string {
  if (!h?.program) return 'another program';
  return `${h.gridgate ? 'gridgate run' : h.program}${h.pid ? ` (pid ${h.pid})` : ''}`;
}

/** One line on a port the gateway cannot have, with what to change; shared by `doctor` and `run`. */
export function portProblem(p: PortProbe): { detail: string; fix: string } {
  const at = `${p.host}:${p.port}`;
  if (p.error === 'EACCES') return { detail: `${p.name} cannot listen on ${at}: ports below 1024 need root`, fix: `set ${p.field} to 1024 or above` };
  if (p.error === 'EADDRNOTAVAIL') return { detail: `${p.name} cannot listen on ${at}: no interface of this machine has that address`, fix: `set the host of ${p.field.replace(/port$/, 'host')} to an address of this machine, or 0.0.0.0` };
  const who = holderText(p.holder);
  const stop = p.holder?.program === 'mosquitto' ? 'stop it (sudo systemctl disable --now mosquitto) or ' : p.holder?.program ? `stop ${who} or ` : '';
  const env = PORT_ENV[p.field];
  return {
    detail: `${p.name} port ${p.port} is taken: ${who} listens on it`,
    fix: `${stop}give the gateway a free port: set ${p.field}${p.port === 1883 ? ' (e.g. 1884)' : ''}${env ? ` (the board templates read ${env})` : ''}${p.field.startsWith('broker') ? '; the devices then connect to that port' : ''}`,
  };
}

export function portCheck(p: PortProbe): CheckResult {
  const check = p.name.startsWith('device broker') ? 'broker port' : 'api port';
  if (!p.error) return { check, status: 'pass', detail: `${p.name}: ${p.host}:${p.port} is free` };
  if (p.error === 'EADDRINUSE' && p.holder?.gridgate) return { check, status: 'pass', detail: `${p.name}: ${p.host}:${p.port} is held by ${holderText(p.holder)}: this gateway is running` };
  return { check, status: 'fail', ...portProblem(p) };
}

export function summary(results: readonly CheckResult[]): { passed: number; warnings: number; failed: number; skipped: number } {
  return {
    passed: results.filter((r) => r.status === 'pass').length,
    warnings: results.filter((r) => r.status === 'warn').length,
    failed: results.filter((r) => r.status === 'fail').length,
    skipped: results.filter((r) => r.status === 'skip').length,
  };
}

/** The report as text: one line per check, the fix on the next, then the tally. */
export function formatReport(title: string, results: readonly CheckResult[], color = false): string {
  const tag: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };
  const col: Record<CheckStatus, string> = { pass: '32', warn: '33', fail: '31', skip: '2' };
  const w = Math.max(8, ...results.map((r) => r.check.length));
  const lines = [title];
  for (const r of results) {
    const t = color ? `\x1b[${col[r.status]}m${tag[r.status]}\x1b[0m` : tag[r.status];
    lines.push(`  ${t}  ${r.check.padEnd(w)}  ${r.detail}`);
    if (r.fix && (r.status === 'fail' || r.status === 'warn')) lines.push(`  ${' '.repeat(4)}  ${' '.repeat(w)}  fix: ${r.fix}`);
  }
  const s = summary(results);
  lines.push(`${s.passed} passed, ${s.warnings} warning(s), ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''}`);
  return `${lines.join('\n')}\n`;
}
