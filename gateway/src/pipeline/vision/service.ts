import type { Logger } from 'pino';
import type { ZoneConfig } from '../../southbound/cameras/zones.js';
import type { VisionFinding } from '../../model/vision-finding.js';
import type { Location } from '@gridgate/contract';
import type { VisionConfig } from './config.js';
import { modelSpec } from './detector/model.js';
import { WorkerPoolDetector } from './detector/pool.js';
import type { Detector } from './detector/types.js';
import type { EvidenceSink } from './events/evidence.js';
import { SiteSensors } from './fusion.js';
import type { CameraProfile } from './rules/profile.js';
import { CameraDetection } from './stage.js';

export interface VisionServiceDeps {
  config: VisionConfig;
  profiles: Map<string, CameraProfile>;
  publish: (e: VisionFinding) => void;
  log: Logger;
  timezone: string;
  site?: string;
  /** Injected for tests and tools; default: the worker-thread pool of the configured model. */
  startDetector?: () => Promise<Detector>;
}

/**
 * The gateway's detection service: one shared detector (worker threads) and one CameraDetection per camera.
 * The camera stage asks `forCamera` for its FrameConsumer. A detector that cannot start is logged with its
 * reason and the cameras keep streaming (their frames are counted as dropped); the gateway keeps running.
 */
export class VisionService {
  readonly sensors: SiteSensors;
  private detector?: Detector;
  private readonly cameras = new Map<string, CameraDetection>();
  private timer?: NodeJS.Timeout;
  error?: string;

  constructor(private readonly d: VisionServiceDeps) {
    this.sensors = new SiteSensors(d.site);
  }

  private starting?: Promise<void>;

  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const { config, log } = this.d;
    const t0 = performance.now();
    try {
      this.detector = await (this.d.startDetector ?? (() => WorkerPoolDetector.start({
        spec: modelSpec(config.detector.model),
        backend: config.detector.backend,
        minScore: config.detector.minScore,
        ...(config.detector.workers && { workers: config.detector.workers }),
        onNote: (note) => log.info(note),
      })))();
      log.info({ backend: this.detector.backend, ms: Math.round(performance.now() - t0) }, 'detector ready');
    } catch (e) {
      this.error = (e as Error).message;
      log.error({ err: this.error }, `detector unavailable, cameras keep streaming without detection: ${this.error}`);
    }
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const c of this.cameras.values()) void c.tick(now);
    }, 5000);
    this.timer.unref();
  }

  /** The FrameConsumer for one camera (created once per camera id). */
  forCamera(camera: { id: string; gridId: string; location: Location; zones: ZoneConfig[]; profile?: string }): CameraDetection {
    let c = this.cameras.get(camera.id);
    if (c) return c;
    const id = camera.profile ?? this.d.config.defaultProfile;
    const profile = this.d.profiles.get(id);
    if (!profile) throw new Error(`camera ${camera.id}: no camera profile "${id}" (known: ${[...this.d.profiles.keys()].join(', ')})`);
    c = new CameraDetection({
      camera: { id: camera.id, gridId: camera.gridId, location: camera.location, zones: camera.zones, profile, timezone: this.d.timezone },
      detector: () => this.detector,
      publish: this.d.publish,
      sensors: this.sensors,
      log: this.d.log,
      // Looked up per event, so a store wired in after the cameras were created is used too.
      evidence: { save: (frame, req) => (this.evidence ? this.evidence.save(frame, req) : Promise.resolve([])) },
    });
    this.cameras.set(camera.id, c);
    return c;
  }

  /** The camera stage's evidence store, wired in when it exists. */
  evidence?: EvidenceSink;

  /** Frame size the camera stage scales to (square, rgb24). */
  get inputSize(): number {
    return this.d.config.detector.model?.inputSize ?? 512;
  }

  get backend(): string | undefined {
    return this.detector?.backend;
  }

  async stop(): Promise<void> {
    await this.starting;
    if (this.timer) clearInterval(this.timer);
    await this.detector?.close();
  }
}
