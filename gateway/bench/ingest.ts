// npm run bench:ingest — the full ingest path against plain mosquitto-to-mosquitto forwarding, in one run.
//   reference: devices → mosquitto A --bridge--> central mosquitto → consumer   (no processing at all)
//   gridgate:  devices → gateway (embedded broker → decode → rules → SQLite outbox → MQTT) → central mosquitto → consumer
// Prints msgs/s (median of 3), p50/p99 latency at a paced 2,000 msg/s with 1,000 devices (steady: median of 3 runs; and at their first contact), CPU per message, peak RSS, and ratios;
// to read the latencies by: the CPU the hypervisor stole from this VM during the paced runs, and the gateway's WAL sync times (its status API) and GCs (its /metrics) in each.
// Env: BENCH_TRACE=PREFIX writes "sent_ms latency_ms [gateway_received_ms]" per paced message to PREFIX-{reference,gridgate}.txt (to find stalls); BENCH_ONLY=gridgate skips the reference; BENCH_OUTBOX_SYNC=NORMAL|FULL (default FULL, the shipped default); BENCH_NODE_ARGS adds node flags to the gateway (e.g. --cpu-prof); BENCH_GC=parallel starts it without the shipped --single-threaded-gc; BENCH_EXTRA_CONFIG adds YAML to the gateway's config (e.g. "history: { enabled: false }"); BENCH_SETTLE_MS (default 1000) is the pause between connecting the devices and sending; BENCH_GW_LOG=N prints the last N characters of the gateway's stderr; BENCH_RUNS=0 skips the gateway's throughput runs (to profile the paced run alone); BENCH_PACED_RUNS (default 3) is how many steady paced runs the median is taken over.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { startMosquitto, type Mosquitto } from '../test/helpers/mosquitto.js';
import { freePort, waitFor } from '../test/helpers/net.js';
import { GatewayProcess } from '../test/helpers/gateway-process.js';
import { repoRoot } from '../test/helpers/shared.js';
import { countsSince, syncQuantile } from '../src/northbound/outbox/sync-times.js';
import { syncBoundText } from '../src/cli/status-format.js';
import { GATEWAY_NODE_FLAGS } from '../src/runtime/node-flags.js';

const here = dirname(fileURLToPath(import.meta.url));
const THROUGHPUT_MSGS = Number(process.env.BENCH_MSGS ?? 30_000);
const PACED_RATE = 2000;
const PACED_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PACED_DEVICES = 1000;
// A 10 s window's p99 is its worst ~100 ms: on a shared machine one neighbour's burst decides it, so each
// path's steady paced load runs three times and the median is reported with every run's figure.
const PACED_RUNS = Math.max(1, Number(process.env.BENCH_PACED_RUNS ?? 3));

interface RunResult {
  received: number;
  msgsPerS: number;
  p50: number;
  p99: number;
  /** CPU time of the system under test (gateway, or the reference's bridging mosquitto) per message, µs. */
  cpuUsPerMsg: number;
  /** Share of this virtual machine's CPU time its hypervisor gave to others during the run (/proc/stat steal), %. */
  stealPct: number;
}

