// The layers of gateway/src (gateway/scripts/layers.ts, in the order README.md's Layout section gives): imports
// run downward only and no files import each other in a cycle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, formatReport } from '../scripts/layers.js';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

test('gateway/src imports run from higher layers to lower ones only, and no files form a cycle', () => {
  const r = analyze(src);
  const report = formatReport(r);
  assert.deepEqual(r.unplaced, [], `every file belongs to a layer:\n${report}`);
  assert.deepEqual(r.cycles, [], `file cycles:\n${report}`);
  assert.deepEqual(r.upward, [], `imports into a higher layer:\n${report}`);
});
