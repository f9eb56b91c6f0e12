#!/usr/bin/env node
// Lays out the production bundle of the gateway in OUT and installs its production dependencies there:
//   node docker/bundle.mjs OUT
// Run it in a built checkout (`npm ci` has compiled dist/). The Dockerfiles, the bare-metal installer and the
// bundle smoke test (gateway/test/deploy-bundle.test.ts) all use this one script, so what the test starts is
// what the images ship. The bundle keeps the repository layout, so the compiled CLI finds device-profiles/
// and firmware-configs/ where it expects them: OUT/gateway/dist/src/cli/main.js is `gridgate`.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ? resolve(process.argv[2]) : undefined;
if (!out) {
  console.error('usage: node docker/bundle.mjs OUT');
  process.exit(64);
}
if (out === root || out.startsWith(root + sep)) {
  console.error(`bundle: OUT must be outside the checkout (${root}), not ${out}`);
  process.exit(64);
}
if (!existsSync(join(root, 'gateway', 'dist', 'src', 'cli', 'main.js'))) {
  console.error('bundle: gateway/dist is missing: run `npm ci` (it compiles) before bundling');
  process.exit(1);
}

// Per workspace: its package.json and whatever it ships besides sources (dist/src, generated schemas,
// static assets a later module adds). Sources, tests, benchmarks and build scripts stay behind.
const SKIP_IN_WORKSPACE = new Set(['src', 'fakes', 'test', 'bench', 'scripts', 'node_modules', 'tsconfig.json']);
// The fakes (gateway/fakes, compiled to dist/fakes: simulated devices, the demo's central side, the virtual
// camera) are development and lab tools, and none ships: `gridgate demo`, `simulate`, `opcua simulate` and
// `virtual-camera` say so in a bundle (gateway/src/cli/dev-fakes.ts). The checks that run the demo from the
// bundle lay dist/fakes over a copy of it as test fixtures; the Dockerfile's lab targets add them back.
const SKIP_IN_DIST = new Set(['test', 'bench', 'scripts', 'fakes', '.tsbuildinfo']);
const keep = (ws) => (src) => {
  const rel = relative(join(root, ws), src).split(sep);
  if (rel[0] === '') return true;
  if (rel.at(-1).endsWith('.tsbuildinfo')) return false;
  if (rel.length === 1) return !SKIP_IN_WORKSPACE.has(rel[0]) && !rel[0].endsWith('.tsbuildinfo');
  if (rel[0] === 'dist' && rel.length === 2) return !SKIP_IN_DIST.has(rel[1]);
  return true;
};

// OUT is replaced whole: only an empty folder or an earlier bundle may be there.
if (existsSync(out) && readdirSync(out).length && !existsSync(join(out, 'gateway', 'dist', 'src', 'cli', 'main.js'))) {
  console.error(`bundle: ${out} exists and is not a GridGate bundle: refusing to replace it`);
  process.exit(64);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const f of ['package.json', 'package-lock.json', 'LICENSE', 'README.md']) {
  if (existsSync(join(root, f))) cpSync(join(root, f), join(out, f));
}
const { workspaces = [] } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const ws of workspaces) cpSync(join(root, ws), join(out, ws), { recursive: true, filter: keep(ws) });
for (const dir of ['device-profiles', 'firmware-configs']) cpSync(join(root, dir), join(out, dir), { recursive: true });
// The root `prepare` script, and what starts the gateway: the container entry point and health check, the
// systemd unit and its installer.
for (const f of ['scripts/prepare.mjs', 'docker/entrypoint.sh', 'docker/healthcheck.mjs', 'deploy/install.sh', 'deploy/systemd/gridgate.service']) {
  mkdirSync(dirname(join(out, f)), { recursive: true });
  cpSync(join(root, f), join(out, f));
}

// Production dependencies only, exactly as locked. The root `prepare` (scripts/prepare.mjs) sees no
// TypeScript and keeps the copied dist/; dependency install scripts (better-sqlite3's native module,
// optional backends) run as usual. --prefer-offline: the builder's `npm ci` has just filled the cache.
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const r = spawnSync(npm, ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: out, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`bundle: npm ci --omit=dev failed in ${out} (exit ${r.status ?? r.signal})`);
  process.exit(1);
}

// Build inputs the running gateway never reads (better-sqlite3 ships SQLite's 9 MB of C sources).
for (const p of ['better-sqlite3/deps', 'better-sqlite3/src', 'better-sqlite3/build/Release/obj', 'better-sqlite3/build/Release/obj.target', 'better-sqlite3/build/Release/.deps', 'better-sqlite3/build/deps']) {
  rmSync(join(out, 'node_modules', p), { recursive: true, force: true });
}

const size = (p) => {
  const s = statSync(p);
  return s.isDirectory() ? readdirSync(p).reduce((n, e) => n + size(join(p, e)), 0) : s.size;
};
console.log(`bundle: ${out} (${(size(out) / 1048576).toFixed(1)} MiB)`);
