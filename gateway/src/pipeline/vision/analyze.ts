import type { ZoneConfig } from '../../southbound/cameras/zones.js';
import type { Detection } from './detector/types.js';
import { boxGap, footPoint, pointInPolygon, WHOLE_FRAME } from '../../model/geometry.js';
import { GENERIC_CLEAN, hazeIndex, hazeStats, zoneMask, type HazeReading, type HazeStats } from './haze/haze.js';
import type { ObjectRule } from './rules/profile.js';

/**
 * How strongly one frame looks like a street stall, 0..1: for the best person, its score times the chance
 * that at least one goods-like object around it is real (1 − Π(1 − score)). A single frame cannot say who
 * stands still; events need the tracker and the dwell time, this is for field checks and evaluation.
 */
export function stallScore(dets: readonly Detection[], rule: Pick<ObjectRule, 'anchor' | 'with' | 'near'>, polygons: Array<ZoneConfig['polygon']> = [WHOLE_FRAME]): number {
  const inside = dets.filter((d) => polygons.some((p) => pointInPolygon(footPoint(d.box), p)));
  let best = 0;
  for (const a of inside.filter((d) => rule.anchor.classes.includes(d.label))) {
    const h = a.box[3] - a.box[1];
    const goods = inside.filter((d) => d !== a && rule.with?.classes.includes(d.label) && boxGap(a.box, d.box) <= rule.near * h);
    const anyGoods = 1 - goods.reduce((p, g) => p * (1 - g.score), 1);
    best = Math.max(best, a.score * anyGoods);
  }
  return Math.round(best * 1000) / 1000;
}

/** Haze statistics and index of a frame region, against a baseline (generic clear-daylight values if none). */
export function hazeReading(data: Uint8Array, width: number, height: number, polygon?: ZoneConfig['polygon'], clean: HazeStats = GENERIC_CLEAN): HazeReading {
  const s = hazeStats(data, width, height, polygon ? zoneMask(width, height, polygon) : undefined);
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { index: r(hazeIndex(s, clean)), darkChannel: r(s.darkChannel), contrast: r(s.contrast), saturation: r(s.saturation) };
}
