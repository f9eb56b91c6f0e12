import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Scalar } from 'yaml';
import type { z } from 'zod';
import { isSecretKey } from './redact.js';
import { envRefs } from './env-ref.js';

/** What one config may expand through aliases (yaml's count: nodes copied, weighted by size). */
const MAX_ALIAS_COUNT = 100;

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
      // prettyErrors is off (the messages stay one line), so the line comes from the error's offset.
      line: e.linePos?.[0]?.line ?? this.lines.linePos(e.pos[0]).line,
      path: e.code === 'DUPLICATE_KEY' ? dotted(this.keyPathAt(e.pos[0])) : '',
      message: `YAML: ${e.message.split('\n')[0]}${e.code === 'DUPLICATE_KEY' ? ' (this key is already set above in the same section)' : ''}`,
    }));
  }

  /** The path of the mapping key that starts at `offset` ([] when none does). */
  private keyPathAt(offset: number): (string | number)[] {
    const find = (node: unknown, path: (string | number)[]): (string | number)[] | undefined => {
      if (isMap(node)) {
        for (const p of node.items) {
          const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
          if ((p.key as Node | null)?.range?.[0] === offset) return [...path, k];
          const inner = find(p.value, [...path, k]);
          if (inner) return inner;
        }
      } else if (isSeq(node)) {
        for (const [i, item] of node.items.entries()) {
          const inner = find(item, [...path, i]);
          if (inner) return inner;
        }
      }
      return undefined;
    };
    return find(this.doc.contents, []) ?? [];
  }

  /** Only duplicate keys: the document still reads (the later value wins), so validation can go on and report the rest too. */
  onlyDuplicateKeys(): boolean {
    return this.doc.errors.every((e) => e.code === 'DUPLICATE_KEY');
  }

  /** Line of the key `key` in the mapping at `parent` (an unknown key sits there, not at its parent). */
  lineOfKey(parent: readonly PropertyKey[], key: string): number {
    const map = parent.length ? this.doc.getIn(parent as unknown[], true) : this.doc.contents;
    if (isMap(map)) {
      const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      const range = (pair?.key as Node | undefined)?.range;
      if (range) return this.lines.linePos(range[0]).line;
    }
    return this.lineOf(parent);
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
      if (isSecretKey(String(path[path.length - 1] ?? ''))) for (const m of value.matchAll(envRefs())) secretVars.add(m[1]!);
    });
    this.eachString((value, path, node) => {
      const secretField = isSecretKey(String(path[path.length - 1] ?? ''));
      // An unquoted scalar that is exactly one reference takes the type its value reads as (port: ${PORT}).
      const whole = node.type === 'PLAIN' && /^\$\{[^}]+\}$/.test(value);
      const next = value.replace(envRefs(), (_ref: string, name: string, dflt: string | undefined, at: number) => {
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

  /**
   * Validates with a zod schema; every issue becomes a problem with its line. An unknown key is a problem at
   * its own line, with the nearest known key as a suggestion. When the value does not validate, `salvaged` is
   * the value without the offending entries if that validates (so that later checks can still run and report
   * their problems in the same go); the `unset` paths (their variable is not set) get stop-gap values for it.
   */
  validate<T extends z.ZodType>(schema: T, pathPrefix: (string | number)[] = [], unset: ReadonlySet<string> = new Set()): { value?: z.output<T>; salvaged?: z.output<T>; problems: SourceProblem[] } {
    const js = this.toJS();
    const result = schema.safeParse(js);
    if (result.success) return { value: result.data, problems: [] };
    const problems = result.error.issues.flatMap((i): SourceProblem[] => {
      const at = [...pathPrefix, ...(i.path as (string | number)[])];
      if (i.code !== 'unrecognized_keys') return [this.problem(at, i.message)];
      const known = keysAt(schema, i.path as (string | number)[]);
      return i.keys.map((k) => ({ file: this.file, line: this.lineOfKey(at, k), path: dotted([...at, k]), message: unknownKeyMessage(k, known) }));
    });
    const salvaged = salvage(schema, js, result.error.issues, unset);
    return { problems, ...(salvaged !== undefined && { salvaged }) };
  }

  problem(path: readonly PropertyKey[], message: string): SourceProblem {
    return { file: this.file, line: this.lineOf(path), path: dotted(path), message };
  }
}

type ZodDef = { type: string; [k: string]: unknown };
const defOf = (s: unknown): ZodDef | undefined => (s as { _zod?: { def: ZodDef } })?._zod?.def;

/** The schemas a value at this schema can take, through optional, default, pipe, lazy and union. */
function unwrap(s: unknown): unknown[] {
  const d = defOf(s);
  if (!d) return [];
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return unwrap(d.innerType);
    case 'pipe':
      return unwrap(d.in);
    case 'lazy':
      return unwrap((d.getter as () => unknown)());
    case 'union':
      return (d.options as unknown[]).flatMap(unwrap);
    case 'intersection':
      return [...unwrap(d.left), ...unwrap(d.right)];
    default:
      return [s];
  }
}

/** The keys an object schema allows at `path` of a value (for "did you mean"). */
export function keysAt(schema: unknown, path: readonly (string | number)[]): string[] {
  let at = unwrap(schema);
  for (const seg of path) {
    at = at.flatMap((s) => {
      const d = defOf(s)!;
      if (d.type === 'object' && typeof seg === 'string') return unwrap((d.shape as Record<string, unknown>)[seg]);
      if (d.type === 'array' && typeof seg === 'number') return unwrap(d.element);
      if (d.type === 'record') return unwrap(d.valueType);
      return [];
    });
  }
  return [...new Set(at.flatMap((s) => (defOf(s)!.type === 'object' ? Object.keys(defOf(s)!.shape as object) : [])))];
}

/** Edit distance with transpositions (optimal string alignment). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known key a mistyped one most likely meant: same letters in another case or spelling, a few edits away. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/[-_]/g, '');
  const same = known.find((k) => norm(k) === norm(key));
  if (same) return same;
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d <= Math.max(1, Math.floor(Math.max(key.length, k.length) / 3)) && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const guess = suggestKey(key, known);
  if (guess) return `unknown key "${key}": did you mean "${guess}"?`;
  return `unknown key "${key}"${known.length ? ` (known here: ${known.join(', ')})` : ''}`;
}

/**
 * The value without what the issues point at (unknown keys, invalid entries), revalidated a few rounds, when
 * that validates: a section with a typo must not hide the problems of the others. Array elements are never
 * removed (later checks name them by index); an issue that cannot be removed gives up.
 */
function salvage<T extends z.ZodType>(schema: T, value: unknown, first: z.core.$ZodIssue[], fill: ReadonlySet<string>): z.output<T> | undefined {
  let js: unknown = structuredClone(value);
  let issues = first;
  for (let round = 0; round < 8; round++) {
    let removed = 0;
    for (const i of issues) {
      const path = i.path as (string | number)[];
      if (fill.has(dotted(path)) && stopGap(schema, js, path)) {
        removed++;
        continue;
      }
      const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string | number, unknown>)[k] : undefined), js);
      const obj = i.code === 'unrecognized_keys' ? path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string | number, unknown>)[k] : undefined), js) : parent;
      const keys = i.code === 'unrecognized_keys' ? i.keys : [path[path.length - 1]];
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) continue;
      for (const k of keys) {
        if (k !== undefined && typeof k === 'string' && k in obj) {
          delete (obj as Record<string, unknown>)[k];
          removed++;
        }
      }
    }
    if (!removed) return undefined;
    const r = schema.safeParse(js);
    if (r.success) return r.data;
    issues = r.error.issues;
  }
  return undefined;
}

