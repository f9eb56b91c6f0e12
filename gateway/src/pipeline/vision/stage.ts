import { uuidv7 } from '@gridgate/contract';
import type { Logger } from 'pino';
import type { Frame, FrameConsumer, GateReason, MotionResult } from '../../southbound/cameras/types.js';
import type { ZoneConfig } from '../../southbound/cameras/zones.js';
import type { VisionFinding } from '../../model/vision-finding.js';
import type { VisionCamera } from './camera.js';
import type { Detector } from './detector/types.js';
import { SituationLifecycle, type EventAction, type Observation } from './events/lifecycle.js';
import type { EvidenceSink } from './events/evidence.js';
import type { SiteSensors } from './fusion.js';
import { HazeBaseline, hazeIndex, hazeStats, zoneMask } from './haze/haze.js';
import { evaluateObjectRule, inWindow, inZone } from './rules/evaluate.js';
import type { HazeRule, ZoneRule } from './rules/profile.js';
import { Tracker, type TrackView } from './tracker/tracker.js';

export interface StageDeps {
  camera: VisionCamera;
  /** The shared detector; undefined while it is unavailable (failed to load): frames are then counted and dropped. */
  detector: () => Detector | undefined;
  publish: (e: VisionFinding) => void;
  evidence?: EvidenceSink;
  sensors?: SiteSensors;
  log: Logger;
  newId?: () => string;
}

export interface StageCounters {
  frames: number;
  detected: number;
  dropped: number;
  errors: number;
  events: number;
}

/** Per-stage timings of the last frame, ms (for the benchmark and the CLI). */
export interface StageTiming {
  inferMs: number;
  detectMs: number;
  trackMs: number;
  rulesMs: number;
}

interface Situation {
  zone: ZoneConfig;
  ruleName: string;
  rule: ZoneRule;
  life: SituationLifecycle;
  haze?: { baseline: HazeBaseline; mask?: Uint8Array };
}

/**
 * The detection stage of one camera: detect → track → zone rules → event lifecycle → pipeline. It is the
 * camera stage's FrameConsumer: while a frame is being processed the returned promise is pending, and the
 * camera skips frames rather than queueing them. Failures (detector down, bad frame) are counted and logged
 * with the camera and reason; they never reach the camera stage or the gateway.
 */
export class CameraDetection implements FrameConsumer {
  readonly counters: StageCounters = { frames: 0, detected: 0, dropped: 0, errors: 0, events: 0 };
  lastTiming?: StageTiming;
  lastTracks: TrackView[] = [];
  private readonly tracker: Tracker;
  private readonly situations: Situation[] = [];
  private readonly loggedErrors = new Map<string, number>();
  private readonly tz: string;

  constructor(private readonly d: StageDeps) {
    const { camera } = d;
    this.tz = camera.timezone ?? 'Asia/Shanghai';
    this.tracker = new Tracker(camera.profile.tracker);
    const p = camera.profile;
    for (const zone of camera.zones) {
      for (const ruleName of zone.rules) {
        const rules = p.zoneRules[ruleName];
        if (!rules) {
          d.log.warn({ camera: camera.id, zone: zone.id, rule: ruleName, profile: p.id }, `zone rule "${ruleName}" is not defined in camera profile ${p.id} (it has: ${Object.keys(p.zoneRules).join(', ')}); the zone ignores it`);
          continue;
        }
        for (const rule of rules) {
          const life = new SituationLifecycle({ minDwellS: rule.minDwellS, gapS: p.gapS, cooldownS: p.cooldownS, updateMinS: p.updateMinS }, d.newId ?? uuidv7);
          const haze = rule.kind === 'haze' ? { baseline: new HazeBaseline('learnSamples' in rule.baseline ? rule.baseline.learnSamples : 1, 'fixed' in rule.baseline ? rule.baseline.fixed : undefined) } : undefined;
          this.situations.push({ zone, ruleName, rule, life, ...(haze && { haze }) });
        }
      }
    }
  }

  async onFrame(frame: Frame, _gate?: { reason: GateReason; motion: MotionResult }): Promise<void> {
    this.counters.frames++;
    const detector = this.d.detector();
    if (!detector) {
      this.counters.dropped++;
      return;
    }
    const t0 = performance.now();
    let res;
    try {
      res = await detector.detect(frame);
    } catch (e) {
      this.counters.errors++;
      this.logError(e as Error & { reason?: string });
      return;
    }
    this.counters.detected++;
    const t1 = performance.now();
    const tracks = this.tracker.update(res.detections, frame.ts);
    this.lastTracks = tracks;
    const t2 = performance.now();
    const actions: Array<{ s: Situation; a: EventAction }> = [];
    for (const s of this.situations) for (const a of s.life.step(this.observe(s, tracks, frame), frame.ts)) actions.push({ s, a });
    const t3 = performance.now();
    this.lastTiming = { inferMs: res.inferMs, detectMs: t1 - t0, trackMs: t2 - t1, rulesMs: t3 - t2 };
    for (const { s, a } of actions) await this.send(s, a, frame);
  }

