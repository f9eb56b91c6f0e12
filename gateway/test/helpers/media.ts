import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './shared.js';

/** Test media fetched by .ci/fetch-test-media.sh (Debian packages, unpacked into test-artifacts/media). */
export function testMedia(name: string): string {
  const p = join(repoRoot, 'test-artifacts', 'media', name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run .ci/fetch-test-media.sh (apt-get download opencv-doc + dpkg -x)`);
  return p;
}
