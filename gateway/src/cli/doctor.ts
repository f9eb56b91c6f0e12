import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { probeTarget } from '../southbound/cameras/capture-args.js';
import { tcpProbe } from '../southbound/cameras/capture.js';
import { FfmpegMissing, resolveFfmpeg } from '../southbound/cameras/ffmpeg.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';
import { SourceError } from '../util/yaml-source.js';
import { certCheck, type CertProbe, clockCheck, diskCheck, endpointCheck, formatReport, listenPorts, mqttCheck, portCheck, summary, type CheckResult } from '../local/doctor/checks.js';
import { probeCert, probeClock, probeDisk, probeListen, probeMqtt } from '../local/doctor/probes.js';
import { readEnvFile } from '../local/provision/env-file.js';
import { DetectorConfig } from '../pipeline/vision/config.js';
import { modelSpec } from '../pipeline/vision/detector/model.js';
import { WorkerPoolDetector } from '../pipeline/vision/detector/pool.js';
import type { BackendChoice } from '../pipeline/vision/detector/tf-runtime.js';
import { ProgressBar } from './progress.js';

interface DoctorOpts {
  config: string;
  envFile?: string;
  timeout: string;
  json?: boolean;
  detector: boolean;
}

/** Every `quotaMb` / `maxMb` in the config: what may fill the disk (outbox, history, evidence). */
function quotas(c: GatewayConfig): Array<{ name: string; mb: number }> {
  const out: Array<{ name: string; mb: number }> = [];
  const visit = (v: unknown, path: string[]): void => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if ((k === 'quotaMb' || k === 'maxMb') && typeof x === 'number') out.push({ name: [...path, k].join('.'), mb: x });
      else visit(x, [...path, k]);
    }
  };
  visit(c, []);
  return out.filter((q) => !q.name.startsWith('video.') || c.cameras.some((cam) => cam.enabled));
}

async function ffmpegCheck(c: GatewayConfig, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const cams = c.cameras.filter((x) => x.enabled).length;
  try {
    const f = await resolveFfmpeg({ configured: c.video.ffmpegPath, env });
    return { check: 'ffmpeg', status: 'pass', detail: `${f.path} (${f.via}${f.version ? `, version ${f.version}` : ''})` };
  } catch (e) {
    if (!(e instanceof FfmpegMissing)) throw e;
    if (!cams) return { check: 'ffmpeg', status: 'skip', detail: 'not found, and no camera needs it' };
    return { check: 'ffmpeg', status: 'fail', detail: `not found, and ${cams} camera(s) need it: ${e.message.split(';')[0]}`, fix: 'install ffmpeg (apt-get install ffmpeg) or set video.ffmpegPath / FFMPEG_PATH' };
  }
}

async function detectorCheck(c: GatewayConfig, progress: boolean): Promise<CheckResult> {
  if (!c.vision?.enabled) return { check: 'detector', status: 'skip', detail: 'vision is not configured' };
  const d = c.vision.detector;
  const backend = DetectorConfig.shape.backend.parse(d.backend) as BackendChoice;
  const bar = progress ? new ProgressBar('loading the detector model', undefined) : undefined;
  const t0 = performance.now();
  let note: string | undefined;
  try {
    const pool = await WorkerPoolDetector.start({ spec: modelSpec(d.model), backend, minScore: d.minScore, workers: 1, onNote: (n) => (note = n) });
    const ms = performance.now() - t0;
    const st = pool.stats;
    await pool.close();
    bar?.done(`${(ms / 1000).toFixed(1)} s`);
    const warm = st.warmupMs[0];
    return {
      check: 'detector',
      status: 'pass',
      detail: `backend ${st.backend}, model ready in ${(ms / 1000).toFixed(1)} s (load ${Math.round(st.loadMs[0] ?? 0)} ms${warm !== undefined ? `, first inference ${Math.round(warm)} ms` : ''})${note ? `; ${note}` : ''}`,
    };
  } catch (e) {
    bar?.done('failed');
    return { check: 'detector', status: 'fail', detail: `the model does not load (backend ${backend}): ${(e as Error).message}`, fix: d.model ? 'check vision.detector.model.path and that its weight files sit beside model.json' : 'set vision.detector.backend: wasm (or install @tensorflow/tfjs-node for the tensorflow backend)' };
  }
}

