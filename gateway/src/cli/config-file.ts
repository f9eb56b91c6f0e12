import type { LoadedConfig } from '../config/load.js';
import { checkConfigText, ConfigRefused, writeConfigSafely } from '../config/safe-write.js';

/** The config as it is now, validated as `devices add` and `provision` will validate their edit (secrets may be unset here). */
export function currentConfig(file: string, text: string): LoadedConfig {
  const r = checkConfigText(file, text, { placeholders: true });
  if (!r.loaded) {
    throw new Error(`${file} does not validate now; fix it first (gridgate config validate ${file}):\n${r.problems.map((p) => `${p.file}:${p.line}: ${p.path || '(root)'}: ${p.message}`).join('\n')}`);
  }
  return r.loaded;
}

/** Writes an edited config only if it validates; the error lists the problems and says the file is unchanged. */
export function saveEdit(file: string, text: string): void {
  try {
    writeConfigSafely(file, text, { placeholders: true });
  } catch (e) {
    if (e instanceof ConfigRefused) throw new Error(e.message);
    throw e;
  }
}
