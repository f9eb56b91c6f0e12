#!/usr/bin/env node
// `npm install` / `npm ci` run this as the root `prepare` script. In a development checkout it compiles
// (tsc -b). In a production install (`npm ci --omit=dev`, as docker/bundle.mjs runs it) TypeScript is not
// installed: the compiled dist/ was copied in beside the sources, so there is nothing to build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let tsc;
try {
  tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  tsc = undefined;
}
if (tsc) {
  const r = spawnSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const cli = join(root, 'gateway', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(cli)) {
  console.error(`prepare: TypeScript is not installed and ${cli} is missing: install with dev dependencies (npm ci) to build, or copy a built dist/ first`);
  process.exit(1);
}
console.log('prepare: production install (no TypeScript): using the compiled dist/');
