import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceProfile } from './schema.js';
import { SourceError, YamlSource, type SourceProblem } from '../config/yaml-source.js';

export interface LoadedProfile {
  profile: DeviceProfile;
  file: string;
}

/** Reads every `*.yaml` profile in the given folders (not recursing). All problems are reported together. */
export function loadProfiles(dirs: string[]): Map<string, LoadedProfile> {
  const profiles = new Map<string, LoadedProfile>();
  const problems: SourceProblem[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
    } catch (e) {
      problems.push({ file: dir, line: 1, path: '', message: `cannot read profile folder: ${(e as Error).message}` });
      continue;
    }
    for (const name of names) {
      const file = join(dir, name);
      if (!statSync(file).isFile()) continue;
      const src = YamlSource.read(file);
      const syntax = src.syntaxProblems();
      if (syntax.length) {
        problems.push(...syntax);
        continue;
      }
      const { value, problems: p } = src.validate(DeviceProfile);
      if (!value) {
        problems.push(...p);
        continue;
      }
      const existing = profiles.get(value.id);
      if (existing) {
        problems.push(src.problem(['id'], `profile id "${value.id}" is also defined in ${existing.file}`));
        continue;
      }
      profiles.set(value.id, { profile: value, file });
    }
  }
  if (problems.length) throw new SourceError(problems);
  return profiles;
}
