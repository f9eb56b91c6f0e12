import { loadYamlFolder } from '../util/yaml-source.js';
import { DeviceProfile } from './schema.js';

export interface LoadedProfile {
  profile: DeviceProfile;
  file: string;
}

/** Reads every `*.yaml` device profile in the folders (not recursing). All problems are reported together. */
export function loadProfiles(dirs: string[]): Map<string, LoadedProfile> {
  const loaded = loadYamlFolder(dirs, DeviceProfile, 'profile', (p) => p.id);
  return new Map([...loaded].map(([id, { value, file }]) => [id, { profile: value, file }]));
}
