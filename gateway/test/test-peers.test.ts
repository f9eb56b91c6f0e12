import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './helpers/shared.js';
import { tempDir } from './helpers/temp.js';

// `npm test` on a fresh machine: scripts/test-peers.mjs installs the Debian test peers when it can, and
// otherwise stops at once with the exact command, instead of a wall of failing tests.
const script = join(repoRoot, 'scripts', 'test-peers.mjs');
const onDebian = spawnSync('sh', ['-c', 'command -v dpkg-query && command -v setpriv'], { stdio: 'ignore' }).status === 0;

function peersFile(lines: string[]): string {
  const dir = tempDir('gg-peers-');
  chmodSync(dir, 0o755);
  const f = join(dir, 'apt-packages');
  writeFileSync(f, `# test list\n${lines.join('\n')}\n`);
  chmodSync(f, 0o644);
  return f;
}

/** The script as an unprivileged user (no root, no sudo): it may only check and say what to run. */
function runAsNobody(list: string) {
  return spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'env', `GRIDGATE_PEERS_FILE=${list}`, process.execPath, script], { encoding: 'utf8', timeout: 30_000 });
}

test('a missing test peer without root or sudo: stops at once and prints the exact apt-get command', { skip: !onDebian && 'needs dpkg-query and setpriv (Debian/Ubuntu)' }, () => {
  const r = runAsNobody(peersFile(['dpkg', 'gridgate-no-such-package']));
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /the test peers gridgate-no-such-package are not installed\. Run:\n\n {2}sudo apt-get update && sudo apt-get install -y --no-install-recommends gridgate-no-such-package\n/);
  assert.doesNotMatch(r.stderr, /dpkg[ ,]/, 'an installed package is not named');
});

test('every listed peer installed: the check passes quietly', { skip: !onDebian && 'needs dpkg-query and setpriv (Debian/Ubuntu)' }, () => {
  const r = runAsNobody(peersFile(['dpkg', 'coreutils']));
  // The test media is shared with the rest of the suite: present wherever the suite runs.
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