  /** Ends events whose cool-down ran out while no frames came (a quiet or dead camera). */
  async tick(now: number): Promise<void> {
    for (const s of this.situations) for (const a of s.life.expire(now)) await this.send(s, a);
  }

  private observe(s: Situation, tracks: TrackView[], frame: Frame): Observation {
    if (!inWindow(frame.ts, s.rule.activeHours, this.tz)) return { holds: false, tracks: [], confidence: 0 };
    if (s.rule.kind === 'objects') {
      const f = evaluateObjectRule(s.rule, inZone(tracks, s.zone));
      return { holds: f.holds, tracks: f.tracks, confidence: f.confidence };
    }
    return this.observeHaze(s, s.rule, frame);
  }

  private observeHaze(s: Situation, rule: HazeRule, frame: Frame): Observation {
    const h = s.haze!;
    h.mask ??= zoneMask(frame.width, frame.height, s.zone.polygon);
    const stats = hazeStats(frame.data, frame.width, frame.height, h.mask);
    const clean = h.baseline.offer(stats);
    if (!clean) return { holds: false, tracks: [], confidence: 0 };
    const index = hazeIndex(stats, clean);
    const holds = index >= rule.above;
    const measurements: Record<string, number> = { hazeIndex: round(index), hazeThreshold: rule.above };
    const ex = rule.sensor ? (this.d.sensors?.exceedances(s.zone.site, rule.sensor.limits, rule.sensor.maxAgeS, frame.ts) ?? []) : [];
    for (const e of ex) measurements[`${e.deviceId}.${e.metric}`] = e.value;
    // Image haze alone could be fog or rain on the lens; a dust monitor of the same site above its limit at
    // the same time makes it dust.
    const confidence = !holds ? 0 : ex.length ? 0.9 : 0.6;
    return { holds, tracks: [], confidence, measurements, ...(ex.length && { relatedDevices: [...new Set(ex.map((e) => e.deviceId))].sort() }) };
  }

  private async send(s: Situation, a: EventAction, frame?: Frame): Promise<void> {
    const { camera } = this.d;
    let evidence: VisionFinding['evidence'] = [];
    if (a.phase === 'start' && frame && this.d.evidence) {
      try {
        evidence = await this.d.evidence.save(frame, {
          boxes: a.tracks.map((t) => ({ box: t.box, label: t.label })),
          zone: { id: s.zone.id, polygon: s.zone.polygon },
          label: `${s.rule.eventType} ${s.rule.code}`,
        });
      } catch (e) {
        this.d.log.warn({ camera: camera.id, zone: s.zone.id, err: (e as Error).message }, 'evidence snapshot failed; the event goes out without it');
      }
    }
    const end = a.endedAt ?? a.at;
    const finding: VisionFinding = {
      cameraId: camera.id,
      eventId: a.eventId,
      phase: a.phase,
      eventType: s.rule.eventType,
      eventCode: s.rule.code,
      title: s.rule.title,
      gridId: s.zone.gridId ?? camera.gridId,
      location: s.zone.location ?? camera.location,
      zone: { id: s.zone.id, ...(s.zone.name && { name: s.zone.name }), rule: s.ruleName },
      confidence: round(Math.min(1, Math.max(0, a.confidence))),
      dwellS: Math.max(0, Math.round((end - a.since) / 1000)),
      tracks: a.tracks.slice(0, 200).map((t) => ({ trackId: t.id, label: t.label, score: round(t.score), box: t.box.map(round) as [number, number, number, number], stationaryS: Math.round(t.stationaryS) })),
      ...(a.measurements && { measurements: a.measurements }),
      ...(a.relatedDevices && { relatedDevices: a.relatedDevices }),
      evidence: evidence.slice(0, 20),
      startedAt: a.startedAt,
      ...(a.endedAt !== undefined && { endedAt: a.endedAt }),
      at: a.at,
    };
    this.counters.events++;
    this.d.publish(finding);
  }

  private logError(e: Error & { reason?: string }): void {
    const key = e.reason ?? 'error';
    const n = (this.loggedErrors.get(key) ?? 0) + 1;
    this.loggedErrors.set(key, n);
    // The first of each kind is logged, then every 100th: a broken camera must not flood the log.
    if (n === 1 || n % 100 === 0) this.d.log.error({ camera: this.d.camera.id, reason: key, count: n }, `detection failed: ${e.message}`);
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;
