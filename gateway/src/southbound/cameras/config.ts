import { z } from 'zod';
import { GridId, Location, TopicSafeId } from '@gridgate/contract';
import { PrivacyMask, ZoneConfig } from './zones.js';

// The camera section of the gateway config: `cameras:` (one entry per camera) and `video:` (what the cameras
// share: ffmpeg, evidence storage). Cross-checks against the rest of the config are in checkCameras().

const Secret = z
  .union([z.string().min(1), z.number().transform(String)])
  .describe('Secret: write ${ENV_VAR} here, never the value itself');
const FilePath = z.string().min(1).describe('Path, relative to the config file');
const Point = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]);
const Polygon = z.array(Point).min(3).describe('Corners in order, normalized frame coordinates (0..1)');

const credentials = {
  username: z.string().min(1).optional(),
  password: Secret.optional(),
};

export const CameraSource = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('rtsp'),
        url: z.string().regex(/^rtsps?:\/\/[^/\s]+/, 'an RTSP URL: rtsp://host[:port]/path'),
        ...credentials,
      })
      .strict()
      .describe('RTSP stream (read over TCP). Credentials go in username/password, not in the URL'),
    z
      .object({
        kind: z.literal('http'),
        url: z.string().regex(/^https?:\/\/[^/\s]+/, 'an HTTP URL: http://host[:port]/path'),
        ...credentials,
      })
      .strict()
      .describe('HTTP stream (MJPEG, MPEG-TS, HLS ...)'),
    z
      .object({
        kind: z.literal('onvif'),
        url: z.string().regex(/^https?:\/\/[^/\s]+/, 'the ONVIF device service address, e.g. http://192.168.1.64/onvif/device_service'),
        ...credentials,
        profile: z.string().min(1).optional().describe('Media profile token (see `gridgate cameras discover`); default: the first profile'),
      })
      .strict()
      .describe('ONVIF camera: the RTSP address is asked from its Media service at every connect'),
    z
      .object({
        kind: z.literal('file'),
        path: FilePath,
        loop: z.boolean().default(true).describe('Start again at the end (demos); false: the camera goes offline at the end'),
      })
      .strict()
      .describe('A video file played in real time, for demos and tests'),
  ])
  .describe('Where the video comes from');
export type CameraSource = z.infer<typeof CameraSource>;

export const MotionConfig = z
  .object({
    enabled: z.boolean().default(true).describe('false: every captured frame goes to detection'),
    pixelThreshold: z.number().int().min(1).max(255).default(20).describe('Grey-level change (0..255) that counts a cell of the downscaled image as changed'),
    minArea: z.number().min(0).max(1).default(0.003).describe('Share of the unmasked picture that must change for motion'),
    gridWidth: z.number().int().min(16).max(256).default(64).describe('Width of the downscaled grey image the gate compares (its height keeps the aspect)'),
    periodicS: z
      .number()
      .min(0)
      .default(60)
      .describe('Also pass a frame after this many seconds without motion, for still objects (stalls, parked cars); 0: never'),
    masks: z.array(z.object({ polygon: Polygon }).strict()).default([]).describe('Areas where change is not motion (trees, a busy road, a clock)'),
  })
  .strict();
export type MotionConfig = z.infer<typeof MotionConfig>;

export const CaptureConfig = z
  .object({
    decode: z
      .enum(['all', 'keyframes'])
      .default('all')
      .describe('keyframes: decode key frames only (far less CPU; good when the keyframe interval is at most 1/fps)'),
    stallTimeoutS: z.number().min(2).max(300).optional().describe('No frame for this long: restart the stream. Default: max(10, 3/fps)'),
    connectTimeoutS: z.number().min(2).max(120).default(15).describe('How long a connection may take to deliver its first frame'),
    reconnect: z
      .object({
        minMs: z.number().int().min(100).default(1000),
        maxMs: z.number().int().min(1000).max(60000).default(60000).describe('Cap of the backoff between restarts of a camera that answers but fails'),
        probeMaxMs: z
          .number()
          .int()
          .min(500)
          .max(60000)
          .default(5000)
          .describe('Cap of the backoff of the TCP probe while nothing answers at the camera address (no process is started meanwhile)'),
      })
      .strict()
      .default({ minMs: 1000, maxMs: 60000, probeMaxMs: 5000 }),
  })
  .strict();
