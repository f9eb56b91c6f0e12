import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Scalar } from 'yaml';
import { envReference } from './env-ref.js';

/**
 * Secrets in config text shown over the API: passwords, password hashes, tokens and fleet secrets become
 * `<redacted>`, and a save that still says `<redacted>` keeps the value the file has. The text is edited in
 * place (comments, order and layout stay), and a `${ENV_VAR}` reference is shown as it is: it names a
 * secret without holding it.
 */
export const REDACTED = '<redacted>';

/** Keys whose values are secrets (the same rule that gives unset secrets placeholders in safe-write). */
export function isSecretKey(key: string): boolean {
  return /password|secret|token/i.test(key);
}

/** scheme://user:password@host: a URL with a password in it is a secret as a whole. */
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:([^/@\s]+)@/i;

/** devices[id=pump-1].credentials.passwordHash: list items by their id, so a reordered list still matches. */
function where(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : p.startsWith('[') || i === 0 ? p : `.${p}`)).join('');
}

interface Found {
  /** Where the value sits: map keys, and list items by their `id` where they have one ([id=pump-1]), else by index. */
  path: string;
  node: Scalar;
  start: number;
  end: number;
}

function secretValue(key: string, node: Scalar): boolean {
  const v = node.value;
  if (v === null || v === undefined || v === '') return false;
  const s = String(v);
  if (envReference(s, { bare: true })) return false;
  if (isSecretKey(key)) return true;
  const pw = typeof v === 'string' ? URL_PASSWORD.exec(s)?.[1] : undefined;
  return !!pw && !envReference(pw, { bare: true });
}

/** A config is a few levels deep; a hostile text nested thousands deep is not walked (it does not load either). */
const MAX_DEPTH = 64;

/** Every scalar in the document that `want` picks, with its path and source range. */
function scan(text: string, want: (key: string, node: Scalar) => boolean): { found: Found[]; lines: LineCounter; ok: boolean } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const found: Found[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (path.length > MAX_DEPTH) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const v = pair.value;
        if (isScalar(v) && v.range && want(key, v)) found.push({ path: where([...path, key]), node: v, start: v.range[0], end: v.range[1] });
        else visit(v, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const id = isMap(item) ? item.get('id') : undefined;
        const at = [...path, typeof id === 'string' || typeof id === 'number' ? `[id=${id}]` : i];
        if (isScalar(item) && item.range && want('', item)) found.push({ path: where(at), node: item, start: item.range[0], end: item.range[1] });
        else visit(item, at);
      });
    }
  };
  visit(doc.contents, []);
  return { found, lines, ok: doc.errors.length === 0 };
}

/** Replaces ranges (found in one text) from the end, so earlier offsets stay valid. */
function splice(text: string, edits: Array<{ start: number; end: number; with: string }>): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.with + out.slice(e.end);
  return out;
}

/**
 * For a file that does not parse (hand-edited since the gateway loaded it): what the parser could still
 * place is redacted as above, and then anything that reads like `somePassword: value` or a password in a
 * URL, to the end of its line. Too much goes rather than too little; the file is broken anyway.
 */
const SECRET_KEY_VALUE = /((?:^|[\s{,])["']?[\w-]*(?:password|secret|token)[\w-]*["']?[ \t]*:[ \t]+)(?!\$\{[A-Za-z_][A-Za-z0-9_]*\}[ \t]*(?:[,}#]|$))([^\s#][^\n]*?)(?=[ \t]+#|$)/gim;
const SECRET_IN_URL = /(\b[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:)(?!\$\{)[^/@\s]+@/gi;

/** The config text with every secret value replaced by `<redacted>`. */
export function redactConfigText(text: string): string {
  const { found, ok } = scan(text, secretValue);
  const out = splice(
    text,
    found.map((f) => {
      // A block scalar's range runs to its last line break: keep the break.
      const raw = text.slice(f.start, f.end);
      return { start: f.start, end: f.end, with: REDACTED + (/\n+$/.exec(raw)?.[0] ?? '') };
    }),
  );
  return ok ? out : out.replace(SECRET_KEY_VALUE, `$1${REDACTED}`).replace(SECRET_IN_URL, `$1${REDACTED}@`);
}

export interface RedactedLeft {
  line: number;
  path: string;
  message: string;
}

/**
 * Puts the file's secrets back where an edited text still says `<redacted>` (same path). A `<redacted>`
 * with no secret at that path in the file (a new device, a renamed id) is a problem: the placeholder is
 * never written literally.
 */
export function restoreRedacted(edited: string, current: string): { text: string; problems: RedactedLeft[] } {
  if (!edited.includes(REDACTED)) return { text: edited, problems: [] };
  const placeholders = scan(edited, (_k, n) => n.value === REDACTED);
  const secrets = new Map(scan(current, secretValue).found.map((f) => [f.path, f]));
  const problems: RedactedLeft[] = [];
  const edits = placeholders.found.flatMap((p) => {
    const was = secrets.get(p.path);
    if (!was) {
      problems.push({ line: placeholders.lines.linePos(p.start).line, path: p.path, message: `still says ${REDACTED}, and the config file has no secret here to keep: write the value (or a \${ENV_VAR})` });
      return [];
    }
    const raw = current.slice(was.start, was.end);
    // The value as it was written, where it fits on the line; a block scalar goes back as one quoted line.
    return [{ start: p.start, end: p.end, with: raw.includes('\n') ? JSON.stringify(String(was.node.value)) : raw }];
  });
  return { text: splice(edited, edits), problems };
}
