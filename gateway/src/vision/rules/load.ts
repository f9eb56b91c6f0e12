import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SourceError, YamlSource, type SourceProblem } from '../../config/yaml-source.js';
import { CameraProfile } from './profile.js';

/** Reads every camera profile (`*.yaml`) in the folders; all problems are reported together as file:line. */
export function loadCameraProfiles(dirs: string[]): Map<string, CameraProfile> {
  const out = new Map<string, CameraProfile>();
  const files = new Map<string, string>();
  const problems: SourceProblem[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
    } catch (e) {
      problems.push({ file: dir, line: 1, path: '', message: `cannot read camera profile folder: ${(e as Error).message}` });
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
      const { value, problems: p } = src.validate(CameraProfile);
      if (!value) {
        problems.push(...p);
        continue;
      }
      if (files.has(value.id)) {
        problems.push(src.problem(['id'], `camera profile id "${value.id}" is also defined in ${files.get(value.id)}`));
        continue;
      }
      files.set(value.id, file);
      out.set(value.id, value);
    }
  }
  if (problems.length) throw new SourceError(problems);
  return out;
}
