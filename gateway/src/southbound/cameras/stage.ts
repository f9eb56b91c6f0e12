import type { Evidence, Location } from '@gridgate/contract';
import { Camera, reasonOf, type CameraInfo, type CameraSnapshot } from './camera.js';
import { directInput, urlInput, type CaptureInput } from './capture-args.js';
import type { CameraConfig, VideoConfig } from './config.js';
import { EvidenceStore } from './evidence.js';
import { FfmpegMissing, resolveFfmpeg, type FfmpegInfo } from './ffmpeg.js';
import { resolveStreamUri } from './onvif/client.js';
import type { Source, SourceDeps } from '../source.js';
import type { FrameConsumer } from './types.js';
import { cameraGridId, resolveZones } from './zones.js';

/** A camera delivers frames (to the detection stage's consumer), not uplinks; its availability is the camera's. */
export interface CameraStageDeps extends Pick<SourceDeps, 'setAvailability' | 'log'> {
  gateway: { id: string; gridId?: string | undefined; location?: Location | undefined };
  cameras: CameraConfig[];
  video: VideoConfig;
  /** Grid lookup by position (the gateway's grid map); zones and cameras without a gridId use it. */
  resolveGrid?: (loc: Location) => string | undefined;
  /** The detection stage's consumer for a camera (with the evidence store to save findings); without one, gated frames go nowhere. */
  consumerFor?: (camera: CameraInfo, ctx: { evidence: EvidenceStore }) => FrameConsumer;
  resolveFfmpeg?: () => Promise<FfmpegInfo>;
}

/** Consumer used when no detector is configured: the camera still captures, gates and serves snapshots. */
export const NO_DETECTOR: FrameConsumer = { onFrame: () => {} };

/**
 * The camera stage: one Camera per enabled camera, the shared evidence store, and the snapshot request.
 * A missing ffmpeg is one clear error; the rest of the gateway runs on.
 */
export class CameraStage implements Source {
  readonly cameras = new Map<string, Camera>();
  readonly evidence: EvidenceStore;
  readonly infos = new Map<string, CameraInfo>();
  /** Set when ffmpeg could not be found: why every camera is offline. */
  ffmpegProblem?: string;
  ffmpeg?: FfmpegInfo;

  constructor(private readonly deps: CameraStageDeps) {
    for (const c of deps.cameras) {
      const gridId = cameraGridId(c, deps.gateway, deps.resolveGrid);
      const location = c.location ?? deps.gateway.location;
      const zones = resolveZones(c.zones, c, deps.gateway, deps.resolveGrid);
      if (!location) throw new Error(`camera ${c.id}: no location and gateway.location is not set`);
      // A camera whose every zone has its own grid may lack one itself; its events always name a zone's.
      const fallbackGrid = gridId ?? zones[0]?.gridId;
      if (!fallbackGrid) throw new Error(`camera ${c.id}: no grid ID (set cameras[].gridId, a location inside the grid map, or gateway.gridId)`);
      this.infos.set(c.id, { id: c.id, ...(c.name && { name: c.name }), gridId: fallbackGrid, location, zones, config: c });
    }
    const ev = deps.video.evidence;
    this.evidence = new EvidenceStore({
      dir: ev.dir!,
      jpegQuality: ev.jpegQuality,
      maxAgeDays: ev.maxAgeDays,
      maxMb: ev.maxMb,
      log: deps.log,
      cameraSettings: (id) => {
        const c = this.infos.get(id)?.config;
        const stream = this.cameras.get(id)?.status.stream;
        return { blurFaces: c?.evidence.blurFaces ?? false, blurPlates: c?.evidence.blurPlates ?? false, sourceSize: stream };
      },
    });
  }

