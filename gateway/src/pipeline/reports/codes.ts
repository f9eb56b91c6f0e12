import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { CaseReport } from '@gridgate/contract';
import { YamlSource, type SourceProblem } from '../../util/yaml-source.js';

/** The code table shipped with GridGate (firmware-configs/codes/); deployments layer theirs over it. */
export const builtinCodeTable = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../firmware-configs/codes/gbt30428.yaml');

const Name = z.object({ zh: z.string().min(1), en: z.string().min(1) }).strict();
/** Names by code; a key of the wrong shape is a problem at its own line. */
const Codes = (digits: number, what: string) =>
  z.record(z.string(), Name).superRefine((rec, ctx) => {
    for (const k of Object.keys(rec)) {
      if (!new RegExp(`^\\d{${digits}}$`).test(k)) ctx.addIssue({ code: 'custom', path: [k], message: `${what} "${k}" must have ${digits} digits${digits === 4 ? ' (major 2 + minor 2), quoted' : ', quoted'}` });
    }
  });

export const CodeTableFile = z
  .object({
    majors: z
      .object({ component: Codes(2, 'major class code').default({}), event: Codes(2, 'major class code').default({}) })
      .strict()
      .default({ component: {}, event: {} }),
    components: Codes(4, 'component class code').default({}),
    events: Codes(4, 'event type code').default({}),
  })
  .strict();
type CodeTableFile = z.infer<typeof CodeTableFile>;

export type CategoryKind = 'component' | 'event';
export type Category = CaseReport['category'];

/** Case categories by kind and code, merged from the built-in table and the deployment's overrides. */
export class CodeTable {
  constructor(private readonly t: CodeTableFile) {}

  has(kind: CategoryKind, code: string): boolean {
    return (kind === 'component' ? this.t.components : this.t.events)[code] !== undefined;
  }

  /** The category for a code; a code the table lacks still gets a category, named by its number. */
  category(kind: CategoryKind, code: string): Category {
    const minorName = (kind === 'component' ? this.t.components : this.t.events)[code];
    const majorCode = code.slice(0, 2);
    const majorName = this.t.majors[kind][majorCode];
    const label = kind === 'component' ? { zh: '部件', en: 'Component' } : { zh: '事件', en: 'Event' };
    return {
      kind,
      code,
      major: { code: majorCode, name: majorName ?? { zh: `${label.zh}大类 ${majorCode}`, en: `${label.en} class ${majorCode}` } },
      minor: { code, name: minorName ?? { zh: `${label.zh} ${code}`, en: `${label.en} ${code}` } },
    };
  }

  static merge(files: CodeTableFile[]): CodeTable {
    const out: CodeTableFile = { majors: { component: {}, event: {} }, components: {}, events: {} };
    for (const f of files) {
      Object.assign(out.majors.component, f.majors.component);
      Object.assign(out.majors.event, f.majors.event);
      Object.assign(out.components, f.components);
      Object.assign(out.events, f.events);
    }
    return new CodeTable(out);
  }
}

/** Loads the built-in table and then each override (later files win per code). Problems carry file:line. */
export function loadCodeTables(overrides: string[], builtin = builtinCodeTable): { table: CodeTable; problems: SourceProblem[] } {
  const problems: SourceProblem[] = [];
  const files: CodeTableFile[] = [];
  for (const file of [builtin, ...overrides]) {
    let src: YamlSource;
    try {
      src = YamlSource.read(file);
    } catch (e) {
      problems.push({ file, line: 1, path: '', message: `cannot read code table: ${(e as Error).message}` });
      continue;
    }
    const syntax = src.syntaxProblems();
    if (syntax.length) {
      problems.push(...syntax);
      continue;
    }
    const { value, problems: p } = src.validate(CodeTableFile);
    problems.push(...p);
    if (value) files.push(value);
  }
  return { table: CodeTable.merge(files), problems };
}
