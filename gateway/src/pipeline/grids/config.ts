import { z } from 'zod';

/** `grids:` in the gateway config: the unit-grid map that gives devices, zones and reports their grid ID. */
export const GridsConfig = z
  .object({
    file: z.string().min(1).describe('GeoJSON FeatureCollection of unit grids (Polygon / MultiPolygon), relative to the config file'),
    crs: z
      .enum(['wgs84', 'gcj02'])
      .default('wgs84')
      .describe('Datum of the file’s coordinates. Chinese web-map data is often gcj02: declare it and the polygons are converted to WGS84 when loaded'),
    codeProperty: z.string().default('code').describe('Feature property holding the grid code'),
    nameProperty: z.string().default('name').describe('Feature property holding the grid’s name (optional)'),
    codeLength: z
      .union([z.literal(14), z.literal(15)])
      .default(14)
      .describe('14: national form (county 6 + street 3 + community 3 + grid 2); 15: Beijing form (3-digit grid serial)'),
  })
  .strict();
export type GridsConfig = z.infer<typeof GridsConfig>;
