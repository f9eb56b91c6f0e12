import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// This file runs from gateway/dist/src/cli/: the repository root is four levels up.
const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../../..');
export const defaultProfilesDir = resolve(repoRoot, 'device-profiles');
export const firmwareConfigsDir = resolve(repoRoot, 'firmware-configs');

export function gatewayVersion(): string {
  return (JSON.parse(readFileSync(resolve(here, '../../../package.json'), 'utf8')) as { version: string }).version;
}
