import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDataDir } from '../src/store/data-dir.js';
import { GatewayProcess, runCli } from './helpers/gateway-process.js';
import { freePort } from './helpers/net.js';
import { repoRoot } from './helpers/shared.js';
import { removeTempDirs, tempDir } from './helpers/temp.js';

// The real `gridgate run` started on a data dir it cannot use: it must stop at once and say which folder and
// why, not SQLite's "unable to open database file" or node's "EEXIST: file already exists, mkdir".

after(removeTempDirs);

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function runOn(dataDir: string) {
  const dir = tempDir('gg-datadir-cfg-');
  const cfg = join(dir, 'gw.yaml');
  writeFileSync(
    cfg,
    `gateway: { id: gw-dd, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ${JSON.stringify(dataDir)} }
profiles: { dirs: [${JSON.stringify(join(repoRoot, 'device-profiles'))}] }
broker: { host: 127.0.0.1, port: ${await freePort()}, deviceKeySecret: "data-dir-test-secret-0123456789" }
uplink: { url: "mqtt://127.0.0.1:${await freePort()}" }
api: { enabled: false }
`,
  );
  const r = await runCli(['run', '--config', cfg], {}, 30_000);
  assert.equal(r.code, 1, `gridgate run should refuse to start:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return r.stderr;
}

test('a data dir that is a file: the message names it and says it is a file', async () => {
  const file = join(tempDir('gg-datadir-'), 'state');
  writeFileSync(file, 'not a folder');
  const stderr = await runOn(file);
  assert.match(stderr, new RegExp(`^gridgate: data dir ${esc(file)} exists and is a file, not a folder; the gateway keeps its outbox`, 'm'));

  const below = join(file, 'sub', 'state');
  assert.match(await runOn(below), new RegExp(`^gridgate: data dir ${esc(below)} cannot be made: ${esc(file)} is a file, not a folder;`, 'm'));
});

test('a read-only data dir: the message names it and the cause', async (t) => {
  const dir = tempDir('gg-datadir-ro-');
  let cleanup = () => {};
  if (process.getuid?.() === 0) {
    // root writes through any file mode: only a read-only mount stops it
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k,mode=0755', 'tmpfs', dir], { encoding: 'utf8' });
    if (m.status !== 0) {
      t.skip(`running as root and cannot mount a read-only tmpfs here (${(m.stderr || m.error?.message || '').trim()}): nothing is read-only to root`);
      return;
    }
    cleanup = () => void spawnSync('umount', [dir]);
  } else {
    chmodSync(dir, 0o500);
    cleanup = () => chmodSync(dir, 0o700);
  }
  try {
    const stderr = await runOn(dir);
    assert.match(stderr, new RegExp(`^gridgate: data dir ${esc(dir)} is not writable \\((EROFS: read-only file system|EACCES: permission denied)\\); the gateway keeps`, 'm'));
    assert.doesNotMatch(stderr, /unable to open database file/);
  } finally {
    cleanup();
  }
});

test('a missing data dir is made (mode 0750 less the umask)', () => {
  const dir = join(tempDir('gg-datadir-new-'), 'a', 'b');
  ensureDataDir(dir);
  assert.ok(statSync(dir).isDirectory());
  assert.equal(statSync(dir).mode & 0o777, 0o750 & ~process.umask());
});

test('a reload onto a data dir it cannot use goes back to the previous config: the gateway keeps running', async () => {
  const dir = tempDir('gg-datadir-reload-');
  const cfg = join(dir, 'gw.yaml');
  const apiPort = await freePort();
  const uplinkPort = await freePort(); // no central broker: the uplink keeps retrying, which does not matter here
  const text = (dataDir: string) => `gateway: { id: gw-dd, gridId: "31011500301201", location: { lat: 31.2336, lon: 121.5329 }, dataDir: ${JSON.stringify(dataDir)} }
profiles: { dirs: [${JSON.stringify(join(repoRoot, 'device-profiles'))}] }
broker: { enabled: false }
uplink: { url: "mqtt://127.0.0.1:${uplinkPort}" }
api: { host: 127.0.0.1, port: ${apiPort}, token: "data-dir-test-token-0123456789" }
`;
  writeFileSync(cfg, text(join(dir, 'state')));
  const gw = new GatewayProcess(['run', '--config', cfg]).start();
  try {
    await gw.waitForLog('gateway started');
    const notAFolder = join(dir, 'not-a-folder');
    writeFileSync(notAFolder, 'x');
    writeFileSync(cfg, text(notAFolder)); // valid YAML and schema: only starting on it fails
    gw.proc.kill('SIGHUP');
    const back = await gw.waitForLog('back on the previous config');
    assert.ok(back);
    const failed = gw.logs.find((l) => l.msg === 'the new config did not start; going back to the previous one');
    assert.match(String((failed as { problems?: string })?.problems), new RegExp(`data dir ${esc(notAFolder)} exists and is a file`));
    const health = await fetch(`http://127.0.0.1:${apiPort}/healthz`);
    assert.equal(health.status, 200, 'the API answers again: a gateway runs on the previous config');
    assert.ok(gw.running);
  } finally {
    await gw.kill('SIGKILL');
  }
});