  async start(): Promise<void> {
    if (!this.infos.size) return;
    await this.evidence.start();
    try {
      this.ffmpeg = await (this.deps.resolveFfmpeg ?? (() => resolveFfmpeg({ configured: this.deps.video.ffmpegPath })))();
    } catch (e) {
      if (!(e instanceof FfmpegMissing)) throw e;
      this.ffmpegProblem = e.message;
      this.deps.log.error({ why: e.message }, 'cameras: ffmpeg missing; every camera stays offline (sensors are not affected)');
      const reason = reasonOf({ kind: 'ffmpeg-missing', message: 'ffmpeg is not installed or does not run (see the gateway log)', at: Date.now() });
      for (const info of this.infos.values()) if (info.config.enabled) this.deps.setAvailability(info.id, 'offline', Date.now(), reason);
      return;
    }
    this.deps.log.info({ ffmpeg: this.ffmpeg.path, via: this.ffmpeg.via, version: this.ffmpeg.version }, 'cameras: using ffmpeg');
    const withPassword = [...this.infos.values()].filter((i) => i.config.enabled && 'password' in i.config.source && i.config.source.password).map((i) => i.id);
    if (!this.ffmpeg.urlOnPipe && withPassword.length) {
      this.deps.log.warn(
        { cameras: withPassword, version: this.ffmpeg.version },
        'cameras: this ffmpeg (before 5.0) takes camera passwords only in its command line, which every local user can read; use ffmpeg 5 or later (docs/cameras.md)',
      );
    }
    for (const info of this.infos.values()) {
      if (!info.config.enabled) continue;
      const ffmpeg = this.ffmpeg;
      const cam = new Camera({
        info,
        ffmpeg,
        resolveInput: () => inputFor(info.config, ffmpeg),
        consumer: this.deps.consumerFor?.(info, { evidence: this.evidence }) ?? NO_DETECTOR,
        setAvailability: this.deps.setAvailability,
        log: this.deps.log,
      });
      this.cameras.set(info.id, cam);
      cam.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.cameras.values()].map((c) => c.stop()));
    await this.evidence.stop();
  }

  snapshot(): CameraSnapshot[] {
    return [...this.infos.values()].map((info) => {
      const cam = this.cameras.get(info.id);
      if (cam) return cam.snapshot();
      const problem = this.ffmpegProblem ? { kind: 'ffmpeg-missing', message: this.ffmpegProblem, at: new Date().toISOString() } : undefined;
      return {
        id: info.id,
        ...(info.name && { name: info.name }),
        gridId: info.gridId,
        state: info.config.enabled ? ('stopped' as const) : ('disabled' as const),
        ...(problem && { online: false, problem }),
        since: new Date().toISOString(),
        counters: { frames: 0, motion: 0, periodic: 0, skippedBusy: 0, consumerErrors: 0, sessions: 0, probes: 0, failures: 0, corruptEvents: 0 },
      };
    });
  }

  /** The snapshot.request command: the latest frame as evidence, with the camera's zones drawn. */
  async snapshotRequest(cameraId: string): Promise<{ cameraId: string; takenAt: string; evidence: Evidence[] }> {
    const info = this.infos.get(cameraId);
    if (!info) throw new Error(`no camera "${cameraId}" on this gateway (cameras: ${[...this.infos.keys()].join(', ') || 'none'})`);
    const cam = this.cameras.get(cameraId);
    if (!cam) throw new Error(`camera ${cameraId} is not running: ${this.ffmpegProblem ?? 'it is disabled in the config'}`);
    const frame = cam.latest;
    if (!cam.isOnline || !frame) throw new Error(`camera ${cameraId} is offline: ${cam.status.problem?.message ?? 'no frame yet'}`);
    const evidence = await this.evidence.save(frame, { zones: info.zones, label: 'snapshot' });
    return { cameraId, takenAt: new Date(frame.ts).toISOString(), evidence };
  }
}

/** How ffmpeg opens a camera now: ONVIF cameras are asked for their stream address at every attempt. */
async function inputFor(c: CameraConfig, ff: FfmpegInfo): Promise<CaptureInput> {
  const s = c.source;
  if (s.kind !== 'onvif') return directInput(s, ff);
  const { uri } = await resolveStreamUri(s.url, { username: s.username, password: s.password }, s.profile);
  // Cameras hand out the RTSP address without credentials; the ONVIF account is the usual RTSP account.
  const hasCreds = (() => {
    try {
      return !!new URL(uri).username;
    } catch {
      return false;
    }
  })();
  return hasCreds ? urlInput(uri, undefined, undefined, ff) : urlInput(uri, s.username, s.password, ff);
}
