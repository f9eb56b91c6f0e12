import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { runCli } from './helpers/gateway-process.js';
import { repoRoot } from './helpers/shared.js';

// The deployment files checked with real linters (there is no Docker engine on these machines, so no image is
// built here; docs/deployment.md says what was and was not tried): dockerfile-utils for the Dockerfiles, dclint
// (compose-spec schema plus its rules) for the compose files, yamllint, shellcheck, and systemd's own unit
// verifier. Each check also runs once on a broken copy, to show it can fail. The config templates are
// validated by the real `gridgate config validate`.

const at = (...p: string[]) => join(repoRoot, ...p);
const bin = (name: string) => at('node_modules', '.bin', name);

/** Runs a linter that must be installed (Debian packages in .ci/apt-packages, npm ones in devDependencies). */
function tool(cmd: string, args: string[], debianPackage?: string) {
  const r = spawnSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail(`${cmd} is not installed${debianPackage ? `: apt-get install ${debianPackage} (listed in .ci/apt-packages)` : ''}`);
  }
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const DOCKERFILES = ['docker/Dockerfile', 'docker/Dockerfile.jetson'];
const COMPOSE_FILES = ['docker/compose.yaml', 'docker-compose.yml'];
const TEMPLATES = ['rpi4', 'rpi5', 'jetson-orin-nano'];

test('Dockerfiles pass dockerfile-utils with no error or warning', () => {
  for (const f of DOCKERFILES) {
    const problems = lintDockerfile(readFileSync(at(f), 'utf8'));
    assert.deepEqual(problems.map((p) => `${f}:${p.range.start.line + 1}: ${p.message}`), []);
  }
  const broken = readFileSync(at('docker/Dockerfile'), 'utf8').replace('--interval=30s', '--interval=30');
  assert.match(lintDockerfile(broken).map((p) => p.message).join('\n'), /missing unit in duration/);
});

test('every file the Dockerfiles copy from the build context exists', () => {
  for (const f of DOCKERFILES) {
    for (const m of readFileSync(at(f), 'utf8').matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/).filter((s) => s !== '.')) assert.ok(existsSync(at(src)), `${f}: COPY ${src}: no such file`);
    }
  }
});

