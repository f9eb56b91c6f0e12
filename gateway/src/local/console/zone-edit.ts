import { isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import type { ZoneView } from './web/types.js';
import { polygonProblems, type ShapeProblemCode } from '../../model/zone-shape.js';

/** A zone as the console's editor sends it (the browser's own type: one shape for both sides). */
export type ZoneInput = ZoneView;

export interface ZoneProblem {
  zone: number;
  zoneId?: string;
  code: ShapeProblemCode | 'bad-id' | 'duplicate-id' | 'no-rules' | 'bad-input';
  points: number[];
  message: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const RULE = /^[a-z][a-z0-9-]*$/;

/** Checks what the editor sent before it goes near the config: shapes (the rules the editor applies too), ids, rules. */
export function zoneInputProblems(input: unknown): { zones?: ZoneInput[]; problems: ZoneProblem[] } {
  if (!Array.isArray(input)) return { problems: [{ zone: -1, code: 'bad-input', points: [], message: 'zones must be a list' }] };
  const problems: ZoneProblem[] = [];
  const seen = new Set<string>();
  const zones: ZoneInput[] = [];
  input.forEach((raw: unknown, i) => {
    const z = raw as Partial<ZoneInput> | null;
    const at = (code: ZoneProblem['code'], message: string, points: number[] = []) => problems.push({ zone: i, ...(typeof z?.id === 'string' && { zoneId: z.id }), code, points, message: `zone ${i + 1}${typeof z?.id === 'string' && z.id ? ` (${z.id})` : ''}: ${message}` });
    if (!z || typeof z !== 'object') return at('bad-input', 'not an object');
    if (typeof z.id !== 'string' || !ID.test(z.id)) at('bad-id', 'the id must be 1–64 letters, digits, dot, dash or underscore, starting with a letter or digit');
    else if (seen.has(z.id)) at('duplicate-id', `the id "${z.id}" is used by another zone of this camera`);
    else seen.add(z.id);
    if (!Array.isArray(z.rules) || !z.rules.length || !z.rules.every((r) => typeof r === 'string' && RULE.test(r))) at('no-rules', 'choose at least one rule');
    const poly = Array.isArray(z.polygon) ? z.polygon : [];
    const pts = poly.map((p) => (Array.isArray(p) && p.length === 2 ? ([Number(p[0]), Number(p[1])] as [number, number]) : ([NaN, NaN] as [number, number])));
    for (const p of polygonProblems(pts)) at(p.code, p.message, p.points);
    if (z.gridId !== undefined && (typeof z.gridId !== 'string' || !/^\d{14,15}$/.test(z.gridId))) at('bad-input', 'the grid must be a 14- or 15-digit unit grid code');
    zones.push({
      id: String(z.id ?? ''),
      ...(typeof z.name === 'string' && z.name.trim() && { name: z.name.trim().slice(0, 200) }),
      polygon: pts,
      rules: Array.isArray(z.rules) ? z.rules.map(String) : [],
      ...(typeof z.gridId === 'string' && z.gridId && { gridId: z.gridId }),
      ...(typeof z.site === 'string' && z.site.trim() && { site: z.site.trim() }),
      ...(z.location && typeof z.location === 'object' && { location: { lat: Number(z.location.lat), lon: Number(z.location.lon) } }),
    });
  });
  return problems.length ? { problems } : { zones, problems };
}

const round = (v: number) => Math.round(v * 10000) / 10000;

/**
 * Replaces the zones of one camera in the config text, keeping the rest of the file as it was (comments,
 * order, other cameras). Polygons are written one per line in flow style. Throws when the camera is not in
 * the file.
 */
export function setCameraZones(yamlText: string, cameraId: string, zones: readonly ZoneInput[]): string {
  const doc = parseDocument(yamlText);
  if (doc.errors.length) throw new Error(`the config is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const cams = doc.get('cameras', true);
  const cam = isSeq(cams) ? (cams.items.find((c) => isMap(c) && String(c.get('id')) === cameraId) as YAMLMap | undefined) : undefined;
  if (!cam) throw new Error(`camera "${cameraId}" is not in the config file`);
  const entries = zones.map((z) => ({
    id: z.id,
    ...(z.name && { name: z.name }),
    polygon: z.polygon.map(([x, y]) => [round(x), round(y)]),
    rules: z.rules,
    ...(z.gridId && { gridId: z.gridId }),
    ...(z.location && { location: z.location }),
    ...(z.site && { site: z.site }),
  }));
  const node = doc.createNode(entries);
  node.flow = false;
  for (const item of node.items) {
    if (!isMap(item)) continue;
    for (const key of ['polygon', 'rules', 'location']) {
      const v = item.get(key, true);
      if (v && (isSeq(v) || isMap(v))) v.flow = true;
    }
    // gridId is a string of digits: quoted, so that YAML never reads it as a number.
    const g = item.get('gridId', true);
    if (isScalar(g)) g.type = 'QUOTE_DOUBLE';
  }
  if (zones.length) cam.set('zones', node);
  else cam.delete('zones');
  return doc.toString({ lineWidth: 0 });
}
