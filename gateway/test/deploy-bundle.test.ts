import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePassword } from '../src/southbound/broker/credentials.js';
import { GATEWAY_NODE_FLAGS } from '../src/runtime/node-flags.js';
import { notInBundle } from '../src/cli/dev-fakes.js';
import { Consumer } from './helpers/consumer.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';

// The production bundle built exactly as the Dockerfiles build it (docker/bundle.mjs: the compiled dist/ plus
// `npm ci --omit=dev` in a fresh folder, no TypeScript there), then started from that folder as the images and
// the systemd unit start it: the demo (with the fakes laid over a copy of the bundle as test fixtures: the bundle
// carries none), and the container entry point with a template config against a real
// mosquitto. Where the Docker build downloads better-sqlite3's prebuilt binary, this test serves the one this
// checkout compiled through prebuild-install's local-prebuilds option, so the bundle's `npm ci` needs no
// compiler and no network beyond the npm cache.

const GW = 'gw-bundle-01';

describe('production bundle (docker/bundle.mjs, as the Dockerfiles build it)', () => {
  let tmp: string;
  let out: string;
  let bundleLog = '';
  let central: Mosquitto | undefined;
  let consumer: Consumer | undefined;
  const children: ChildProcess[] = [];

  const run = (args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string } = {}) => {
    const p = spawn(args[0]!, args.slice(1), { cwd: opts.cwd ?? tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(p);
    const io = { stdout: '', stderr: '', exit: new Promise<number | null>((res) => p.once('exit', (code) => res(code))) };
    p.stdout!.on('data', (d: Buffer) => (io.stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (io.stderr += d.toString()));
    return { p, io };
  };
  /** docker/healthcheck.mjs as the HEALTHCHECK runs it: its exit code and output. */
  const healthcheck = (env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number; out: string }>((res) => {
      execFile(process.execPath, [join(out, 'docker', 'healthcheck.mjs')], { env, timeout: 10_000 }, (err, stdout, stderr) =>
        res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });
  /** The container's environment: only what the image sets plus what the test gives, not the test runner's. */
  const containerEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: tmp,
    NODE_ENV: 'production',
    GRIDGATE_HOME: out,
    GRIDGATE_DATA_DIR: join(tmp, 'data'),
    GRIDGATE_PROFILES_DIR: join(out, 'device-profiles'),
    GRIDGATE_RUN_DIR: join(tmp, 'run'),
    ...extra,
  });

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'gg-bundle-'));
    out = join(tmp, 'opt-gridgate');
    const sqlite = join(repoRoot, 'node_modules', 'better-sqlite3');
    const { version } = JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string };
    const prebuilds = join(tmp, 'prebuilds');
    mkdirSync(prebuilds);
    const tarball = join(prebuilds, `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
    const tar = spawnSync('tar', ['-czf', tarball, '-C', sqlite, 'build/Release/better_sqlite3.node'], { encoding: 'utf8' });
    assert.equal(tar.status, 0, tar.stderr);

    const started = Date.now();
    const r = spawnSync(process.execPath, [join(repoRoot, 'docker', 'bundle.mjs'), out], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds },
    });
    bundleLog = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, `bundle failed (${r.error?.message ?? ''}):\n${bundleLog.slice(-4000)}`);
    console.log(`# bundle built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${bundleLog.match(/bundle: .*/)?.[0]}`);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await consumer?.close();
    await central?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('holds the compiled gateway and production dependencies only', () => {
    assert.match(bundleLog, /prepare: production install \(no TypeScript\): using the compiled dist\//);
    for (const dev of ['typescript', 'dclint', 'dockerfile-utils']) assert.ok(!existsSync(join(out, 'node_modules', dev)), `${dev} is a dev dependency, yet in the bundle`);
    for (const gone of ['gateway/src', 'gateway/test', 'gateway/dist/test', 'contract/src']) assert.ok(!existsSync(join(out, gone)), `${gone} should not be in the bundle`);
    for (const fake of ['gateway/fakes', 'gateway/dist/fakes']) assert.ok(!existsSync(join(out, fake)), `${fake}: the fakes are development and lab tools, yet in the bundle`);
    assert.ok(existsSync(join(out, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')));
    assert.ok(existsSync(join(out, 'gateway', 'dist', 'src', 'cli', 'main.js')));
  });

  test('the development and lab commands (demo, simulate, opcua simulate, virtual-camera) say they are not in the bundle; the help still lists every command', () => {
    const cli = join(out, 'gateway', 'dist', 'src', 'cli', 'main.js');
    const lab = [
      ['demo', '--duration', '5'],
      ['simulate', '--config', join(out, 'firmware-configs', 'demo.yaml')],
      ['opcua', 'simulate', '--port', '0'],
      ['virtual-camera', '--video', 'x.avi'],
    ] as const;
    for (const args of lab) {
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000, env: containerEnv({}) });
      const command = args[0] === 'opcua' ? 'opcua simulate' : args[0];
      assert.equal(r.status, 1, `${command}: ${r.stderr}`);
      assert.equal(r.stderr, `gridgate: ${notInBundle(command)}\n`);
      assert.equal(r.stdout, '', `${command} started something before it found its fakes absent`);
    }
    assert.match(notInBundle('demo'), /^demo is a development and lab command .*not part of this production bundle.*run it from a source checkout/);
    const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(help.status, 0, help.stderr);
    for (const command of ['run', 'demo', 'simulate', 'virtual-camera', 'opcua', 'detect']) assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
  });

  test('the demo runs from the bundle with the fakes laid over it (test fixtures): simulated sensors, alarms, the SQLite outbox, the health check', async () => {
    // A copy of the bundle (hard links: quick, and the bundle itself stays bare) plus the checkout's compiled
    // fakes, pure JavaScript: production code driven by fake devices, as the lab image runs it.
    const lab = join(tmp, 'opt-gridgate-lab');
    const cp = spawnSync('cp', ['-al', out, lab], { encoding: 'utf8' });
    assert.equal(cp.status, 0, cp.stderr);
    cpSync(join(repoRoot, 'gateway', 'dist', 'fakes'), join(lab, 'gateway', 'dist', 'fakes'), { recursive: true });
    assert.ok(!existsSync(join(out, 'gateway', 'dist', 'fakes')), 'the bundle itself stays without fakes');
    const env = {
      ...containerEnv({ GRIDGATE_HOME: lab, GRIDGATE_PROFILES_DIR: join(lab, 'device-profiles') }),
      GRIDGATE_DEMO_CENTRAL_PORT: String(await freePort()),
      GRIDGATE_DEMO_BROKER_PORT: String(await freePort()),
      GRIDGATE_DEMO_API_PORT: String(await freePort()),
    };
    const { p, io } = run([process.execPath, join(lab, 'gateway', 'dist', 'src', 'cli', 'main.js'), 'demo', '--duration', '120'], env);
    await waitFor(`the demo's first alarm (stdout so far: ${io.stdout.slice(-1500)}${io.stderr.slice(-1500)})`, () => /ALARM RAISED\s+hydrant-001/.test(io.stdout), 40_000, 200);
    assert.ok(io.stdout.includes(`config          ${join(lab, 'firmware-configs', 'demo.yaml')}`), 'the demo must read the bundled config');
    const apiPort = io.stdout.match(/http:\/\/127\.0\.0\.1:(\d+)\/api\/v1\/status/)?.[1];
    assert.ok(apiPort, io.stdout);
    const hc = await healthcheck({ ...env, GRIDGATE_API_PORT: apiPort });
    assert.equal(hc.code, 0, hc.out);
    assert.equal((JSON.parse(hc.out) as { gatewayId: string }).gatewayId, 'gw-demo-01');
    p.kill('SIGTERM');
    assert.equal(await io.exit, 0, io.stderr);
    assert.match(io.stdout, /demo stopped: \d+ device messages simulated/);
  });

  test('the container entry point runs the template for the balena device type from the environment', async () => {
    assert.ok(!existsSync('/etc/gridgate/gateway.yaml'), 'this machine has /etc/gridgate/gateway.yaml, which the entry point would prefer');
    const pw = { gw: generatePassword(), viewer: generatePassword(), api: generatePassword() };
    // The lab's central broker ACL, as docker/compose.yaml gives it to mosquitto.
    central = await startMosquitto({ users: { [GW]: pw.gw, viewer: pw.viewer }, acl: readFileSync(join(repoRoot, 'docker', 'lab', 'mosquitto.acl'), 'utf8') });
    consumer = await Consumer.connect(central.url, { username: 'viewer', password: pw.viewer, protocolVersion: 5 }, 'gridgate/v1/#');
    const apiPort = String(await freePort());
    const env = containerEnv({
      BALENA_DEVICE_TYPE: 'raspberrypi5',
      GRIDGATE_GATEWAY_ID: GW,
      GRIDGATE_GRID_ID: '31011500301201',
      GRIDGATE_LAT: '31.2336',
      GRIDGATE_LON: '121.5329',
      GRIDGATE_CENTRAL_URL: central.url,
      GRIDGATE_CENTRAL_PASSWORD: pw.gw,
      GRIDGATE_API_TOKEN: pw.api,
      GRIDGATE_BROKER_HOST: '127.0.0.1',
      GRIDGATE_BROKER_PORT: String(await freePort()),
      GRIDGATE_API_HOST: '127.0.0.1',
      GRIDGATE_API_PORT: apiPort,
    });
    assert.equal((await healthcheck(env)).code, 1, 'the health check must fail while nothing answers');

    const { p, io } = run(['sh', join(out, 'docker', 'entrypoint.sh')], env);
    await consumer.waitFor('status', (m) => m.gatewayId === GW && m.state === 'online', `${GW} online on the central broker (gateway stderr: ${io.stderr.slice(-2000)})`, 20_000);
    assert.match(io.stderr, new RegExp(`config ${join(out, 'firmware-configs', 'rpi5.yaml')} \\(template rpi5\\)`));
    const hc = await waitFor('a passing health check', async () => {
      const r = await healthcheck(env);
      return r.code === 0 && r.out;
    }, 10_000, 200);
    assert.equal((JSON.parse(hc) as { uplink: string }).uplink, 'connected');
    assert.ok(existsSync(join(tmp, 'data', 'gridgate.db')), 'state goes to GRIDGATE_DATA_DIR');
    // The entry point starts node with the gateway's node flags (they cannot come from NODE_OPTIONS).
    const argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
    for (const flag of GATEWAY_NODE_FLAGS) assert.ok(argv.indexOf(flag) > 0 && argv.indexOf(flag) < argv.findIndex((a) => a.endsWith('main.js')), `node ${flag} before the CLI: ${argv.join(' ')}`);

    // `exec` made node the entry point's process: SIGTERM (docker stop, tini) reaches the gateway itself.
    p.kill('SIGTERM');
    assert.equal(await io.exit, 0, io.stderr.slice(-2000));
    await consumer.waitFor('status', (m) => m.gatewayId === GW && m.state === 'offline' && m.reason === 'shutdown', 'the offline status of a clean stop');
  });

  test('the entry point decodes a whole config and its uplink CA from GRIDGATE_CONFIG_B64; says what is wrong otherwise', () => {
    const runDir = join(tmp, 'run-b64');
    // Relative paths resolve against the decoded file's folder: the CA file lies beside it.
    const config = `gateway:
  id: gw-b64-01
  gridId: "31011500301201"
  dataDir: \${GRIDGATE_DATA_DIR}
profiles:
  dirs:
    - \${GRIDGATE_PROFILES_DIR}
uplink:
  url: mqtts://central.example.org:8883
  username: gw-b64-01
  password: "\${GRIDGATE_CENTRAL_PASSWORD}"
  tls: { ca: ./uplink-ca.pem }
devices:
  - { id: hydrant-101, profile: milesight-em500-pp, lorawan: { devEui: "24e124126b211004" }, location: { lat: 31.2333, lon: 121.5338 } }
`;
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const validate = (extra: Record<string, string>) => {
      const r = spawnSync('sh', [join(out, 'docker', 'entrypoint.sh'), 'validate'], {
        env: containerEnv({ GRIDGATE_RUN_DIR: runDir, GRIDGATE_CENTRAL_PASSWORD: 'x', ...extra }),
        encoding: 'utf8',
        timeout: 30_000,
      });
      return { code: r.status, out: `${r.stdout}${r.stderr}` };
    };

    const ok = validate({ GRIDGATE_CONFIG_B64: b64(config), GRIDGATE_UPLINK_CA_B64: b64('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n') });
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /OK \(gateway gw-b64-01, 1 device\(s\)/);
    assert.equal(statSync(runDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(runDir, 'gateway.yaml')).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(runDir, 'gateway.yaml'), 'utf8'), config);

    rmSync(runDir, { recursive: true });
    const noCa = validate({ GRIDGATE_CONFIG_B64: b64(config) });
    assert.equal(noCa.code, 2);
    assert.match(noCa.out, /uplink\.tls\.ca: file not found: .*uplink-ca\.pem/);

    const garbled = validate({ GRIDGATE_CONFIG_B64: 'this is not base64!' });
    assert.equal(garbled.code, 2);
    assert.match(garbled.out, /GRIDGATE_CONFIG_B64 is not valid base64/);

    const none = validate({});
    assert.equal(none.code, 2);
    assert.match(none.out, /no config: mount one at \/etc\/gridgate\/gateway\.yaml, or set GRIDGATE_CONFIG, GRIDGATE_CONFIG_B64 or GRIDGATE_TEMPLATE/);

    const board = validate({ BALENA_DEVICE_TYPE: 'beaglebone-black' });
    assert.equal(board.code, 2);
    assert.match(board.out, /no template for balena device type beaglebone-black/);
  });

  test('the systemd unit starts what the bundle holds', () => {
    const unit = readFileSync(join(repoRoot, 'deploy', 'systemd', 'gridgate.service'), 'utf8');
    const inBundle = (p: string) => p.replace('/opt/gridgate', out);
    const exec = unit.match(/^ExecStart=\/usr\/bin\/node ((?:--\S+ )*)(\S+) run --config \/etc\/gridgate\/gateway\.yaml$/m);
    assert.ok(exec, 'ExecStart runs the gateway CLI with /etc/gridgate/gateway.yaml');
    assert.ok(existsSync(inBundle(exec[2]!)), `${exec[2]} is not in the bundle`);
    // The gateway's node flags, which cannot come from NODE_OPTIONS, as the image's entry point also gives them.
    for (const flag of GATEWAY_NODE_FLAGS) assert.ok(exec[1]!.split(' ').includes(flag), `ExecStart lacks node ${flag}: ${exec[0]}`);
    for (const m of unit.matchAll(/^Environment=GRIDGATE_(?:HOME|PROFILES_DIR)=(\S+)$/gm)) assert.ok(existsSync(inBundle(m[1]!)), `${m[1]} is not in the bundle`);
    assert.ok(existsSync(join(out, 'deploy', 'systemd', 'gridgate.service')), 'install.sh installs the unit from the bundle');
  });
});
