import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { GridId, Location, TopicSafeId } from '@gridgate/contract';
import { ZoneConfig } from '../../southbound/cameras/zones.js';
import { openYaml, SourceError } from '../../util/yaml-source.js';
import type { VisionCamera } from './camera.js';
import { VisionConfig } from './config.js';
import { loadCameraProfiles } from './rules/load.js';

/**
 * A camera and its zones as a file, for running detection offline (`gridgate detect --video`): the same
 * fields the gateway config gives a camera, without the stream.
 */
export const VisionScene = z
  .object({
    camera: z
      .object({
        id: TopicSafeId,
        gridId: GridId,
        location: Location,
        profile: z.string().optional().describe('Camera profile id; default vision.defaultProfile'),
        timezone: z.string().default('Asia/Shanghai'),
      })
      .strict(),
    zones: z.array(ZoneConfig).min(1),
    vision: VisionConfig.optional(),
  })
  .strict();
export type VisionScene = z.infer<typeof VisionScene>;

export interface LoadedScene {
  camera: VisionCamera;
  vision: VisionConfig;
}

/** Reads a scene file; camera profiles come from its vision.profileDirs (relative to it) or `defaultDirs`. */
export function loadScene(file: string, defaultDirs: string[]): LoadedScene {
  const src = openYaml(file);
  const { value, problems } = src.validate(VisionScene);
  if (!value) throw new SourceError(problems);
  const base = dirname(resolve(file));
  const given = value.vision;
  const vision = VisionConfig.parse(given ?? {});
  vision.profileDirs = given?.profileDirs ? given.profileDirs.map((d) => (isAbsolute(d) ? d : resolve(base, d))) : defaultDirs;
  if (vision.detector.model && !isAbsolute(vision.detector.model.path)) vision.detector.model.path = resolve(base, vision.detector.model.path);
  const profiles = loadCameraProfiles(vision.profileDirs);
  const id = value.camera.profile ?? vision.defaultProfile;
  const profile = profiles.get(id);
  if (!profile) throw new SourceError([src.problem(['camera', 'profile'], `no camera profile "${id}" (known: ${[...profiles.keys()].join(', ')})`)]);
  return { camera: { id: value.camera.id, gridId: value.camera.gridId, location: value.camera.location, zones: value.zones, profile, timezone: value.camera.timezone }, vision };
}
