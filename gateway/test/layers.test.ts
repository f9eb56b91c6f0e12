// The layers of gateway/src (gateway/scripts/layers.ts, in the order README.md's Layout section gives): imports
// run downward only and no files import each other in a cycle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAKES_LOADER, analyze, fakeImports, formatReport } from '../scripts/layers.js';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

test('gateway/src imports run from higher layers to lower ones only, and no files form a cycle', () => {
  const r = analyze(src);
  const report = formatReport(r);
  assert.deepEqual(r.unplaced, [], `every file belongs to a layer:\n${report}`);
  assert.deepEqual(r.cycles, [], `file cycles:\n${report}`);
  assert.deepEqual(r.upward, [], `imports into a higher layer:\n${report}`);
});

test(`gateway/src reaches the fakes only through ${FAKES_LOADER}, lazily: the production bundle carries none`, () => {
  assert.deepEqual(fakeImports(src), []);
});

test('the fakes check catches a static import anywhere and a runtime import outside the loader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gg-layers-'));
  try {
    const s = join(dir, 'src');
    mkdirSync(join(s, 'cli'), { recursive: true });
    mkdirSync(join(s, 'runtime'), { recursive: true });
    writeFileSync(join(s, FAKES_LOADER), "import type { A } from '../../fakes/a.js';\nimport { B } from '../../fakes/b.js';\nexport const load = () => import('../../fakes/c.js');\n");
    writeFileSync(join(s, 'runtime', 'host.ts'), "// import { A } from '../../fakes/a.js';\nimport { C } from '../../fakes/c.js';\nexport const d = () => import('../../fakes/d.js');\nexport type E = typeof import('../../fakes/e.js');\nimport { F } from '../util/f.js';\n");
    assert.deepEqual(fakeImports(s).sort(), [
      `${FAKES_LOADER}: import from ../../fakes/b.js is static (the fakes load by import(), or as types only)`,
      `runtime/host.ts: import from ../../fakes/c.js (only ${FAKES_LOADER} may refer to the fakes)`,
      `runtime/host.ts: import(../../fakes/d.js) (only ${FAKES_LOADER} may refer to the fakes)`,
      `runtime/host.ts: typeof import(../../fakes/e.js) (only ${FAKES_LOADER} may refer to the fakes)`,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
