import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import { generatePassword, verifyPassword } from '../src/southbound/broker/credentials.js';
import { makeTestPki } from './helpers/certs.js';
import { CLI, GatewayProcess, runCli } from './helpers/gateway-process.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort, waitFor } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';

// The field engineer's commands as they are used: init a site from a board template, add sensors (and use
// the printed credentials on the real embedded broker), provision the uplink (a CSR signed by a CA with
// openssl, mutual TLS with a real mosquitto; or a password), doctor against real peers, status of a running
// gateway.

const GRID_MAP = join(repoRoot, 'firmware-configs', 'grids', 'yangjing-demo.geojson');
const mode = (f: string) => statSync(f).mode & 0o777;
/** Environment lines that put the gateway's own broker and API on free ports (doctor checks they are free). */
const ownPorts = async () => `GRIDGATE_BROKER_PORT=${await freePort()}\nGRIDGATE_API_PORT=${await freePort()}\n`;

async function init(dir: string, extra: string[] = []): Promise<string> {
  const file = join(dir, 'site.yaml');
  const r = await runCli(['init', '--hardware', 'rpi4', '--site', 'Yangjing Minsheng Rd', '--grid-map', GRID_MAP, '--location', '31.2336,121.5329', '--out', file, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return file;
}

describe('gridgate init', () => {
  test('each board template becomes a site config that validates, with the grid looked up and the notes kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-init-'));
    const boards = [['rpi4', /Pi 4: at most 2 cameras/], ['rpi5', /Pi 5: up to 4 cameras/], ['jetson', /Jetson Orin Nano: up to 6 cameras/]] as const;
    const runs = await Promise.all(boards.map(([hw]) => runCli(['init', '--hardware', hw, '--site', '洋泾 民生路', '--id', `gw-${hw}`, '--grid-map', GRID_MAP, '--location', '31.2336,121.5329', '--out', join(dir, `${hw}.yaml`)])));
    boards.forEach(([hw, note], i) => {
      const r = runs[i]!;
      const out = join(dir, `${hw}.yaml`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /the cabinet is in grid 31011500301205/);
      assert.match(r.stdout, /must set GRIDGATE_CENTRAL_URL, GRIDGATE_CENTRAL_PASSWORD\n/);
      assert.match(readFileSync(out, 'utf8'), note);
      assert.doesNotMatch(readFileSync(out, 'utf8'), /\(issue \d+\)|\blands? here\b/, 'no development notes in the written config');
      assert.doesNotMatch(readFileSync(out, 'utf8'), /\.\.\//, 'no relative climb into the checkout: outside the config folder, paths are absolute');
      assert.match(readFileSync(out, 'utf8'), new RegExp(`^  file: ${GRID_MAP}$`, 'm'));
      const { config, grids } = loadConfig(out, { GRIDGATE_CENTRAL_URL: 'mqtts://central:8883', GRIDGATE_CENTRAL_PASSWORD: 'x', GRIDGATE_API_TOKEN: 'y' });
      assert.deepEqual([config.gateway.id, config.gateway.site, config.gateway.gridId], [`gw-${hw}`, '洋泾 民生路', '31011500301205']);
      assert.equal(grids?.map.grids.length, 9);
    });
    const [again, outside, noId, board] = await Promise.all([
      runCli(['init', '--hardware', 'rpi4', '--site', 'x', '--id', 'gw-x', '--grid-map', GRID_MAP, '--out', join(dir, 'rpi4.yaml')]),
      runCli(['init', '--hardware', 'rpi4', '--site', 'x', '--id', 'gw-x', '--grid-map', GRID_MAP, '--location', '30.0,120.0', '--out', join(dir, 'o.yaml')]),
      runCli(['init', '--hardware', 'rpi4', '--site', '洋泾 民生路 3号箱', '--grid-map', GRID_MAP, '--out', join(dir, 'n.yaml')]),
      runCli(['init', '--hardware', 'rpi3', '--site', 'x', '--grid-map', GRID_MAP, '--out', join(dir, 'b.yaml')]),
    ]);
    assert.match(again.stderr, /rpi4\.yaml exists: choose another --out, or --force/);
    assert.match(outside.stderr, /outside every grid .*--crs gcj02\?/);
    assert.match(noId.stderr, /give the gateway an id with --id, e\.g\. --id gw-yangjing-minsheng-3: the site name "洋泾 民生路 3号箱" is not in latin letters, and init does not romanize it/);
    assert.equal(noId.code, 1, 'not gw-3 from the digits left over');
    assert.match(board.stderr, /--hardware rpi3: choose one of rpi4, rpi5, jetson/);
    assert.ok(!existsSync(join(dir, 'o.yaml')) && !existsSync(join(dir, 'n.yaml')));
  });
});

