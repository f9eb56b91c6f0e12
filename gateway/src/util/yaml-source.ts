import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Scalar } from 'yaml';
import type { z } from 'zod';
import { isSecretKey } from './redact.js';

/** What one config may expand through aliases (yaml's count: nodes copied, weighted by size). */
const MAX_ALIAS_COUNT = 100;

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** Variable names that say they hold a secret. */
const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY|_HASH$/i;
/** What comes before a reference that is the password of a URL: scheme://user: */
const URL_PASSWORD_BEFORE = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:$/i;

/** One problem in a YAML file, printed as `file:line: path: message`. */
export interface SourceProblem {
  file: string;
  line: number;
  path: string;
  message: string;
}

export function formatProblem(p: SourceProblem): string {
  return `${p.file}:${p.line}: ${p.path || '(root)'}: ${p.message}`;
}

export class SourceError extends Error {
  constructor(readonly problems: SourceProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SourceError';
  }
}

/** A parsed YAML document that can say on which line any path sits. */
export class YamlSource {
  private readonly lines = new LineCounter();
  readonly doc: Document;

  constructor(readonly file: string, text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  static read(file: string): YamlSource {
    return new YamlSource(file, readFileSync(file, 'utf8'));
  }

  syntaxProblems(): SourceProblem[] {
    return this.doc.errors.map((e) => ({
      file: this.file,
      line: e.linePos?.[0]?.line ?? 1,
      path: '',
      message: `YAML: ${e.message.split('\n')[0]}`,
    }));
  }

  /** Line of the node at `path`, or of its nearest existing parent. */
  lineOf(path: readonly PropertyKey[]): number {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n) as unknown[], true) as Node | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return 1;
  }

  /**
   * Replaces `${NAME}` and `${NAME:-default}` in string scalars with environment values, in place.
   * Secrets stay out of the file; a missing variable is a problem at its line, never an empty password.
   * A secret variable (one that feeds a password, token or secret field, or is named like one) is refused
   * anywhere else: written into a device name it would come back in clear through the API and the logs.
   */
  substituteEnv(env: NodeJS.ProcessEnv): SourceProblem[] {
    const problems: SourceProblem[] = [];
    const secretVars = new Set<string>();
    this.eachString((value, path) => {
      if (isSecretKey(String(path[path.length - 1] ?? ''))) for (const m of value.matchAll(ENV_REF)) secretVars.add(m[1]!);
    });
    this.eachString((value, path, node) => {
      const secretField = isSecretKey(String(path[path.length - 1] ?? ''));
      // An unquoted scalar that is exactly one reference takes the type its value reads as (port: ${PORT}).
      const whole = node.type === 'PLAIN' && /^\$\{[^}]+\}$/.test(value);
      const next = value.replace(ENV_REF, (_ref: string, name: string, dflt: string | undefined, at: number) => {
        if (!secretField && (secretVars.has(name) || SECRET_NAME.test(name)) && !URL_PASSWORD_BEFORE.test(value.slice(0, at))) {
          problems.push(this.problem(path, `environment variable ${name} holds a secret: use it only in a password, token or secret field (or as the password of a URL), where the API and the logs never show it`));
          return '';
        }
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (dflt !== undefined) return dflt;
        problems.push(this.problem(path, `environment variable ${name} is not set`));
        return '';
      });
      node.value = next;
      if (whole) {
        if (/^-?\d+(\.\d+)?$/.test(next)) node.value = Number(next);
        else if (next === 'true' || next === 'false') node.value = next === 'true';
      }
    });
    return problems;
  }

  /** Calls `fn` for every string scalar that holds a `${...}` reference, with its path. */
  private eachString(fn: (value: string, path: (string | number)[], node: Scalar) => void): void {
    const visit = (node: unknown, path: (string | number)[]): void => {
      if (isScalar(node)) {
        if (typeof node.value === 'string' && node.value.includes('${')) fn(node.value, path, node);
      } else if (isMap(node)) {
        for (const pair of node.items) visit(pair.value, [...path, isScalar(pair.key) ? String(pair.key.value) : String(pair.key)]);
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => visit(item, [...path, i]));
      }
    };
    visit(this.doc.contents, []);
  }

  /** Aliases expand into copies: a few lines of anchors can ask for billions of nodes ("billion laughs"). */
  toJS(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      if (!(e instanceof ReferenceError) || !/alias/i.test(e.message)) throw e;
      let at = 0;
      visit(this.doc, { Alias: (_k, n) => ((at = n.range?.[0] ?? 0), visit.BREAK) });
      throw new SourceError([{ file: this.file, line: this.lines.linePos(at).line, path: '', message: `the YAML expands too many aliases (limit ${MAX_ALIAS_COUNT}): refused as a possible alias bomb` }]);
    }
  }

  /** Validates with a zod schema; every issue becomes a problem with its line. */
  validate<T extends z.ZodType>(schema: T, pathPrefix: (string | number)[] = []): { value?: z.output<T>; problems: SourceProblem[] } {
    const result = schema.safeParse(this.toJS());
    if (result.success) return { value: result.data, problems: [] };
    return { problems: result.error.issues.map((i) => this.problem([...pathPrefix, ...(i.path as (string | number)[])], i.message)) };
  }

  problem(path: readonly PropertyKey[], message: string): SourceProblem {
    return { file: this.file, line: this.lineOf(path), path: dotted(path), message };
  }
}

export function dotted(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

/** Reads and parses a YAML file; a file that cannot be read or parsed is a SourceError naming the line. */
export function openYaml(file: string): YamlSource {
  let src: YamlSource;
  try {
    src = YamlSource.read(file);
  } catch (e) {
    throw new SourceError([{ file, line: 1, path: '', message: `cannot read: ${(e as Error).message}` }]);
  }
  const syntax = src.syntaxProblems();
  if (syntax.length) throw new SourceError(syntax);
  return src;
}

/**
 * Reads every `*.yaml` file in the folders (not recursing) as one `schema` object each, keyed by its id:
 * knowledge-as-data folders (device profiles, camera profiles). Every problem of every file is reported
 * together, as file:line; an id defined twice is one of them.
 */
export function loadYamlFolder<T extends z.ZodType>(dirs: string[], schema: T, what: string, idOf: (v: z.output<T>) => string): Map<string, { value: z.output<T>; file: string }> {
  const out = new Map<string, { value: z.output<T>; file: string }>();
  const problems: SourceProblem[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
    } catch (e) {
      problems.push({ file: dir, line: 1, path: '', message: `cannot read ${what} folder: ${(e as Error).message}` });
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
      const { value, problems: p } = src.validate(schema);
      if (value === undefined) {
        problems.push(...p);
        continue;
      }
      const id = idOf(value);
      const existing = out.get(id);
      if (existing) {
        problems.push(src.problem(['id'], `${what} id "${id}" is also defined in ${existing.file}`));
        continue;
      }
      out.set(id, { value, file });
    }
  }
  if (problems.length) throw new SourceError(problems);
  return out;
}
