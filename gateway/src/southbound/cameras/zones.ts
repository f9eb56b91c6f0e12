import { z } from 'zod';
import { GridId, Location, TopicSafeId } from '@gridgate/contract';
import { polygonProblems } from '../../model/zone-shape.js';

const Point = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).describe('x, y in normalized frame coordinates (0..1)');

/** A named area of a camera's picture, with the rules that apply there and its unit grid. */
export const ZoneConfig = z
  .object({
    id: TopicSafeId,
    name: z.string().optional(),
    polygon: z
      .array(Point)
      .min(3)
      .superRefine((poly, ctx) => {
        // Out-of-frame corners are the Point schema's to report; the shape rules are shared with the console's editor.
        for (const p of polygonProblems(poly)) if (p.code !== 'out-of-frame') ctx.addIssue({ code: 'custom', message: p.message });
      })
      .describe('Corners in order, normalized coordinates; the edges must not cross'),
    rules: z
      .array(z.string().regex(/^[a-z][a-z0-9-]*$/))
      .min(1)
      .describe('Zone rules that apply here, e.g. no-vending, no-parking, construction-site (defined in camera profiles)'),
    gridId: GridId.optional().describe('Unit grid of the zone; default: looked up from location in the grid map, else the camera’s'),
    location: Location.optional().describe('Where the zone is on the ground (WGS84)'),
    site: z.string().optional().describe('Site name that binds sensors (e.g. a dust monitor) to this zone'),
  })
  .strict();
export type ZoneConfig = z.infer<typeof ZoneConfig>;

/** An area blanked out of every frame before anything looks at it or stores it. */
export const PrivacyMask = z.object({ polygon: z.array(Point).min(3) }).strict();
export type PrivacyMask = z.infer<typeof PrivacyMask>;

/** A zone with its grid and place settled: what the detection stage and the event builder use. */
export interface ResolvedZone {
  id: string;
  name?: string;
  polygon: Array<[number, number]>;
  rules: string[];
  gridId: string;
  location: Location;
  site?: string;
}

/**
 * Settles each zone's grid ID and location. Grid: the zone's own, else looked up from the zone's position in
 * the grid map, else the camera's (own, or looked up from its position), else the gateway's. Location: the
 * zone's, else the camera's, else the gateway's. Config validation guarantees one of each exists.
 */
export function resolveZones(
  zones: readonly ZoneConfig[],
  camera: { id: string; gridId?: string | undefined; location?: Location | undefined },
  gateway: { gridId?: string | undefined; location?: Location | undefined },
  resolveGrid?: (loc: Location) => string | undefined,
): ResolvedZone[] {
  const cameraGrid = cameraGridId(camera, gateway, resolveGrid);
  return zones.map((z) => {
    const gridId = z.gridId ?? (z.location && resolveGrid?.(z.location)) ?? cameraGrid;
    const location = z.location ?? camera.location ?? gateway.location;
    if (!gridId) throw new Error(`camera ${camera.id}, zone ${z.id}: no grid ID (give zones[].gridId or a location inside the grid map, or set the camera's or gateway's gridId)`);
    if (!location) throw new Error(`camera ${camera.id}, zone ${z.id}: no location (give the zone, camera or gateway a location)`);
    return { id: z.id, ...(z.name && { name: z.name }), polygon: z.polygon.map(([x, y]) => [x, y] as [number, number]), rules: [...z.rules], gridId, location, ...(z.site && { site: z.site }) };
  });
}

/** The camera's own grid: given, else from its position in the grid map, else the gateway's. */
export function cameraGridId(
  camera: { gridId?: string | undefined; location?: Location | undefined },
  gateway: { gridId?: string | undefined },
  resolveGrid?: (loc: Location) => string | undefined,
): string | undefined {
  return camera.gridId ?? (camera.location && resolveGrid?.(camera.location)) ?? gateway.gridId;
}
