import type { Box, Point } from '../../../model/geometry.js';
import type { Detection } from '../detector/types.js';
import { centre, iou } from '../../../model/geometry.js';
import type { TrackerSettings } from '../rules/profile.js';

/** What later stages see of a track. */
export interface TrackView {
  id: number;
  label: string;
  box: Box;
  /** Mean detection score over the track's life. */
  score: number;
  /** How long the object has stood still, seconds. */
  stationaryS: number;
  firstSeen: number;
  lastSeen: number;
  hits: number;
}

interface Track {
  id: number;
  label: string;
  box: Box;
  scoreSum: number;
  hits: number;
  firstSeen: number;
  lastSeen: number;
  /** Where the object stood when it last stopped, and since when. */
  anchor: Point;
  stillSince: number;
}

/**
 * Multi-object tracker: detections of a frame are matched to live tracks of the same class by IoU, with a
 * centroid fallback for small or fast objects whose boxes no longer overlap; unmatched detections start
 * tracks, tracks unseen for `maxGapS` end. Each track keeps how long it has stood still, so a parked car is
 * one track for hours, not one finding per frame. Pure: time comes in with each frame.
 */
export class Tracker {
  private tracks: Track[] = [];
  private nextId = 1;

  constructor(private readonly s: TrackerSettings) {}

  /** Feeds one frame's detections; returns the confirmed tracks seen in this frame. */
  update(detections: readonly Detection[], now: number): TrackView[] {
    this.tracks = this.tracks.filter((t) => (now - t.lastSeen) / 1000 <= this.s.maxGapS);
    const pairs: Array<{ t: number; d: number; q: number }> = [];
    this.tracks.forEach((t, ti) => {
      detections.forEach((d, di) => {
        if (d.label !== t.label) return;
        const o = iou(t.box, d.box);
        if (o >= this.s.iouMin) pairs.push({ t: ti, d: di, q: 1 + o });
        else {
          const [ax, ay] = centre(t.box);
          const [bx, by] = centre(d.box);
          const size = Math.max(t.box[2] - t.box[0], t.box[3] - t.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]);
          const dist = Math.hypot(ax - bx, ay - by);
          if (dist <= 0.5 * size) pairs.push({ t: ti, d: di, q: 1 - dist / size });
        }
      });
    });
    pairs.sort((a, b) => b.q - a.q);
    const usedT = new Set<number>();
    const usedD = new Set<number>();
    const seen: Track[] = [];
    for (const p of pairs) {
      if (usedT.has(p.t) || usedD.has(p.d)) continue;
      usedT.add(p.t);
      usedD.add(p.d);
      const t = this.tracks[p.t]!;
      this.observe(t, detections[p.d]!, now);
      seen.push(t);
    }
    detections.forEach((d, di) => {
      if (usedD.has(di)) return;
      const t: Track = { id: this.nextId++, label: d.label, box: d.box, scoreSum: d.score, hits: 1, firstSeen: now, lastSeen: now, anchor: centre(d.box), stillSince: now };
      this.tracks.push(t);
      seen.push(t);
    });
    return seen.filter((t) => t.hits >= this.s.minHits).map((t) => this.view(t, now));
  }

  /** Every confirmed live track, seen this frame or not. */
  live(now: number): TrackView[] {
    return this.tracks.filter((t) => t.hits >= this.s.minHits && (now - t.lastSeen) / 1000 <= this.s.maxGapS).map((t) => this.view(t, now));
  }

  private observe(t: Track, d: Detection, now: number): void {
    const c = centre(d.box);
    const size = Math.sqrt(Math.max(1e-6, (d.box[2] - d.box[0]) * (d.box[3] - d.box[1])));
    // A detector's boxes jitter by a few pixels on a still object: movement within the tolerance is standing still.
    if (Math.hypot(c[0] - t.anchor[0], c[1] - t.anchor[1]) > this.s.moveTolerance * size + 0.005) {
      t.anchor = c;
      t.stillSince = now;
    }
    t.box = d.box;
    t.scoreSum += d.score;
    t.hits++;
    t.lastSeen = now;
  }

  private view(t: Track, now: number): TrackView {
    return { id: t.id, label: t.label, box: t.box, score: t.scoreSum / t.hits, stationaryS: Math.max(0, (now - t.stillSince) / 1000), firstSeen: t.firstSeen, lastSeen: t.lastSeen, hits: t.hits };
  }
}
