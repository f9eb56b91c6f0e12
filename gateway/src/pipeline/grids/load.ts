import { readFileSync } from 'node:fs';
import { YamlSource, type SourceProblem } from '../../util/yaml-source.js';
import type { GridsConfig } from './config.js';
import { GridMap, type GridMapProblem } from './grid-map.js';

export interface LoadedGridMap {
  map: GridMap;
  file: string;
  /** Every problem in the file, as file:line: features[i]: message, with its level. */
  problems: Array<SourceProblem & { level: 'error' | 'warning' }>;
}

/**
 * Reads and parses the grid map a config names. Throws (with the file named) when it cannot be read or
 * is not a FeatureCollection; per-feature problems come back with the line of the feature.
 */
export function loadGridMap(cfg: GridsConfig): LoadedGridMap {
  let text: string;
  try {
    text = readFileSync(cfg.file, 'utf8');
  } catch (e) {
    throw new Error(`grid map ${cfg.file}: cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`grid map ${cfg.file}: not JSON: ${(e as Error).message}`);
  }
  let parsed: { map: GridMap; problems: GridMapProblem[] };
  try {
    parsed = GridMap.parse(json, cfg);
  } catch (e) {
    throw new Error(`grid map ${cfg.file}: ${(e as Error).message}`);
  }
  // Line numbers only when something is wrong: JSON is YAML, so the YAML parser can point at the feature.
  let src: YamlSource | undefined;
  const problems = parsed.problems.map((p) => {
    const path = p.feature !== undefined ? ['features', p.feature] : [];
    src ??= new YamlSource(cfg.file, text);
    return { ...src.problem(path, p.message), level: p.level };
  });
  return { map: parsed.map, file: cfg.file, problems };
}