/** Values that stand in for an unset variable while the rest of the config is checked; never used to run. */
const STOP_GAPS: unknown[] = ['placeholder-value-0000', 'mqtt://placeholder.invalid:1883', 1, true];

/** Puts the first stop-gap the schema takes at `path` (whose variable is unset); false when none fits. */
function stopGap(schema: z.ZodType, js: unknown, path: (string | number)[]): boolean {
  const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string | number, unknown>)[k] : undefined), js);
  const key = path[path.length - 1];
  if (!parent || typeof parent !== 'object' || key === undefined) return false;
  const at = parent as Record<string | number, unknown>;
  const was = at[key];
  for (const v of STOP_GAPS) {
    at[key] = v;
    const r = schema.safeParse(js);
    if (r.success || !r.error.issues.some((i) => dotted(i.path as (string | number)[]) === dotted(path))) return true;
  }
  at[key] = was;
  return false;
}

export function dotted(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

/**
 * Reads and parses a YAML file; a file that cannot be read or parsed is a SourceError naming the line.
 * `duplicateKeysOk`: a file whose only syntax problem is a duplicate key is returned (the caller reports
 * `syntaxProblems()` together with the rest).
 */
export function openYaml(file: string, o: { duplicateKeysOk?: boolean } = {}): YamlSource {
  let src: YamlSource;
  try {
    src = YamlSource.read(file);
  } catch (e) {
    throw new SourceError([{ file, line: 1, path: '', message: `cannot read: ${(e as Error).message}` }]);
  }
  const syntax = src.syntaxProblems();
  if (syntax.length && !(o.duplicateKeysOk && src.onlyDuplicateKeys())) throw new SourceError(syntax);
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
