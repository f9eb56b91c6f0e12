import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is compiled to gateway/dist/test/helpers/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const sharedRoot = resolve(repoRoot, '..', 'shared');

/**
 * Path of a file under ../shared, or a skip reason when it is absent.
 * With GRIDGATE_REQUIRE_SHARED=1 (CI) an absent file is a failure, never a silent skip.
 */
export function sharedFile(rel: string): { path: string; skip?: undefined } | { path?: undefined; skip: string } {
  const path = join(sharedRoot, rel);
  if (existsSync(path)) return { path };
  const msg = `../shared/${rel} is absent (looked in ${sharedRoot})`;
  if (process.env.GRIDGATE_REQUIRE_SHARED === '1') throw new Error(`${msg}; GRIDGATE_REQUIRE_SHARED=1 makes this a failure`);
  return { skip: `${msg}: skipped` };
}
