#!/usr/bin/env node
// The programs the test suite starts on loopback (mosquitto, ffmpeg, chromium, GStreamer, victoria-metrics…),
// listed once in .ci/apt-packages, and the test media (.ci/fetch-test-media.sh). `npm test` runs this first so
// that a fresh Debian/Ubuntu machine needs nothing but the README's two commands: missing peers are installed
// when we are root or have password-less sudo; otherwise it stops at once with the exact command to run,
// instead of a wall of failing tests.
//   node scripts/test-peers.mjs            check, install what is missing when it can
//   node scripts/test-peers.mjs --check    check only: exit 1 with the command when something is missing
// GRIDGATE_PEERS_FILE names another package list (tests); GRIDGATE_SKIP_PEER_CHECK=1 skips it all (a machine
// that has the programs some other way).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const listFile = process.env.GRIDGATE_PEERS_FILE || join(root, '.ci', 'apt-packages');
const mediaScript = join(root, '.ci', 'fetch-test-media.sh');
const media = join(root, 'test-artifacts', 'media', 'vtest.avi');

const say = (s) => console.error(`npm test: ${s}`);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const run = (cmd, args, env = {}) => spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } }).status === 0;

function packageList(file = listFile) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

function missingPackages(pkgs) {
  return pkgs.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return r.status !== 0 || r.stdout.trim() !== 'install ok installed';
  });
}

const mediaMissing = () => !(existsSync(media) && statSync(media).size > 0);

function main() {
  if (process.env.GRIDGATE_SKIP_PEER_CHECK === '1') return 0;
  const checkOnly = process.argv.includes('--check');
  const pkgs = packageList();
  if (!has('dpkg-query')) {
    say(`this is not a Debian/Ubuntu machine, so the test peers cannot be checked or installed here.`);
    say(`install the equivalents of: ${pkgs.join(' ')}`);
    say(`and the test media (${mediaScript}), then run again with GRIDGATE_SKIP_PEER_CHECK=1`);
    return 1;
  }
  const missing = missingPackages(pkgs);
  const needMedia = mediaMissing();
  if (!missing.length && !needMedia) return 0;

  const root_ = process.getuid?.() === 0; // root: install without sudo
  const sudo = !root_ && has('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  const prefix = root_ ? '' : 'sudo ';
  const install = `${prefix}apt-get update && ${prefix}apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (checkOnly || (!root_ && !sudo) || !has('apt-get')) {
    if (missing.length) say(`the test peers ${missing.join(', ')} are not installed. Run:\n\n  ${install}\n`);
    if (needMedia) say(`the test media is missing. Run:\n\n  ${mediaScript}\n`);
    if (!checkOnly) say('then `npm test` again (or run it as root, or with password-less sudo, and it installs them itself)');
    return 1;
  }
  if (missing.length) {
    say(`installing the Debian test peers the suite needs: ${missing.join(' ')}`);
    // sudo drops the environment: DEBIAN_FRONTEND goes through env(1) so apt never stops to ask.
    const apt = (args) => (root_ ? run('apt-get', args, { DEBIAN_FRONTEND: 'noninteractive' }) : run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args]));
    if (!apt(['update', '-q']) || !apt(['install', '-y', '-q', '--no-install-recommends', ...missing])) {
      say(`installing failed; run it by hand and look at apt's message:\n\n  ${install}\n`);
      return 1;
    }
  }
  if (mediaMissing() && !run('bash', [mediaScript])) {
    say(`fetching the test media failed: run ${mediaScript} by hand and look at its message`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exit(main());
