import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './helpers/shared.js';

// `npx gridgate …` and `npx gridgate-bridge …` from the checkout. npm links a workspace's bin while it
// installs, before `prepare` compiles dist/: a bin inside dist/ is then skipped ("could not determine
// executable to run"). The bins are committed shims that load the compiled CLI.

const BINS = [
  { ws: 'gateway', name: 'gridgate' },
  { ws: 'cloud-bridge', name: 'gridgate-bridge' },
] as const;

test('each workspace bin is a committed, executable file outside dist/', () => {
  const tracked = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' }).split('\n');
  for (const { ws, name } of BINS) {
    const bin = (JSON.parse(readFileSync(join(repoRoot, ws, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin[name]!;
    const rel = join(ws, bin).replace(/\\/g, '/');
    assert.ok(!rel.includes('/dist/'), `${name} -> ${rel}: dist/ does not exist yet when npm links bins`);
    assert.ok(tracked.includes(rel), `${rel} is committed`);
    assert.ok(statSync(join(repoRoot, rel)).mode & 0o111, `${rel} is executable`);
  }
});

test('npx gridgate and npx gridgate-bridge run from the checkout', () => {
  for (const { name } of BINS) {
    const r = spawnSync('npm', ['exec', '--offline', '--no', '--', name, '--version'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `npx ${name}: ${r.stderr}`);
    assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
  }
});

test('a shim without a build says what to run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gg-bin-'));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(repoRoot, 'gateway', 'bin', 'gridgate.js'), join(dir, 'bin', 'gridgate.js'));
  assert.ok(!existsSync(join(dir, 'dist')));
  const r = spawnSync(process.execPath, [join(dir, 'bin', 'gridgate.js'), '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /gridgate: the CLI is not built \(.*dist\/src\/cli\/main\.js is missing\): run `npm run build`/);
});
