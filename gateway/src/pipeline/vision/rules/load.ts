import { loadYamlFolder } from '../../../util/yaml-source.js';
import { CameraProfile } from './profile.js';

/** Reads every camera profile (`*.yaml`) in the folders; all problems are reported together as file:line. */
export function loadCameraProfiles(dirs: string[]): Map<string, CameraProfile> {
  const loaded = loadYamlFolder(dirs, CameraProfile, 'camera profile', (p) => p.id);
  return new Map([...loaded].map(([id, { value }]) => [id, value]));
}