describe('gridgate init: the documented example and a missing grid map', () => {
  test("the README's init example runs as written; a missing grid map names the maps there are and what one is", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-init-doc-'));
    for (const doc of ['README.md', 'docs/field-engineer.md']) {
      const line = /gridgate init (?:\\\n|[^\n])*/.exec(readFileSync(join(repoRoot, doc), 'utf8'))![0].replace(/\\\n\s*/g, ' ');
      const args = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!).slice(1);
      const at = (flag: string) => args.indexOf(flag) + 1;
      args[at('--grid-map')] = join(repoRoot, args[at('--grid-map')]!);
      args[at('--out')] = join(dir, `${doc.replace(/\W/g, '-')}.yaml`);
      const r = await runCli(args);
      assert.equal(r.code, 0, `${doc}: ${line}\n${r.stderr}`);
    }
    const r = await runCli(['init', '--hardware', 'rpi4', '--site', 'x', '--id', 'gw-x', '--grid-map', join(repoRoot, 'grids', 'yangjing.geojson'), '--out', join(dir, 'm.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--grid-map .*grids\/yangjing\.geojson: no such file\n  grid maps there are: \S*firmware-configs\/grids\/yangjing-demo\.geojson\n/);
    assert.match(r.stderr, /GeoJSON FeatureCollection with one Polygon per unit grid .*gridgate grids check --map <file>/s);
    assert.ok(!existsSync(join(dir, 'm.yaml')));
  });
});

describe("the API token and the environment file; the gateway's own ports", () => {
  let taken: Mosquitto;
  let gw: GatewayProcess | undefined;
  after(async () => {
    await gw?.kill('SIGKILL');
    await taken?.stop();
  });

  test('init writes a random API token into site.env; doctor, run and status read it with --env-file; a taken broker port is named with its program', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-envfile-'));
    const file = await init(dir);
    const envFile = join(dir, 'site.env');
    assert.equal(mode(envFile), 0o600);
    const token = /^GRIDGATE_API_TOKEN=([A-Za-z0-9_-]{43})$/m.exec(readFileSync(envFile, 'utf8'))?.[1];
    assert.ok(token, readFileSync(envFile, 'utf8'));
    const again = await runCli(['provision', '--config', file]);
    assert.equal(again.code, 1, 'the token exists: provision has nothing to do without --central');
    assert.equal(/^GRIDGATE_API_TOKEN=(.*)$/m.exec(readFileSync(envFile, 'utf8'))?.[1], token, 'an existing token is kept');

    // A mosquitto on the port the gateway's broker wants, as on a Pi with the mosquitto package installed.
    taken = await startMosquitto({});
    const takenPort = taken.port;
    const apiPort = await freePort();
    const base = `GRIDGATE_CENTRAL_URL=mqtt://127.0.0.1:${await freePort()}\nGRIDGATE_CENTRAL_PASSWORD=x\nGRIDGATE_DATA_DIR=${join(dir, 'state')}\nGRIDGATE_API_PORT=${apiPort}\n`;
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}${base}GRIDGATE_BROKER_PORT=${takenPort}\n`);
    const doc = await runCli(['doctor', '--config', file, '--env-file', envFile, '--no-detector', '--timeout', '1', '--json']);
    const results = (JSON.parse(doc.stdout) as { results: Array<{ check: string; status: string; detail: string; fix?: string }> }).results;
    assert.ok(!results.some((x) => x.check === 'config' && x.status === 'fail'), 'every secret came from the environment file');
    const port = results.find((x) => x.check === 'broker port')!;
    assert.equal(port.status, 'fail');
    assert.equal(port.detail, `device broker port ${takenPort} is taken: mosquitto (pid ${taken.process.pid}) listens on it`);
    assert.match(port.fix!, /^stop it \(sudo systemctl disable --now mosquitto\) or give the gateway a free port: set broker\.port \(the board templates read GRIDGATE_BROKER_PORT\)/);
    assert.equal(results.find((x) => x.check === 'api port')?.status, 'pass');
    const run = await runCli(['run', '--config', file, '--env-file', envFile]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^gridgate: device broker port ${takenPort} is taken: mosquitto \\(pid ${taken.process.pid}\\) listens on it\n  fix: stop it .*set broker\\.port`, 'm'));
    assert.ok(!/EADDRINUSE/.test(run.stderr), run.stderr);

    // On a free port: run and status take the same file; nothing of it is in the shell's environment.
    writeFileSync(envFile, readFileSync(envFile, 'utf8').replace(`GRIDGATE_BROKER_PORT=${takenPort}`, `GRIDGATE_BROKER_PORT=${await freePort()}`));
    gw = new GatewayProcess(['run', '--config', file, '--env-file', envFile], { GRIDGATE_API_TOKEN: '' }).start();
    await gw.waitForLog('gateway started');
    const status = await runCli(['status', '--config', file, '--env-file', envFile, '--json'], { GRIDGATE_API_TOKEN: '' });
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { gatewayId: string }).gatewayId, 'gw-yangjing-minsheng-rd');
    const byUrl = await runCli(['status', '--url', `http://127.0.0.1:${apiPort}`, '--env-file', envFile, '--json'], { GRIDGATE_API_TOKEN: '' });
    assert.equal(byUrl.code, 0, byUrl.stderr);
    const live = await runCli(['doctor', '--config', file, '--env-file', envFile, '--no-detector', '--timeout', '1', '--json']);
    const held = (JSON.parse(live.stdout) as { results: Array<{ check: string; status: string; detail: string }> }).results.filter((x) => /port$/.test(x.check));
    assert.deepEqual(held.map((x) => x.status), ['pass', 'pass']);
    assert.match(held[0]!.detail, /held by gridgate run \(pid \d+\): this gateway is running/);
  });

  test('doctor --env-file without the token: the fix is to add it to that file, not to pass --env-file again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-envfile2-'));
    const file = await init(dir);
    const envFile = join(dir, 'other.env');
    writeFileSync(envFile, `GRIDGATE_CENTRAL_URL=mqtt://127.0.0.1:1\nGRIDGATE_CENTRAL_PASSWORD=x\n`);
    const r = await runCli(['doctor', '--config', file, '--env-file', envFile, '--no-detector'], { GRIDGATE_API_TOKEN: '' });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}config +.*site\.yaml:\d+: api\.token: environment variable GRIDGATE_API_TOKEN is not set\n +fix: add GRIDGATE_API_TOKEN=<value> to .*other\.env \(gridgate provision --config .* --env-file .* writes a random one\)/);
    assert.ok(!/pass the environment file with --env-file/.test(r.stdout));
    const p = await runCli(['provision', '--config', file, '--env-file', envFile]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /^API token +GRIDGATE_API_TOKEN \(random\) written to .*other\.env/m);
    assert.match(readFileSync(envFile, 'utf8'), /^GRIDGATE_CENTRAL_URL=.*\nGRIDGATE_CENTRAL_PASSWORD=x\nGRIDGATE_API_TOKEN=[A-Za-z0-9_-]{43}\n$/);
  });
});