test('compose files pass dclint (compose-spec schema and rules) with no error or warning', () => {
  const lint = (files: string[]) => {
    const r = tool(bin('dclint'), ['--formatter', 'json', ...files]);
    const json = r.out.slice(r.out.indexOf('['));
    return JSON.parse(json) as Array<{ filePath: string; messages: Array<{ line: number; message: string; rule: string }> }>;
  };
  const results = lint(COMPOSE_FILES.map((f) => at(f)));
  assert.equal(results.length, COMPOSE_FILES.length);
  assert.deepEqual(results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line}: ${m.message} (${m.rule})`)), []);

  const dir = mkdtempSync(join(tmpdir(), 'gg-lint-'));
  writeFileSync(join(dir, 'compose.yaml'), readFileSync(at('docker/compose.yaml'), 'utf8').replace('read_only: true', 'read_only: true\n    readonly: true'));
  assert.deepEqual(lint([join(dir, 'compose.yaml')])[0]!.messages.map((m) => m.rule), ['invalid-schema']);
});

test('the files the lab composition mounts are in the repository', () => {
  const text = readFileSync(at('docker/compose.yaml'), 'utf8');
  const mounts = [...text.matchAll(/^\s+- (\.\/lab\/[^:]+):/gm)].map((m) => m[1]!);
  assert.ok(mounts.length >= 4, `found ${mounts.join(', ')}`);
  for (const m of mounts.filter((m) => m !== './lab/media')) assert.ok(existsSync(at('docker', m)), `docker/compose.yaml mounts ${m}: no such file`);
});

test('YAML deployment files pass yamllint', () => {
  const files = [...COMPOSE_FILES, 'balena.yml', '.yamllint.yaml', 'docker/lab/gateway.yaml', ...TEMPLATES.map((t) => `firmware-configs/${t}.yaml`)];
  const r = tool('yamllint', ['--strict', '--format', 'parsable', ...files], 'yamllint');
  assert.equal(r.code, 0, r.out);
  const dir = mkdtempSync(join(tmpdir(), 'gg-lint-'));
  writeFileSync(join(dir, 'bad.yaml'), 'a: 1\na: 2\n');
  const bad = spawnSync('yamllint', ['--config-file', at('.yamllint.yaml'), '--format', 'parsable', join(dir, 'bad.yaml')], { encoding: 'utf8' });
  assert.match(bad.stdout, /duplication of key "a"/);
});

test('shell scripts pass shellcheck', () => {
  const r = tool('shellcheck', ['docker/entrypoint.sh', 'deploy/install.sh', 'scripts/test-node24.sh', 'scripts/arm64-smoke.sh', '.ci/run'], 'shellcheck');
  assert.equal(r.code, 0, r.out);
  const dir = mkdtempSync(join(tmpdir(), 'gg-lint-'));
  writeFileSync(join(dir, 'bad.sh'), '#!/bin/sh\nrm -rf $1/data\n');
  assert.match(tool('shellcheck', [join(dir, 'bad.sh')]).out, /SC2086/);
});

test('the images and the installer ship Node 24 LTS, the code keeps running on 20, CI tests on both', () => {
  // Node 20 is past its end of life (April 2026); 24 is maintained until April 2028.
  for (const f of DOCKERFILES) assert.match(readFileSync(at(f), 'utf8'), /^ARG NODE_VERSION=24$/m, `${f} builds on Node 24`);
  const deployment = readFileSync(at('docs/deployment.md'), 'utf8');
  assert.match(deployment, /deb\.nodesource\.com\/setup_24\.x/, 'docs/deployment.md installs Node 24');
  assert.doesNotMatch(deployment, /setup_(1\d|2[0-3])\.x/, 'no older Node in the instructions');
  assert.match(readFileSync(at('deploy/install.sh'), 'utf8'), /Node\.js 24 \(20 at the least\) is required/);
  const engines = (JSON.parse(readFileSync(at('package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  assert.equal(engines, '>=20.10', 'the gateway still runs on the Node 20 machines in the field');
  const ci = readFileSync(at('.ci/run'), 'utf8');
  assert.ok(ci.indexOf('scripts/test-node24.sh') > ci.indexOf('npm test'), '.ci/run runs the suite on Node 24 after Node 20');
});

test('the systemd unit passes systemd-analyze verify', () => {
  // verify also checks that ExecStart's program exists: point it at this machine's node when /usr/bin/node is absent.
  const dir = mkdtempSync(join(tmpdir(), 'gg-unit-'));
  const unit = readFileSync(at('deploy/systemd/gridgate.service'), 'utf8');
  const local = existsSync('/usr/bin/node') ? unit : unit.replaceAll('/usr/bin/node', process.execPath);
  writeFileSync(join(dir, 'gridgate.service'), local);
  const r = tool('systemd-analyze', ['verify', join(dir, 'gridgate.service')], 'systemd');
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out.trim(), '', 'systemd-analyze printed warnings');
  writeFileSync(join(dir, 'gridgate.service'), local.replace('Restart=always', 'Restart=forever'));
  assert.match(tool('systemd-analyze', ['verify', join(dir, 'gridgate.service')]).out, /Failed to parse service restart specifier/);
});

const SITE_ENV = {
  GRIDGATE_GATEWAY_ID: 'gw-tpl-01',
  GRIDGATE_GRID_ID: '31011500301201',
  GRIDGATE_LAT: '31.2336',
  GRIDGATE_LON: '121.5329',
  GRIDGATE_CENTRAL_URL: 'mqtts://central.example.org:8883',
  GRIDGATE_CENTRAL_PASSWORD: 'not-a-real-password',
  GRIDGATE_API_TOKEN: 'not-a-real-token',
};
const REQUIRED = Object.keys(SITE_ENV);
const unset = Object.fromEntries(REQUIRED.map((k) => [k, '']));

for (const t of TEMPLATES) {
  test(`firmware-configs/${t}.yaml validates with its variables, and names each one missing`, async () => {
    const file = at('firmware-configs', `${t}.yaml`);
    const ok = await runCli(['config', 'validate', file], SITE_ENV);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /OK \(gateway gw-tpl-01, 0 device\(s\)/);

    const missing = await runCli(['config', 'validate', file], unset);
    assert.equal(missing.code, 2);
    for (const k of REQUIRED) assert.match(missing.stderr, new RegExp(`environment variable ${k} is not set`));
  });
}

test('docker/lab/gateway.yaml (the lab composition) validates', async () => {
  const r = await runCli(['config', 'validate', at('docker/lab/gateway.yaml')], {
    GRIDGATE_DEVICE_KEY_SECRET: 'lab-secret-0123456789',
    GRIDGATE_CENTRAL_PASSWORD: 'x',
    GRIDGATE_API_TOKEN: 'y',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /3 device\(s\)/);
});
