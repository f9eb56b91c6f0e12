import { z } from 'zod';
import { GridId, Location, TopicSafeId } from '@gridgate/contract';

const Point = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).describe('x, y in normalized frame coordinates (0..1)');

/** A named area of a camera's picture, with the rules that apply there and its unit grid. */
export const ZoneConfig = z
  .object({
    id: TopicSafeId,
    name: z.string().optional(),
    polygon: z.array(Point).min(3).describe('Corners in order, normalized coordinates'),
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
