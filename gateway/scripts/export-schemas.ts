// Writes firmware-configs/gateway.schema.json + CONFIG.md and device-profiles/profile.schema.json from the zod
// schemas (the one source of truth). `--check` exits non-zero where a file on disk is stale.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchema, configReference, profileJsonSchema } from '../src/config/export.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const config = configJsonSchema();
const profile = profileJsonSchema();
const files: Record<string, string> = {
  'firmware-configs/gateway.schema.json': JSON.stringify(config, null, 2) + '\n',
  'firmware-configs/CONFIG.md': configReference(
    config,
    'Gateway config reference',
    'Generated from `gateway/src/config/schema.ts` by `npm run export`; do not edit. One YAML file per gateway; `${ENV_VAR}` (or `${ENV_VAR:-default}`) anywhere in a string value is replaced from the environment: put secrets there, never in the file. Relative paths are relative to the config file. Check a file with `gridgate config validate FILE`.',
  ),
  'device-profiles/profile.schema.json': JSON.stringify(profile, null, 2) + '\n',
  'device-profiles/PROFILES.md': configReference(
    profile,
    'Device profile reference',
    'Generated from `gateway/src/profiles/schema.ts` by `npm run export`; do not edit. One YAML file per device model: how to decode it, its canonical metrics (SenML units) and its alarm rules.',
  ),
};
const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, text] of Object.entries(files)) {
  const path = join(root, rel);
  if (!check) writeFileSync(path, text);
  else if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
    console.error(`stale: ${rel} (run npm run export)`);
    stale++;
  }
}
process.exit(stale ? 1 : 0);