export type CaptureConfig = z.infer<typeof CaptureConfig>;

export const CameraEvidenceConfig = z
  .object({
    blurFaces: z.boolean().default(false).describe('Blur the head area of every person box in evidence before it is stored'),
    blurPlates: z.boolean().default(false).describe('Blur the lower part of every vehicle box (where plates are) in evidence before it is stored'),
  })
  .strict();

export const CameraConfig = z
  .object({
    id: TopicSafeId.describe('Camera id, unique on this gateway (also among device ids: it names the availability topic)'),
    name: z.string().optional(),
    enabled: z.boolean().default(true),
    location: Location.optional().describe('Where the camera stands (WGS84); default: gateway.location'),
    gridId: GridId.optional().describe('Unit grid of the camera; default: looked up from location in the grid map, else gateway.gridId'),
    source: CameraSource,
    fps: z.number().positive().max(30).default(1).describe('Frames per second taken from the stream'),
    input: z
      .object({
        width: z.number().int().min(32).max(4096).default(512),
        height: z.number().int().min(32).max(4096).default(512),
      })
      .strict()
      .default({ width: 512, height: 512 })
      .describe('Size frames are scaled to: the detector input (CenterNet: 512×512)'),
    capture: CaptureConfig.default(CaptureConfig.parse({})),
    motion: MotionConfig.default(MotionConfig.parse({})),
    zones: z.array(ZoneConfig).default([]),
    privacyMasks: z.array(PrivacyMask).default([]).describe('Blanked out of every frame before anything looks at it or stores it'),
    evidence: CameraEvidenceConfig.default({ blurFaces: false, blurPlates: false }),
  })
  .strict();
export type CameraConfig = z.infer<typeof CameraConfig>;

export const VideoConfig = z
  .object({
    ffmpegPath: z
      .string()
      .min(1)
      .optional()
      .describe('ffmpeg binary. Default: $FFMPEG_PATH, then the ffmpeg-static package, then ffmpeg on PATH'),
    evidence: z
      .object({
        dir: FilePath.optional().describe('Where evidence JPEGs are kept. Default: <gateway.dataDir>/evidence'),
        maxAgeDays: z.number().positive().default(30).describe('Evidence older than this is deleted'),
        maxMb: z.number().positive().default(2048).describe('Disk quota of the evidence folder; the oldest files go first'),
        jpegQuality: z.number().int().min(30).max(100).default(85),
      })
      .strict()
      .default({ maxAgeDays: 30, maxMb: 2048, jpegQuality: 85 }),
  })
  .strict();
export type VideoConfig = z.infer<typeof VideoConfig>;

interface Issue {
  path: (string | number)[];
  message: string;
}

/** Checks of the camera section against the rest of the config (ids, grid and location fallbacks). */
export function checkCameras(c: {
  gateway: { gridId?: string | undefined; location?: unknown };
  devices: Array<{ id: string }>;
  cameras: CameraConfig[];
}): Issue[] {
  const out: Issue[] = [];
  const devices = new Set(c.devices.map((d) => d.id));
  const seen = new Map<string, number>();
  c.cameras.forEach((cam, i) => {
    const prev = seen.get(cam.id);
    if (prev !== undefined) out.push({ path: ['cameras', i, 'id'], message: `camera id "${cam.id}" is already used by cameras[${prev}]` });
    else seen.set(cam.id, i);
    if (devices.has(cam.id)) out.push({ path: ['cameras', i, 'id'], message: `"${cam.id}" is also a device id; camera and device ids share the availability topics` });
    if (!cam.gridId && !cam.location && !c.gateway.gridId) {
      const zonesCovered = cam.zones.length > 0 && cam.zones.every((z) => z.gridId || z.location);
      if (!zonesCovered) out.push({ path: ['cameras', i], message: 'the camera has no gridId and no location, and gateway.gridId is not set' });
    }
    if (!cam.location && !c.gateway.location) out.push({ path: ['cameras', i], message: 'the camera has no location and gateway.location is not set' });
    const zoneIds = new Set<string>();
    cam.zones.forEach((z, j) => {
      if (zoneIds.has(z.id)) out.push({ path: ['cameras', i, 'zones', j, 'id'], message: `zone id "${z.id}" is used twice on camera ${cam.id}` });
      zoneIds.add(z.id);
    });
  });
  return out;
}