async function networkChecks(c: GatewayConfig, timeoutMs: number): Promise<CheckResult[]> {
  const jobs: Array<Promise<CheckResult>> = [];
  const u = c.uplink;
  jobs.push(
    probeMqtt('central broker', { url: u.url, username: u.username, password: u.password, tls: u.tls, rejectUnauthorized: u.rejectUnauthorized, protocolVersion: u.protocolVersion, clientId: `${u.clientId ?? c.gateway.id}-doctor` }, timeoutMs).then((p) => mqttCheck(p, 'uplink')),
  );
  c.lns.forEach((l, i) => {
    jobs.push(probeMqtt(`network server ${l.id}`, { url: l.url, username: l.username, password: l.password, tls: l.tls, rejectUnauthorized: l.rejectUnauthorized, protocolVersion: 4, clientId: `${c.gateway.id}-doctor-${l.id}` }, timeoutMs).then((p) => mqttCheck(p, `lns[${i}]`)));
  });
  c.cameras.forEach((cam, i) => {
    if (!cam.enabled) return jobs.push(Promise.resolve({ check: 'camera', status: 'skip', detail: `${cam.id}: disabled` }));
    const s = cam.source;
    if (s.kind === 'file') {
      return jobs.push(Promise.resolve(endpointCheck({ check: 'camera', name: cam.id, target: s.path, ...(!existsSync(s.path) && { error: 'file not found' }), fix: `check cameras[${i}].source.path` })));
    }
    const t = probeTarget(s.url);
    if (!t) return jobs.push(Promise.resolve({ check: 'camera', status: 'fail', detail: `${cam.id}: cannot read the address ${s.url}`, fix: `check cameras[${i}].source.url` }));
    jobs.push(
      tcpProbe(t.host, t.port, timeoutMs).then((error) =>
        endpointCheck({ check: 'camera', name: cam.id, target: `${t.host}:${t.port}`, ...(error && { error }), fix: `check that camera ${cam.id} is powered and on the network, and cameras[${i}].source.url (gridgate cameras discover lists what answers)` }),
      ),
    );
  });
  c.opcua.endpoints.forEach((ep, i) => {
    let host = '';
    let port = 4840;
    try {
      const url = new URL(ep.url);
      host = url.hostname.replace(/^\[|\]$/g, '');
      if (url.port) port = Number(url.port);
    } catch {
      /* reported below */
    }
    jobs.push(
      (host ? tcpProbe(host, port, timeoutMs) : Promise.resolve('cannot read the address')).then((error) =>
        endpointCheck({ check: 'opc-ua', name: ep.id, target: `${host}:${port}`, ...(error && { error }), fix: `check that the OPC-UA server ${ep.id} runs and is reachable, and opcua.endpoints[${i}].url` }),
      ),
    );
  });
  return Promise.all(jobs);
}

function certificateChecks(c: GatewayConfig, now: number): CheckResult[] {
  const probes: CertProbe[] = [];
  const add = (role: string, file: string | undefined, renew: string | undefined, key?: string) => file && probes.push({ ...probeCert(role, file, key), ...(renew && { renew }) });
  const fromCentral = 'get the current CA certificate from the central platform and install it (gridgate provision --ca)';
  add('uplink client certificate (uplink.tls.cert)', c.uplink.tls?.cert, undefined, c.uplink.tls?.key);
  add('central CA (uplink.tls.ca)', c.uplink.tls?.ca, fromCentral);
  add('embedded broker certificate (broker.tls.cert)', c.broker.enabled ? c.broker.tls?.cert : undefined, 'issue a new server certificate for the cabinet LAN and replace broker.tls.cert/key', c.broker.tls?.key);
  add('device CA (broker.tls.ca)', c.broker.enabled ? c.broker.tls?.ca : undefined, 'replace broker.tls.ca with the current CA of the device certificates');
  add('API/console certificate (api.tls.cert)', c.api.enabled ? c.api.tls?.cert : undefined, 'issue a new certificate for the console and replace api.tls.cert/key', c.api.tls?.key);
  c.lns.forEach((l, i) => {
    add(`network server ${l.id} client certificate (lns[${i}].tls.cert)`, l.tls?.cert, 'ask the network server operator for a new client certificate', l.tls?.key);
    add(`network server ${l.id} CA (lns[${i}].tls.ca)`, l.tls?.ca, 'get the current CA certificate from the network server operator');
  });
  if (!probes.length) return [{ check: 'certificate', status: 'skip', detail: 'no certificate files in the config' }];
  return probes.map((p) => certCheck(p, now));
}

