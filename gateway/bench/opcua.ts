// `npm run bench:opcua`: monitored items changing at 1 Hz from the simulated cabinet server, read by a
// real `gridgate run` process and published to a central broker. Prints the gateway's CPU (% of one
// core) and RSS, and the end-to-end latency from a value's change (its source timestamp) to its
// arrival at the central broker, as medians over several windows, for:
//   reference  500 items (25 cabinets), security None
//   main       5,000 items (250 cabinets × 10 circuits × voltage + current), security None, node's defaults
//   tuned      the same with NODE_OPTIONS=--max-semi-space-size=4 (a smaller V8 young generation)
//   secured    5,000 items, SignAndEncrypt / Basic256Sha256
// Targets for the main run: ≤ 25 % of one core, ≤ 200 MB RSS. Linux only (reads /proc).
// Options: --measure-s N (default 20), --warmup-s N (default 10), --only reference|main|tuned|secured

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { CentralBroker } from '../fakes/demo/central-broker.js';
import { generatePassword } from '../src/southbound/broker/credentials.js';
import { trustCertificate } from '../src/southbound/opcua/pki.js';
import { readCertificate } from 'node-opcua-crypto';
import { createServer } from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const CLI = join(repo, 'gateway/dist/src/cli/main.js');
const CIRCUITS = 10;

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MEASURE_S = arg('measure-s', 20);
const WARMUP_S = arg('warmup-s', 10);
const WINDOW_S = 5;
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

function benchProfile(): string {
  const metrics: string[] = [];
  const nodes: string[] = [];
  const alarms: string[] = [];
  for (let c = 1; c <= CIRCUITS; c++) {
    metrics.push(`  - { name: circuit${c}_voltage, source: circuit${c}_voltage, unit: V, min: 0, max: 400 }`, `  - { name: circuit${c}_current, source: circuit${c}_current, unit: A, min: 0, max: 400 }`);
    nodes.push(`    circuit${c}_voltage: { browsePath: /1:Circuit${c}/1:Voltage }`, `    circuit${c}_current: { browsePath: /1:Circuit${c}/1:Current }`);
    alarms.push(
      `  - { id: over-voltage-c${c}, kind: threshold, metric: circuit${c}_voltage, above: 265, hysteresis: 5, forS: 60, title: { zh: 过压, en: Over-voltage } }`,
      `  - { id: under-voltage-c${c}, kind: threshold, metric: circuit${c}_voltage, below: 180, hysteresis: 5, forS: 60, title: { zh: 欠压, en: Under-voltage } }`,
      `  - { id: over-current-c${c}, kind: threshold, metric: circuit${c}_current, above: 32, hysteresis: 0.5, forS: 30, title: { zh: 过流, en: Over-current } }`,
    );
  }
  return `id: bench-cabinet
vendor: Bench
model: ${CIRCUITS}-circuit cabinet
assetType: lighting-cabinet
componentCode: "0116"
transport: opcua
reportingIntervalS: 60
metrics:
${metrics.join('\n')}
alarms:
${alarms.join('\n')}
  - { id: offline, kind: offline, title: { zh: 离线, en: Offline } }
opcua:
  samplingIntervalMs: 0 # report each change as it happens
  publishingIntervalMs: 1000
  nodes:
${nodes.join('\n')}
`;
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime, in clock ticks
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
const TICKS_PER_S = 100; // USER_HZ on Linux

function waitForLine(p: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, timeoutMs: number, what: string): Promise<void> {
  return new Promise((res, rej) => {
    let buf = '';
    const t = setTimeout(() => rej(new Error(`${what}: nothing matching ${re} within ${timeoutMs} ms; output: ${buf.slice(-1500)}`)), timeoutMs);
    p[stream]!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (re.test(buf)) {
        clearTimeout(t);
        res();
      }
    });
    p.once('exit', (code) => rej(new Error(`${what} exited (${code}): ${buf.slice(-1500)}`)));
  });
}

interface RunResult {
  name: string;
  items: number;
  security: string;
  cpuPct: number;
  rssMb: number;
  rssMaxMb: number;
  latencyP50: number;
  latencyP95: number;
  latencyP99: number;
  /** Of the latency: from the change to the gateway stamping its message, and from there to the broker. */
  toGatewayP50: number;
  gatewayToBrokerP50: number;
  gatewayToBrokerP99: number;
  valuesPerS: number;
  messagesPerS: number;
}