describe('gridgate run logs', () => {
  /** Starts `gridgate run` (through `script` for a terminal), waits for "gateway started", stops it; its stderr (and the terminal's output). */
  async function firstLines(args: string[], env: NodeJS.ProcessEnv, tty = false): Promise<string> {
    const cmd = [process.execPath, CLI, ...args];
    const p = tty
      ? spawn('script', ['-qec', cmd.map((a) => `'${a}'`).join(' '), '/dev/null'], { env: { ...process.env, ...env } })
      : spawn(cmd[0]!, cmd.slice(1), { env: { ...process.env, ...env } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((res) => p.once('exit', res));
    await waitFor(() => `"gateway started" in: ${out}`, () => out.includes('gateway started'), 20_000);
    p.kill('SIGTERM');
    await exited;
    return out;
  }

  test('readable lines on a terminal (local time with its offset, level, message, fields), JSON lines otherwise; --log-format chooses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-logs-'));
    const file = await init(dir);
    const envFile = join(dir, 'site.env');
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}GRIDGATE_CENTRAL_URL=mqtt://127.0.0.1:${await freePort()}\nGRIDGATE_CENTRAL_PASSWORD=x\nGRIDGATE_DATA_DIR=${join(dir, 'state')}\n${await ownPorts()}`);
    const env = { TZ: 'Asia/Shanghai' };
    const run = ['run', '--config', file, '--env-file', envFile];

    const json = await firstLines(run, env);
    const started = json.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; gateway?: string }).find((l) => l.msg === 'gateway started');
    assert.equal(started?.gateway, 'gw-yangjing-minsheng-rd');

    const pretty = await firstLines([...run, '--log-format', 'pretty'], env);
    assert.match(pretty, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00 INFO  gateway started  gateway=gw-yangjing-minsheng-rd devices=0 ports=\{"port":\d+,"api":\d+\}$/m);
    assert.ok(!pretty.includes('{"level"') && !pretty.includes('\x1b['), pretty);

    const tty = await firstLines(run, env, true);
    assert.match(tty, /\+08:00 \x1b\[32mINFO \x1b\[0m gateway started /);
    assert.ok(!tty.includes('{"level"'), tty);
    const forced = await firstLines([...run, '--log-format', 'json'], env, true);
    assert.match(forced, /\{"level":30,"time":\d+,"svc":"gridgate","gateway":"gw-yangjing-minsheng-rd"/);
  });
});