function accessChecks(c: GatewayConfig): CheckResult[] {
  if (!c.api.enabled) return [{ check: 'api', status: 'skip', detail: 'the HTTP API (and console) is switched off' }];
  const out: CheckResult[] = [];
  out.push(c.api.token ? { check: 'api', status: 'pass', detail: `token set; http${c.api.tls ? 's' : ''}://${c.api.host}:${c.api.port}` } : { check: 'api', status: 'warn', detail: 'no api.token: /api/* answers only console logins', fix: 'set api.token to ${GRIDGATE_API_TOKEN} with a long random value in the environment' });
  if (c.console.enabled) {
    out.push(c.console.passwordHash ? { check: 'console', status: 'pass', detail: `admin password set; http${c.api.tls ? 's' : ''}://${c.api.host}:${c.api.port}/console/` } : { check: 'console', status: 'warn', detail: 'no admin password: nobody can log in to the console', fix: 'gridgate console set-password --config <file>' });
    if (!c.api.tls && c.api.host !== '127.0.0.1' && c.api.host !== 'localhost' && c.api.host !== '::1') {
      out.push({ check: 'console', status: 'warn', detail: `the console is served without TLS on ${c.api.host}: the password crosses the cabinet LAN in clear`, fix: 'set api.tls (cert and key) or keep api.host on 127.0.0.1 and use an SSH tunnel' });
    }
  }
  return out;
}

/** Runs every check on a loaded config; the report's order is the order a field engineer fixes things in. */
export async function runDoctor(loaded: LoadedConfig, o: { env: NodeJS.ProcessEnv; timeoutMs: number; detector: boolean; progress: boolean }): Promise<CheckResult[]> {
  const c = loaded.config;
  const now = Date.now();
  const results: CheckResult[] = [];
  results.push({ check: 'config', status: 'pass', detail: `${loaded.file}: gateway ${c.gateway.id}, ${c.devices.length} device(s), ${c.cameras.length} camera(s)${loaded.grids ? `, grid map ${loaded.grids.map.grids.length} grids` : ''}` });
  results.push(clockCheck(probeClock()));
  results.push(...diskCheck(probeDisk(c.gateway.dataDir), quotas(c)));
  results.push(...(await Promise.all(listenPorts(c).map(probeListen))).map(portCheck));
  const net = networkChecks(c, o.timeoutMs);
  results.push(await ffmpegCheck(c, o.env));
  results.push(o.detector ? await detectorCheck(c, o.progress) : { check: 'detector', status: 'skip', detail: '--no-detector' });
  results.push(...(await net));
  results.push(...certificateChecks(c, now));
  results.push(...accessChecks(c));
  return results;
}

/** What to do about a config problem; an unset variable is added to the environment file given, not asked for again. */
function unsetFix(message: string, path: string, o: DoctorOpts): string {
  const name = /environment variable (\S+) is not set/.exec(message)?.[1];
  if (!name) return 'edit the file (gridgate config validate shows the same list)';
  if (!o.envFile) return 'set it in the gateway environment, or pass the environment file with --env-file';
  const maker = path === 'api.token' ? ` (gridgate provision --config ${o.config} --env-file ${o.envFile} writes a random one)` : '';
  return `add ${name}=<value> to ${o.envFile}${maker}`;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check a gateway before it goes live: config, clock sync, disk and quotas, its own broker and API ports, ffmpeg, detector, central broker (credentials, TLS), cameras and OPC-UA endpoints, certificates; a fix for each problem; exit code 1 on any failure')
    .requiredOption('-c, --config <file>', 'gateway config')
    .option('--env-file <file>', "the gateway's environment file (secrets), e.g. /etc/gridgate/gridgate.env")
    .option('-t, --timeout <s>', 'seconds to wait for each network peer', '5')
    .option('--no-detector', 'skip loading the detector model (it takes seconds)')
    .option('--json', 'print the results as JSON')
    .action(async (o: DoctorOpts) => {
      const env: NodeJS.ProcessEnv = { ...process.env, ...(o.envFile && readEnvFile(o.envFile)) };
      let loaded: LoadedConfig;
      try {
        loaded = loadConfig(o.config, env);
      } catch (e) {
        if (!(e instanceof SourceError)) throw e;
        const r: CheckResult[] = e.problems.map((p) => ({ check: 'config', status: 'fail', detail: `${p.file}:${p.line}: ${p.path || '(root)'}: ${p.message}`, fix: unsetFix(p.message, p.path, o) }));
        process.stdout.write(o.json ? `${JSON.stringify({ results: r, ...summary(r) }, null, 2)}\n` : formatReport(`gridgate doctor: ${o.config}`, r, !!process.stdout.isTTY));
        process.exitCode = 1;
        return;
      }
      const results = await runDoctor(loaded, { env, timeoutMs: Math.max(0.5, Number(o.timeout) || 5) * 1000, detector: o.detector, progress: !o.json && !!process.stderr.isTTY });
      const s = summary(results);
      process.stdout.write(o.json ? `${JSON.stringify({ results, ...s }, null, 2)}\n` : formatReport(`gridgate doctor: gateway ${loaded.config.gateway.id} (${o.config})`, results, !!process.stdout.isTTY));
      if (s.failed) process.exitCode = 1;
    });
}
