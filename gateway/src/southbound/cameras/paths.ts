import { isAbsolute, join, resolve } from 'node:path';
import type { CameraConfig, VideoConfig } from './config.js';

const abs = (base: string, p: string) => (isAbsolute(p) ? p : resolve(base, p));

/**
 * Resolves the camera section's paths relative to the config file's folder: video files, the evidence folder
 * (always set afterwards: default <dataDir>/evidence) and an ffmpeg path given as a relative path.
 */
export function resolveCameraPaths(c: { gateway: { dataDir: string }; cameras: CameraConfig[]; video: VideoConfig }, base: string): { cameras: CameraConfig[]; video: VideoConfig } {
  const ffmpegPath = c.video.ffmpegPath;
  return {
    cameras: c.cameras.map((cam) => (cam.source.kind === 'file' ? { ...cam, source: { ...cam.source, path: abs(base, cam.source.path) } } : cam)),
    video: {
      ...c.video,
      ...(ffmpegPath && ffmpegPath.includes('/') && { ffmpegPath: abs(base, ffmpegPath) }),
      evidence: { ...c.video.evidence, dir: c.video.evidence.dir ? abs(base, c.video.evidence.dir) : join(abs(base, c.gateway.dataDir), 'evidence') },
    },
  };
}