describe('gridgate devices add, then the gateway', () => {
  let central: Mosquitto;
  let gw: GatewayProcess;
  let file: string;
  let env: Record<string, string>;
  let brokerPort: number;
  const clients: mqtt.MqttClient[] = [];
  let lightPassword = '';

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-devices-'));
    file = await init(dir);
    const gwPw = generatePassword();
    central = await startMosquitto({ users: { 'gw-yangjing-minsheng-rd': gwPw } });
    brokerPort = await freePort();
    env = {
      GRIDGATE_CENTRAL_URL: central.url,
      GRIDGATE_CENTRAL_PASSWORD: gwPw,
      GRIDGATE_API_TOKEN: generatePassword(),
      GRIDGATE_DATA_DIR: join(dir, 'state'),
      GRIDGATE_BROKER_HOST: '127.0.0.1',
      GRIDGATE_BROKER_PORT: String(brokerPort),
      GRIDGATE_API_PORT: String(await freePort()),
    };
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await gw?.kill('SIGKILL');
    await central?.stop();
  });

  const connect = (id: string, password: string) => mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { username: id, password, clientId: id, reconnectPeriod: 0, protocolVersion: 4 });

  test('a sensor is registered with a hashed password; the printed credentials work on the embedded broker, others do not', async () => {
    const before = readFileSync(file, 'utf8');
    const r = await runCli(['devices', 'add', '--config', file, '--profile', 'generic-json-hydrant', '--id', 'hydrant-7', '--location', '31.2331,121.5334', '--name', '浦东大道 消防栓 7']);
    assert.equal(r.code, 0, r.stderr);
    const password = /^ {2}password {2}(\S+)$/m.exec(r.stdout)![1]!;
    assert.match(r.stdout, /^ {2}publish {3}devices\/hydrant-7\/up {3}\(one JSON object per report, e\.g\. \{"pressure_mpa":/m);
    assert.match(r.stdout, /unit grid 31011500301205 .*from the grid map at its location/);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(password), 'the password itself is stored nowhere');
    assert.ok(text.startsWith(before.slice(0, before.indexOf('\ndevices:'))), 'everything above the devices is as it was, comments included');
    const dev = (parse(text) as { devices: Array<{ id: string; credentials: { passwordHash: string } }> }).devices[0]!;
    assert.equal(dev.id, 'hydrant-7');
    assert.ok(await verifyPassword(password, dev.credentials.passwordHash));

    const bad = await runCli(['devices', 'add', '--config', file, '--profile', 'generic-json-hydrant', '--id', 'bad id', '--location', '31.2331,121.5334']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /was not changed: with device bad id the config would not validate:\n.*site\.yaml:\d+: devices\[1\]\.id: use letters, digits/);
    assert.equal(readFileSync(file, 'utf8'), text);

    gw = new GatewayProcess(['run', '--config', file], env).start();
    await gw.waitForLog('gateway started');
    const device = await connect('hydrant-7', password);
    clients.push(device);
    await device.publishAsync('devices/hydrant-7/up', JSON.stringify({ pressure_mpa: 0.33, cap_open: false }), { qos: 1 });
    await assert.rejects(connect('hydrant-7', 'not-the-password'), /Bad username or password|Not authorized/);

    // gridgate status --once reads the running gateway through its API (address and token from the config).
    const st = await waitFor('status with the value', async () => {
      const s = await runCli(['status', '--config', file, '--once'], env);
      return s.code === 0 && /pressure=330000 Pa/.test(s.stdout) && s;
    });
    // The printed test line works as printed, with this test's address for the gateway's (the config reads it
    // from the environment): mosquitto_pub's own random client id would be refused.
    const printed = /^ {2}test: {2}(mosquitto_pub .*)$/m.exec(r.stdout)![1]!;
    assert.match(printed, / -i hydrant-7 /);
    const testLine = printed.replace(/-h (<gateway address>|\S+) -p \d+ /, `-h 127.0.0.1 -p ${brokerPort} `);
    const pub = spawnSync('sh', ['-c', testLine], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(pub.status, 0, `${testLine}\n${pub.stderr}`);
    assert.match(st.stdout, /^gw-yangjing-minsheng-rd {2}v\d+\.\d+\.\d+ {2}up .* uplink ● connected/);
    assert.match(st.stdout, /hydrant-7 online {2}\d+s ago/);
    assert.match(st.stdout, /backlog {2}\d+ message\(s\) for the central broker \(priority \d+, telemetry \d+\); \d+ in flight/);
    const noToken = await runCli(['status', '--config', file, '--once'], { ...env, GRIDGATE_API_TOKEN: '' });
    assert.match(noToken.stderr, /site\.yaml:\d+: api\.token: environment variable GRIDGATE_API_TOKEN is not set/);
    const wrongToken = await runCli(['status', '--config', file, '--once'], { ...env, GRIDGATE_API_TOKEN: 'not-the-token' });
    assert.match(wrongToken.stderr, /refused the token: is it the api\.token the gateway runs with\?/);
  });

  test('devices add --reload: the running gateway takes the new sensor without a restart', async () => {
    const r = await runCli(['devices', 'add', '--config', file, '--profile', 'generic-json-street-light', '--id', 'light-3', '--location', '31.2341,121.5325', '--reload'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /the running gateway is reloading its config/);
    await gw.waitForLog('config reloaded');
    lightPassword = /^ {2}password {2}(\S+)$/m.exec(r.stdout)![1]!;
    const light = await waitFor('the new sensor accepted', () => connect('light-3', lightPassword).catch(() => undefined));
    clients.push(light);
  });

  test('devices add outside every grid is refused as init refuses it; list; rotate-password and remove, with --reload on the running gateway', async () => {
    const reloads = () => gw.logs.filter((l) => l.msg === 'config reloaded').length;
    const outside = await runCli(['devices', 'add', '--config', file, '--profile', 'generic-json-hydrant', '--id', 'hydrant-far', '--location', '30.0,120.0'], env);
    assert.equal(outside.code, 1);
    assert.match(outside.stderr, /--location 30\.0,120\.0 is outside every grid of .*yangjing-demo\.geojson: check the location .* or give --grid-id/);
    const list = await runCli(['devices', 'list', '--config', file]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^hydrant-7 +generic-json-hydrant +31011500301205 .*\(from the grid map at its location\) +31\.2331,121\.5334 +password \(hash\) +浦东大道 消防栓 7$/m);
    assert.match(list.stdout, /^light-3 +generic-json-street-light /m);
    assert.match(list.stdout, /\n2 device\(s\) in /);

    const comments = (t: string) => t.split('\n').filter((l) => /^\s*#/.test(l));
    const before = readFileSync(file, 'utf8');
    let n = reloads();
    const rot = await runCli(['devices', 'rotate-password', '--config', file, '--id', 'light-3', '--reload'], env);
    assert.equal(rot.code, 0, rot.stderr);
    const fresh = /^ {2}password {2}(\S+)$/m.exec(rot.stdout)![1]!;
    const after = readFileSync(file, 'utf8');
    assert.ok(!after.includes(fresh), 'only the hash is written');
    assert.deepEqual(comments(after), comments(before), 'comments kept');
    const light = (parse(after) as { devices: Array<{ id: string; credentials: { passwordHash: string } }> }).devices.find((d) => d.id === 'light-3')!;
    assert.ok(await verifyPassword(fresh, light.credentials.passwordHash));
    await waitFor('the reload', () => reloads() > n);
    await assert.rejects(connect('light-3', lightPassword), /Bad username or password|Not authorized/i, 'the old password no longer works');
    clients.push(await connect('light-3', fresh));

    n = reloads();
    const rm = await runCli(['devices', 'remove', '--config', file, '--id', 'light-3', '--reload'], env);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(comments(readFileSync(file, 'utf8')), comments(before));
    await waitFor('the reload', () => reloads() > n);
    await assert.rejects(connect('light-3', fresh), /Bad username or password|Not authorized/i, 'a removed device cannot connect');
    const again = await runCli(['devices', 'remove', '--config', file, '--id', 'light-3']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /--id light-3: no such device \(there are: hydrant-7\)/);
  });
});

describe('gridgate provision and doctor against real peers', () => {
  const brokers: Mosquitto[] = [];
  after(async () => {
    await Promise.all(brokers.map((b) => b.stop()));
  });

  test('client certificate: key and request (0600), signed by the CA with openssl, installed; doctor connects with mutual TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-provision-'));
    const file = await init(dir);
    const pki = makeTestPki();
    const port = await freePort();
    const r1 = await runCli(['provision', '--config', file, '--central', `mqtts://127.0.0.1:${port}`, '--org', 'Pudong CMC', '--country', 'CN']);
    assert.equal(r1.code, 0, r1.stderr);
    const creds = join(dir, 'credentials');
    const [key, csr] = [join(creds, 'gateway.key'), join(creds, 'gateway.csr')];
    assert.deepEqual([mode(creds), mode(key), mode(csr)], [0o700, 0o600, 0o600]);
    const verified = spawnSync('openssl', ['req', '-in', csr, '-noout', '-verify', '-subject'], { encoding: 'utf8' });
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stdout + verified.stderr, /verify OK/);
    assert.match(verified.stdout, /subject=C = CN, O = Pudong CMC, OU = Yangjing Minsheng Rd, CN = gw-yangjing-minsheng-rd/);

    // The central CA signs it (openssl), the broker wants client certificates and takes the CN as the user.
    const signed = join(pki.dir, 'gateway.crt');
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', pki.ca, '-CAkey', join(pki.dir, 'ca.key'), '-CAcreateserial', '-days', '10', '-copy_extensions', 'copy', '-out', signed], { stdio: 'pipe' });
    const other = makeTestPki('stranger');
    const [again, wrongKey] = await Promise.all([
      runCli(['provision', '--config', file, '--central', `mqtts://127.0.0.1:${port}`]),
      runCli(['provision', '--config', file, '--cert', other.cert]),
    ]);
    assert.match(again.stderr, /gateway\.key exists: the gateway already has a key/);
    assert.match(wrongKey.stderr, /is not for this gateway's key/);
    const r2 = await runCli(['provision', '--config', file, '--cert', signed, '--ca', pki.ca]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(mode(join(creds, 'gateway.crt')), 0o600);
    const up = (parse(readFileSync(file, 'utf8')) as { uplink: { url: string; tls: object } }).uplink;
    assert.deepEqual(up.tls, { key: './credentials/gateway.key', cert: './credentials/gateway.crt', ca: './credentials/central-ca.pem' });
    const broker = await startMosquitto({ port, extra: [`cafile ${pki.ca}`, `certfile ${pki.cert}`, `keyfile ${pki.key}`, 'require_certificate true', 'use_identity_as_username true', 'max_inflight_messages 1000'].join('\n') });
    brokers.push(broker);
    const envFile = join(dir, 'site.env');
    writeFileSync(envFile, `GRIDGATE_CENTRAL_PASSWORD=unused\nGRIDGATE_API_TOKEN=t\nGRIDGATE_DATA_DIR=${join(dir, 'state')}\n${await ownPorts()}`);
    const doc = await runCli(['doctor', '--config', file, '--env-file', envFile, '--no-detector', '--timeout', '5']);
    assert.match(doc.stdout, /PASS {2}central broker +mqtts:\/\/127\.0\.0\.1:\d+: connected and accepted the credentials/);
    assert.match(doc.stdout, /WARN {2}certificate +uplink client certificate \(uplink\.tls\.cert\) expires on \d{4}-\d\d-\d\d \(in 9 days\)/);
    assert.match(doc.stdout, /PASS {2}disk/);
    assert.equal(doc.code, 0, doc.stdout);

    // The same gateway trusting another CA: the broker's certificate is refused, with the fix.
    writeFileSync(join(creds, 'central-ca.pem'), readFileSync(other.ca));
    const bad = await runCli(['doctor', '--config', file, '--env-file', envFile, '--no-detector', '--timeout', '5']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /FAIL {2}central broker .*\n +fix: the broker's certificate is not trusted: set uplink\.tls\.ca to the CA that signed it/);
  });

  test('password: generated into the environment file (0600), registered on the broker; doctor passes, a wrong one fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-provision-pw-'));
    const file = await init(dir);
    const port = await freePort();
    const r = await runCli(['provision', '--config', file, '--central', `mqtt://127.0.0.1:${port}`, '--password']);
    assert.equal(r.code, 0, r.stderr);
    const envFile = join(dir, 'site.env');
    assert.equal(mode(envFile), 0o600);
    const password = /^GRIDGATE_CENTRAL_PASSWORD=(\S+)$/m.exec(readFileSync(envFile, 'utf8'))![1]!;
    assert.match(r.stdout, new RegExp(`password {2}${password.replace(/[-_]/g, '\\$&')}`));
    assert.match(r.stdout, /warning: mqtt:\/\/127\.0\.0\.1:\d+ is not encrypted/);
    assert.ok(!readFileSync(file, 'utf8').includes(password));
    const broker = await startMosquitto({ port, users: { 'gw-yangjing-minsheng-rd': password } });
    brokers.push(broker);
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}GRIDGATE_DATA_DIR=${join(dir, 'state')}\n${await ownPorts()}`);
    const ok = await runCli(['doctor', '--config', file, '--env-file', envFile, '--no-detector']);
    // A stock mosquitto announces a Receive Maximum of 20: connected, but a warning with what to change.
    assert.match(ok.stdout, /WARN {2}central broker +mqtt:\/\/127\.0\.0\.1:\d+: connected and accepted the credentials .*accepts only 20 unacknowledged publishes.*\n +fix: ask for a higher Receive Maximum on the central broker \(mosquitto: max_inflight_messages 1000\)/);
    assert.equal(ok.code, 0, ok.stdout);
    const wrong = join(dir, 'wrong.env');
    writeFileSync(wrong, readFileSync(envFile, 'utf8').replace(/GRIDGATE_CENTRAL_PASSWORD=.*/, 'GRIDGATE_CENTRAL_PASSWORD=wrong'));
    const refused = await runCli(['doctor', '--config', file, '--env-file', wrong, '--no-detector', '--json']);
    assert.equal(refused.code, 1);
    const j = JSON.parse(refused.stdout) as { results: Array<{ check: string; status: string; fix?: string }>; failed: number };
    const c = j.results.find((x) => x.check === 'central broker')!;
    assert.equal(c.status, 'fail');
    assert.match(c.fix!, /refused the username or password/);
    assert.equal(j.failed, 1);
  });

  test('doctor: an unreachable camera, OPC-UA server and central broker fail with their fixes; a missing secret names the variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-doctor-'));
    const [camPort, upPort, uaPort, apiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const file = join(dir, 'gw.yaml');
    writeFileSync(
      file,
      `gateway: { id: gw-doc, gridId: "31011500301205", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ./state }
profiles: { dirs: [${join(repoRoot, 'device-profiles')}] }
broker: { enabled: false }
uplink: { url: "mqtt://127.0.0.1:${upPort}", password: "\${DOC_PW}" }
api: { port: ${apiPort} }
vision: { profileDirs: [${join(repoRoot, 'device-profiles', 'cameras')}], detector: { backend: wasm } }
cameras:
  - id: cam-kerb
    source: { kind: rtsp, url: "rtsp://127.0.0.1:${camPort}/stream" }
opcua:
  endpoints: [{ id: cabinet-3, url: "opc.tcp://127.0.0.1:${uaPort}" }]
`,
    );
    const r = await runCli(['doctor', '--config', file, '--timeout', '2'], { DOC_PW: 'x' }, 120_000);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}central broker +mqtt:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*\n +fix: nothing listens there: check the host and port in uplink\.url/);
    assert.match(r.stdout, /FAIL {2}camera +cam-kerb: 127\.0\.0\.1:\d+: ECONNREFUSED\n +fix: check that camera cam-kerb is powered and on the network/);
    assert.match(r.stdout, /FAIL {2}opc-ua +cabinet-3: 127\.0\.0\.1:\d+: ECONNREFUSED\n +fix: check that the OPC-UA server cabinet-3 runs and is reachable, and opcua\.endpoints\[0\]\.url/);
    assert.match(r.stdout, /PASS {2}ffmpeg/);
    assert.match(r.stdout, /PASS {2}detector +backend wasm, model ready in \d+\.\d s \(load \d+ ms/, 'the detector model is loaded and timed');
    assert.match(r.stdout, /WARN {2}console +no admin password/);
    assert.match(r.stdout, /\d+ passed, \d+ warning\(s\), 3 failed/);
    const unset = await runCli(['doctor', '--config', file], { DOC_PW: '' });
    assert.equal(unset.code, 1);
    assert.match(unset.stdout, /FAIL {2}config +.*gw\.yaml:4: uplink\.password: environment variable DOC_PW is not set\n +fix: set it in the gateway environment, or pass the environment file with --env-file/);
  });
});
