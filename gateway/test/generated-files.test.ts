import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './helpers/shared.js';

// One source of truth: the JSON Schemas, the AsyncAPI document and the config reference are generated
// from the zod schemas. A schema change that was not exported fails here, naming the stale file.

test('contract/schemas and contract/asyncapi.yaml match the contract module', () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'contract/dist/scripts/export.js'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('firmware-configs/gateway.schema.json, CONFIG.md and the profile schema match the zod schemas', () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'gateway/dist/scripts/export-schemas.js'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