/** The machine's CPU time counters (/proc/stat, all CPUs): total and stolen by the hypervisor. */
function machineCpu(): { total: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8');
  const v = f.slice(0, f.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  return { total: v.slice(0, 8).reduce((a, b) => a + b, 0), steal: v[7] ?? 0 };
}

/** CPU seconds of a process: user and system time of all its threads, and of its main thread alone. */
function cpuSeconds(pid: number): { user: number; sys: number; main: number } {
  const parse = (file: string) => {
    const f = readFileSync(file, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 }; // USER_HZ is 100 on Linux
  };
  const all = parse(`/proc/${pid}/stat`);
  const main = parse(`/proc/${pid}/task/${pid}/stat`);
  return { ...all, main: main.user + main.sys };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Median p50, p99 and CPU per message over runs (zeros when there were none: BENCH_ONLY=gridgate). */
const mediansOf = (rs: RunResult[]) =>
  rs.length
    ? { p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), cpuUsPerMsg: median(rs.map((r) => r.cpuUsPerMsg)), p99Runs: rs.map((r) => r.p99), stealPct: median(rs.map((r) => r.stealPct)) }
    : { p50: 0, p99: 0, cpuUsPerMsg: NaN, p99Runs: [], stealPct: NaN };

const progress = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function drive(opts: { url: string; secret?: string; idPrefix: string; devices: number; rate: number; count: number }, consumerUrl: string, filter: string, sentMs: (payload: Buffer) => number, cpuPid: number, receivedMs?: (payload: Buffer) => number): Promise<RunResult> {
  const consumer = await mqtt.connectAsync(consumerUrl, { clientId: `bench-consumer-${process.pid}-${Math.random()}`, clean: true });
  const lat: number[] = [];
  const trace: string[] = [];
  let first = 0;
  let last = 0;
  consumer.on('message', (_t, payload) => {
    const now = Date.now();
    if (!first) first = now;
    last = now;
    const sent = sentMs(payload); // parsed once: the consumer shares the two cores with what it measures
    lat.push(now - sent);
    if (process.env.BENCH_TRACE && opts.rate) trace.push(`${sent} ${now - sent} ${receivedMs?.(payload) ?? ''}`);
  });
  await consumer.subscribeAsync(filter, { qos: 1 });
  const pub: ChildProcess = spawn(process.execPath, [join(here, 'publisher.js'), JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => pub.once('exit', r)); // it may exit before the consumer has everything
  const lines: string[] = [];
  pub.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')));
  await waitFor('publisher connected', () => lines.some((l) => l.includes('connected')), 120_000);
  await new Promise((r) => setTimeout(r, Number(process.env.BENCH_SETTLE_MS ?? 1000))); // connection handshakes done, in both paths
  const cpu0 = cpuSeconds(cpuPid);
  const machine0 = machineCpu();
  pub.stdin!.write('go\n');
  const dbg = process.env.BENCH_DEBUG ? setInterval(() => progress(`received ${lat.length}, publisher: ${lines.join(' | ')}`), 2000) : undefined;
  progress(`${opts.idPrefix}: ${opts.devices} devices sending ${opts.count} messages${opts.rate ? ` at ${opts.rate}/s` : ''}`);
  await waitFor(`consumer received ${opts.count} (has ${lat.length})`, () => lat.length >= opts.count, Number(process.env.BENCH_WAIT_MS ?? 180_000), 20);
  const c1 = cpuSeconds(cpuPid);
  const machine1 = machineCpu();
  const cpu = c1.user + c1.sys - cpu0.user - cpu0.sys;
  if (process.env.BENCH_DEBUG) progress(`${opts.idPrefix}: CPU s user ${(c1.user - cpu0.user).toFixed(2)} sys ${(c1.sys - cpu0.sys).toFixed(2)} main thread ${(c1.main - cpu0.main).toFixed(2)}`);
  clearInterval(dbg);
  await exited;
  await consumer.endAsync();
  if (process.env.BENCH_TRACE && opts.rate) writeFileSync(`${process.env.BENCH_TRACE}-${opts.idPrefix.startsWith('ref') ? 'reference' : 'gridgate'}.txt`, trace.join('\n'));
  return { received: lat.length, msgsPerS: lat.length / Math.max(0.001, (last - first) / 1000), p50: pct(lat, 50), p99: pct(lat, 99), cpuUsPerMsg: (cpu * 1e6) / lat.length, stealPct: (100 * (machine1.steal - machine0.steal)) / Math.max(1, machine1.total - machine0.total) };
}

/** Per GC kind (major, minor, incremental, weakcb): how many, and their pauses' total in ms. */
type GcByKind = Record<string, { count: number; ms: number }>;

/** The gateway's GC totals from its /metrics text (prom-client's `nodejs_gc_duration_seconds`, our prefix). */
function gcByKind(metrics: string): GcByKind {
  const out: GcByKind = {};
  for (const m of metrics.matchAll(/^gridgate_process_nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} ([\d.e+-]+)$/gm)) {
    const k = (out[m[2]!] ??= { count: 0, ms: 0 });
    if (m[1] === 'sum') k.ms = Number(m[3]) * 1000;
    else k.count = Number(m[3]);
  }
  return out;
}

function gcSince(before: GcByKind, after: GcByKind): GcByKind {
  const out: GcByKind = {};
  for (const [kind, a] of Object.entries(after)) out[kind] = { count: a.count - (before[kind]?.count ?? 0), ms: Math.round(a.ms - (before[kind]?.ms ?? 0)) };
  return out;
}

const gcText = (g: GcByKind) => `major ${g.major?.count ?? 0} (${g.major?.ms ?? 0} ms), minor ${g.minor?.count ?? 0} (${g.minor?.ms ?? 0} ms)`;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  // The central broker as a city would run it for gateways: mosquitto's default Receive Maximum of 20 would
  // hold any MQTT 5 client to 20 unacknowledged publishes (20 / round trip: 400 msg/s over a 50 ms WAN), while
  // the reference's bridge runs with 1,000 in flight. Both paths get 1,000 here.
  const central = await startMosquitto({ extra: 'max_inflight_messages 1000' });
  const results: Record<string, unknown> = {};
  let edge: Mosquitto | undefined;
  let gw: GatewayProcess | undefined;
  try {
    const only = process.env.BENCH_ONLY;
    // Reference: a second mosquitto bridging devices/# to the central one.
    edge = await startMosquitto({ extra: `connection ref\naddress 127.0.0.1:${central.port}\ntopic devices/# out 1\ncleansession true\nmax_inflight_messages 1000` });
    const refSent = (p: Buffer) => (JSON.parse(p.toString()) as { sent_ms: number }).sent_ms;
    if (only !== 'gridgate') await drive({ url: edge.url, idPrefix: 'warm-', devices: 10, rate: 0, count: 2000 }, central.url, 'devices/#', refSent, edge.process.pid!);
    const ref: RunResult[] = [];
    for (let i = 0; i < (only === 'gridgate' ? 0 : 3); i++) ref.push(await drive({ url: edge.url, idPrefix: `ref${i}-`, devices: 100, rate: 0, count: THROUGHPUT_MSGS }, central.url, 'devices/#', refSent, edge.process.pid!));
    const refPacedRuns: RunResult[] = [];
    for (let i = 0; i < (only === 'gridgate' ? 0 : PACED_RUNS); i++) refPacedRuns.push(await drive({ url: edge.url, idPrefix: 'refp-', devices: PACED_DEVICES, rate: PACED_RATE, count: PACED_RATE * PACED_SECONDS }, central.url, 'devices/#', refSent, edge.process.pid!));
    const refPaced = mediansOf(refPacedRuns);
    await edge.stop();

    // GridGate: a bench profile with the send time as a metric, so latency is measured end to end.
    const dir = mkdtempSync(join(tmpdir(), 'gg-bench-'));
    mkdirSync(join(dir, 'profiles'));
    writeFileSync(
      join(dir, 'profiles', 'bench.yaml'),
      `id: bench-json
vendor: GridGate
model: bench
assetType: other
componentCode: "0101"
transport: mqtt-json
reportingIntervalS: 600
metrics:
  - { name: seq, source: seq }
  - { name: sent_ms, source: sent_ms }
alarms:
  - { id: high, kind: threshold, metric: seq, above: 1e12, title: { zh: 测试, en: test } }
  - { id: offline, kind: offline, title: { zh: 离线, en: offline } }
`,
    );
    const secret = randomBytes(24).toString('base64url');
    const apiToken = randomBytes(24).toString('base64url');
    const brokerPort = await freePort();
    const apiPort = await freePort();
    const devices = Array.from({ length: PACED_DEVICES }, (_, i) => `  - { id: d${i}, profile: bench-json }`).join('\n');
    writeFileSync(
      join(dir, 'gw.yaml'),
      `gateway: { id: gw-bench, gridId: "31011500301201", location: { lat: 31.2, lon: 121.5 }, dataDir: ./state }
log: { level: warn }
profiles: { dirs: [./profiles] }
broker: { port: ${brokerPort}, deviceKeySecret: "\${BENCH_SECRET}", rateLimit: { perSecond: 1000, burst: 1000 } }
uplink: { url: "${central.url}" }
api: { host: 127.0.0.1, port: ${apiPort}, token: "\${BENCH_API_TOKEN}" }
outbox: { synchronous: ${process.env.BENCH_OUTBOX_SYNC ?? 'FULL'} }
${process.env.BENCH_EXTRA_CONFIG ?? ''}
devices:
${devices}
`,
    );
    // As shipped (docker/Dockerfile, deploy/systemd): the start commands' node flags (node-flags.ts; BENCH_GC=parallel
    // leaves them out), no source maps, the young-generation limit from NODE_OPTIONS, two malloc arenas.
    const shipped = process.env.BENCH_NODE_OPTIONS ?? '--max-semi-space-size=4';
    const nodeArgs = [...(process.env.BENCH_GC === 'parallel' ? [] : GATEWAY_NODE_FLAGS), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
    gw = new GatewayProcess(['run', '--config', join(dir, 'gw.yaml')], { BENCH_SECRET: secret, BENCH_API_TOKEN: apiToken, NODE_OPTIONS: shipped, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' }, nodeArgs).start();
    await waitFor('gateway up', () => gw!.proc.pid && rssMb(gw!.proc.pid) > 0 && gw!.stderrText.length >= 0, 10_000);
    const url = `mqtt://127.0.0.1:${brokerPort}`;
    await waitFor('embedded broker', async () => {
      try {
        const c = await mqtt.connectAsync(url, { clientId: 'd0', username: 'd0', password: (await import('../src/southbound/broker/credentials.js')).derivedPassword(secret, 'd0'), reconnectPeriod: 0 });
        await c.endAsync();
        return true;
      } catch {
        return false;
      }
    }, 30_000, 200);
    const ggSent = (p: Buffer) => (JSON.parse(p.toString()) as { metrics: { sent_ms: { value: number } } }).metrics.sent_ms.value;
    // The envelope's ts is when the gateway received the device's message: the trace's third column.
    const ggReceived = (p: Buffer) => Date.parse((JSON.parse(p.toString()) as { ts: string }).ts);
    const filter = 'gridgate/v1/gw-bench/telemetry/#';
    await drive({ url, secret, idPrefix: 'd', devices: 10, rate: 0, count: 2000 }, central.url, filter, ggSent, gw.proc.pid!).catch((e: Error) => {
      throw new Error(`${e.message}\ngateway log:\n${gw!.stderrText.slice(-3000)}`);
    });
    const idleRss = rssMb(gw.proc.pid!);
    const gg: RunResult[] = [];
    for (let i = 0; i < Number(process.env.BENCH_RUNS ?? 3); i++) gg.push(await drive({ url, secret, idPrefix: 'd', devices: 100, rate: 0, count: THROUGHPUT_MSGS }, central.url, filter, ggSent, gw.proc.pid!));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(gw!.proc.pid!))), 200);
    // First with 900 devices the gateway has not heard from (each one's first message also publishes its
    // retained availability, so the first half second carries ~1.9× the load), then the same devices again: the
    // steady state the 2,000 msg/s target is about.
    const ggFirst = await drive({ url, secret, idPrefix: 'd', devices: PACED_DEVICES, rate: PACED_RATE, count: PACED_RATE * PACED_SECONDS }, central.url, filter, ggSent, gw.proc.pid!, ggReceived);
    const api = (path: string) => fetch(`http://127.0.0.1:${apiPort}${path}`, { headers: { authorization: `Bearer ${apiToken}` } });
    // The gateway's own count of its WAL syncs (status API), read around each steady run: how long the disk held
    // the acknowledgements during that run.
    const walCounts = async () => ((await (await api('/api/v1/status')).json()) as { outbox: { walSync?: { counts: number[] } } }).outbox.walSync?.counts ?? [];
    // And its garbage collections (its /metrics, prom-client's GC histogram): a major GC's pauses and the
    // incremental marking before it hold the event loop for tens of ms, where the latency tail clusters.
    const gcTotals = async () => gcByKind(await (await api('/metrics')).text());
    const pacedRuns: RunResult[] = [];
    const walSync: Array<{ p50?: number; p99?: number }> = []; // seconds: the bounds of the quantiles' buckets
    const gcRuns: GcByKind[] = [];
    for (let i = 0; i < PACED_RUNS; i++) {
      const before = await walCounts();
      const gcBefore = await gcTotals();
      pacedRuns.push(await drive({ url, secret, idPrefix: 'd', devices: PACED_DEVICES, rate: PACED_RATE, count: PACED_RATE * PACED_SECONDS }, central.url, filter, ggSent, gw.proc.pid!, ggReceived));
      const run = countsSince(before, await walCounts());
      walSync.push({ p50: syncQuantile(run, 0.5), p99: syncQuantile(run, 0.99) });
      gcRuns.push(gcSince(gcBefore, await gcTotals()));
    }
    const ggPaced = mediansOf(pacedRuns);
    clearInterval(sampler);
    if (process.env.BENCH_GW_LOG) progress(`gateway stderr:\n${gw.stderrText.slice(-Number(process.env.BENCH_GW_LOG))}`);

    const refRate = median(ref.map((r) => r.msgsPerS));
    const ggRate = median(gg.map((r) => r.msgsPerS));
    const cpuOf = (rs: RunResult[]) => Math.round(median(rs.map((r) => r.cpuUsPerMsg)));
    Object.assign(results, {
      reference: { msgsPerS: Math.round(refRate), runs: ref.map((r) => Math.round(r.msgsPerS)), pacedP50ms: refPaced.p50, pacedP99ms: refPaced.p99, pacedP99msRuns: refPaced.p99Runs, cpuUsPerMsg: cpuOf(ref), pacedCpuUsPerMsg: Math.round(refPaced.cpuUsPerMsg), pacedStealPct: Math.round(refPaced.stealPct) },
      gridgate: { msgsPerS: Math.round(ggRate), runs: gg.map((r) => Math.round(r.msgsPerS)), pacedP50ms: ggPaced.p50, pacedP99ms: ggPaced.p99, pacedP99msRuns: ggPaced.p99Runs, firstContactP50ms: ggFirst.p50, firstContactP99ms: ggFirst.p99, cpuUsPerMsg: cpuOf(gg), pacedCpuUsPerMsg: Math.round(ggPaced.cpuUsPerMsg), pacedStealPct: Math.round(ggPaced.stealPct), pacedWalSyncRuns: walSync.map((w) => ({ p50: syncBoundText(w.p50), p99: syncBoundText(w.p99) })), pacedGcRuns: gcRuns, idleRssMb: Math.round(idleRss), peakRssMbWith1000Devices: Math.round(peak) },
      throughputRatio: Number((ggRate / refRate).toFixed(2)),
    });
    const line = (k: string, v: string) => console.log(`${k.padEnd(44)} ${v}`);
    console.log('\nGridGate ingest benchmark (this machine; medians of 3 throughput runs)');
    line('reference (mosquitto → bridge → mosquitto)', `${Math.round(refRate)} msg/s   p50 ${refPaced.p50} ms  p99 ${refPaced.p99} ms at ${PACED_RATE} msg/s (median; runs ${refPaced.p99Runs.join(', ')} ms)`);
    line('gridgate (full path, QoS 1, SQLite outbox)', `${Math.round(ggRate)} msg/s   p50 ${ggPaced.p50} ms  p99 ${ggPaced.p99} ms at ${PACED_RATE} msg/s (median; runs ${ggPaced.p99Runs.join(', ')} ms)`);
    line("gridgate, the devices' first contact", `p50 ${ggFirst.p50} ms  p99 ${ggFirst.p99} ms at ${PACED_RATE} msg/s (+ one availability message per new device)`);
    line('throughput ratio gridgate / reference', `${(ggRate / refRate).toFixed(2)}   (target ≥ 0.5)`);
    line('CPU per message, as fast as possible / paced', `reference's bridge ${cpuOf(ref)} / ${Math.round(refPaced.cpuUsPerMsg)} µs, gateway ${cpuOf(gg)} / ${Math.round(ggPaced.cpuUsPerMsg)} µs`);
    line('CPU steal during the paced runs (median)', `reference ${Math.round(refPaced.stealPct)} %, gridgate ${Math.round(ggPaced.stealPct)} %   (this VM's hypervisor running others)`);
    line('gateway WAL sync in each paced run', `${walSync.map((w) => `p50 ${syncBoundText(w.p50)}, p99 ${syncBoundText(w.p99)}`).join(' | ')}   (every acknowledgement waits for one)`);
    line('gateway GC in each paced run', `${gcRuns.map(gcText).join(' | ')}`);
    line(`gateway RSS idle / peak with ${PACED_DEVICES} devices`, `${Math.round(idleRss)} MB / ${Math.round(peak)} MB   (target ≤ 150 MB)`);
    console.log(JSON.stringify(results));
  } finally {
    await gw?.kill('SIGTERM');
    await edge?.stop();
    await central.stop();
  }
}

await main();
process.exit(0);
