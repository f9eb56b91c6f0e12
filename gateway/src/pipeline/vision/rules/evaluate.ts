import type { ZoneConfig } from '../../../southbound/cameras/zones.js';
import { boxGap, footPoint, pointInPolygon } from '../../../model/geometry.js';
import type { TrackView } from '../tracker/tracker.js';
import type { ObjectGroup, ObjectRule, TimeWindow } from './profile.js';

/** What one rule finds in one zone in one frame. */
export interface RuleFinding {
  holds: boolean;
  /** Tracks that make the situation (anchors first). */
  tracks: TrackView[];
  /** 0..1: how sure the finding is. */
  confidence: number;
  /** How long the situation has existed by the objects' own clocks, seconds. */
  dwellS: number;
}

export const NOTHING: RuleFinding = { holds: false, tracks: [], confidence: 0, dwellS: 0 };

function qualifies(t: TrackView, g: ObjectGroup): boolean {
  return g.classes.includes(t.label) && t.score >= g.minScore && t.stationaryS >= g.stationaryS;
}

/** Tracks whose ground point lies inside the zone polygon. */
export function inZone(tracks: readonly TrackView[], zone: Pick<ZoneConfig, 'polygon'>): TrackView[] {
  return tracks.filter((t) => pointInPolygon(footPoint(t.box), zone.polygon));
}

/**
 * Object rule: enough still anchors (persons, vehicles) in the zone, each with enough still companions
 * (goods) within `near` anchor heights when the rule asks for them.
 */
export function evaluateObjectRule(rule: ObjectRule, tracks: readonly TrackView[]): RuleFinding {
  const anchors = tracks.filter((t) => qualifies(t, rule.anchor));
  const companions = rule.with ? tracks.filter((t) => qualifies(t, rule.with!)) : [];
  const matched: TrackView[] = [];
  const used = new Set<number>();
  for (const a of anchors) {
    if (!rule.with) {
      matched.push(a);
      continue;
    }
    const h = a.box[3] - a.box[1];
    const near = companions.filter((c) => c.id !== a.id && boxGap(a.box, c.box) <= rule.near * h);
    if (near.length >= rule.with.minCount) {
      matched.push(a);
      for (const c of near) used.add(c.id);
    }
  }
  if (matched.length < rule.anchor.minCount) return NOTHING;
  const all = [...matched, ...companions.filter((c) => used.has(c.id))];
  const confidence = all.reduce((s, t) => s + t.score, 0) / all.length;
  const dwellS = Math.max(...matched.map((t) => t.stationaryS));
  return { holds: true, tracks: all, confidence, dwellS };
}

/** Minutes since local midnight in a timezone. */
export function localMinutes(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(at));
  const h = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const m = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return h * 60 + m;
}

export function inWindow(at: number, w: TimeWindow | undefined, timeZone: string): boolean {
  if (!w) return true;
  const toMin = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
  const now = localMinutes(at, timeZone);
  const from = toMin(w.from);
  const to = toMin(w.to);
  return from <= to ? now >= from && now < to : now >= from || now < to;
}