async function run(name: string, cabinets: number, secure: boolean, nodeFlags: string[]): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), `gridgate-bench-opcua-${name}-`));
  const children: ChildProcess[] = [];
  const pw = { gw: generatePassword(), bench: generatePassword() };
  const broker = new CentralBroker({
    'gw-bench': { password: pw.gw, publish: ['gridgate/v1/gw-bench/#'], subscribe: ['gridgate/v1/gw-bench/cmd'] },
    bench: { password: pw.bench, publish: [], subscribe: ['gridgate/v1/#'] },
  });
  const centralPort = await broker.listen(0);
  try {
    // The fixture server in its own process: its CPU is not the gateway's.
    const simPort = await freePort();
    const simPki = join(dir, 'sim-pki');
    const sim = spawn(process.execPath, [CLI, 'opcua', 'simulate', '--port', String(simPort), '--cabinets', String(cabinets), '--circuits', String(CIRCUITS), '--pki', simPki], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(sim);
    await waitForLine(sim, 'stdout', /simulated OPC-UA server at/, 120_000, 'simulator');

    mkdirSync(join(dir, 'profiles'));
    writeFileSync(join(dir, 'profiles', 'bench-cabinet.yaml'), benchProfile());
    if (secure) await trustCertificate(join(dir, 'state', 'opcua-pki'), readCertificate(join(simPki, 'own/certs/server_certificate.pem')));
    const devices = Array.from({ length: cabinets }, (_, i) => `  - { id: cab-${i + 1}, profile: bench-cabinet, opcua: { endpoint: sim, root: "ns=1;s=Cabinet${String(i + 1).padStart(2, '0')}" } }`);
    writeFileSync(
      join(dir, 'gw.yaml'),
      `gateway: { id: gw-bench, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
log: { level: warn }
profiles: { dirs: [./profiles] }
broker: { enabled: false }
api: { enabled: false }
uplink: { url: "mqtt://127.0.0.1:${centralPort}", username: gw-bench, password: "\${BENCH_PW}", protocolVersion: 4 }
opcua:
  endpoints:
    - id: sim
      url: opc.tcp://127.0.0.1:${simPort}
      securityMode: ${secure ? 'SignAndEncrypt' : 'None'}
      securityPolicy: Basic256Sha256
devices:
${devices.join('\n')}
`,
    );

    const latencies: number[] = [];
    const toGateway: number[] = [];
    const toBroker: number[] = [];
    let values = 0;
    let messages = 0;
    let counting = false;
    const consumer = await mqtt.connectAsync(`mqtt://127.0.0.1:${centralPort}`, { username: 'bench', password: pw.bench, clientId: `bench-${process.pid}`, protocolVersion: 4 });
    consumer.on('message', (_t, payload) => {
      if (!counting) return;
      const now = Date.now();
      const m = JSON.parse(payload.toString()) as { type: string; ts: string; observedAt?: string; metrics?: object };
      if (m.type !== 'telemetry' || !m.observedAt) return;
      latencies.push(now - Date.parse(m.observedAt));
      toGateway.push(Date.parse(m.ts) - Date.parse(m.observedAt));
      toBroker.push(now - Date.parse(m.ts));
      values += Object.keys(m.metrics ?? {}).length;
      messages++;
    });
    await consumer.subscribeAsync('gridgate/v1/gw-bench/telemetry/#', { qos: 0 });

    const gw = spawn(process.execPath, [...nodeFlags, CLI, 'run', '--config', join(dir, 'gw.yaml')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, BENCH_PW: pw.gw } });
    children.push(gw);
    let gwErr = '';
    gw.stderr!.on('data', (d: Buffer) => (gwErr = (gwErr + d.toString()).slice(-4000)));
    const started = Date.now();
    let seen = 0;
    const first = (_t: string, _p: Buffer) => seen++;
    consumer.on('message', first);
    while (seen === 0) {
      if (Date.now() - started > 180_000 || gw.exitCode !== null) throw new Error(`the gateway sent no telemetry within 180 s: ${gwErr}`);
      await sleep(200);
    }
    consumer.off('message', first);
    process.stderr.write(`  ${name}: data flowing ${((Date.now() - started) / 1000).toFixed(1)} s after the gateway started; warming up ${WARMUP_S} s\n`);
    await sleep(WARMUP_S * 1000);

    const cpu: number[] = [];
    const rss: number[] = [];
    counting = true;
    for (let w = 0; w < MEASURE_S / WINDOW_S; w++) {
      const t0 = process.hrtime.bigint();
      const c0 = cpuTicks(gw.pid!);
      await sleep(WINDOW_S * 1000);
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      cpu.push(((cpuTicks(gw.pid!) - c0) / TICKS_PER_S / dt) * 100);
      rss.push(rssMb(gw.pid!));
    }
    counting = false;
    await consumer.endAsync();
    return {
      name,
      items: cabinets * CIRCUITS * 2,
      security: secure ? 'SignAndEncrypt/Basic256Sha256' : 'None',
      cpuPct: median(cpu),
      rssMb: median(rss),
      rssMaxMb: Math.max(...rss),
      latencyP50: pct(latencies, 50),
      latencyP95: pct(latencies, 95),
      latencyP99: pct(latencies, 99),
      toGatewayP50: pct(toGateway, 50),
      gatewayToBrokerP50: pct(toBroker, 50),
      gatewayToBrokerP99: pct(toBroker, 99),
      valuesPerS: values / MEASURE_S,
      messagesPerS: messages / MEASURE_S,
    };
  } finally {
    for (const c of children.reverse()) {
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    }
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const TUNED = ['--max-semi-space-size=4'];
const runs: Array<[string, number, boolean, string[]]> = [
  ['reference', 25, false, []],
  ['main', 250, false, []],
  ['tuned', 250, false, TUNED],
  ['secured', 250, true, []],
];
const results: RunResult[] = [];
process.stderr.write(`bench:opcua — ${WARMUP_S} s warm-up, ${MEASURE_S} s measured in ${WINDOW_S} s windows (medians)\n`);
for (const [name, cabinets, secure, flags] of runs) {
  if (only && only !== name) continue;
  process.stderr.write(`run ${name}: ${cabinets * CIRCUITS * 2} monitored items, security ${secure ? 'SignAndEncrypt' : 'None'}${flags.length ? `, node ${flags.join(' ')}` : ''}\n`);
  results.push(await run(name, cabinets, secure, flags));
}
const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
console.log('\nrun        items  security                       CPU % of a core   RSS MB (max)   values/s   msgs/s   latency p50 / p95 / p99 ms   (change→gateway p50, gateway→broker p50 / p99)');
for (const r of results) {
  console.log(`${r.name.padEnd(10)} ${String(r.items).padStart(5)}  ${r.security.padEnd(30)} ${f(r.cpuPct).padStart(15)}   ${f(r.rssMb, 0).padStart(6)} (${f(r.rssMaxMb, 0)})   ${f(r.valuesPerS, 0).padStart(8)}   ${f(r.messagesPerS, 0).padStart(6)}   ${f(r.latencyP50, 0)} / ${f(r.latencyP95, 0)} / ${f(r.latencyP99, 0)}   (${f(r.toGatewayP50, 0)}, ${f(r.gatewayToBrokerP50, 0)} / ${f(r.gatewayToBrokerP99, 0)})`);
}
const byName = new Map(results.map((r) => [r.name, r]));
const main = byName.get('main');
const ref = byName.get('reference');
const sec = byName.get('secured');
const tuned = byName.get('tuned');
if (main) {
  console.log(`\nmain vs targets: CPU ${f(main.cpuPct)} % of a core (target ≤ 25, ratio ${f(main.cpuPct / 25, 2)}), RSS ${f(main.rssMb, 0)} MB (target ≤ 200, ratio ${f(main.rssMb / 200, 2)})`);
  if (ref) console.log(`main vs reference (10× the items): CPU ×${f(main.cpuPct / ref.cpuPct, 2)}, RSS ×${f(main.rssMb / ref.rssMb, 2)}, values/s ×${f(main.valuesPerS / ref.valuesPerS, 2)}`);
  if (tuned) console.log(`tuned vs main (${TUNED.join(' ')}): CPU ×${f(tuned.cpuPct / main.cpuPct, 2)}, RSS ×${f(tuned.rssMb / main.rssMb, 2)}`);
  if (sec) console.log(`secured vs main: CPU ×${f(sec.cpuPct / main.cpuPct, 2)}, RSS ×${f(sec.rssMb / main.rssMb, 2)}, latency p50 ×${f(sec.latencyP50 / main.latencyP50, 2)}`);
  console.log('latency: value change (source timestamp) → central broker; change→gateway includes the server sampling and the 1 s publishing interval the profile asks for');
}
process.exit(0);
