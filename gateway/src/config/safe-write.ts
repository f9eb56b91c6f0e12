import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { loadConfig, type LoadedConfig } from './load.js';
import { isSecretKey } from '../util/redact.js';
import { envRefs } from '../util/env-ref.js';
import { SourceError, type SourceProblem } from '../util/yaml-source.js';
import type { ConfigWriter } from '../local/console/config-writer.js';

/** A config change refused because the result would not validate; the file on disk is unchanged. */
export class ConfigRefused extends Error {
  constructor(
    readonly file: string,
    readonly problems: SourceProblem[],
  ) {
    super(`${file} was not changed: the new config would not validate:\n${problems.map((p) => `${p.file}:${p.line}: ${p.path || '(root)'}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigRefused';
  }
}

export interface CheckOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * Secrets (passwords, tokens, hashes, the uplink URL) that are not set in `env` get placeholders, so that
   * an engineer can edit a site's config on a laptop that does not hold the site's secrets. Their values are
   * then not checked; `unset` lists them.
   */
  placeholders?: boolean;
}

export interface CheckResult {
  loaded?: LoadedConfig;
  problems: SourceProblem[];
  /** Variables the file uses that were not set (and got placeholders). */
  unset: string[];
}


/** A placeholder for an unset variable, by the key it is the value of; undefined where none is safe to invent. */
function placeholderFor(path: (string | number)[]): string | undefined {
  const key = String(path[path.length - 1] ?? '');
  if (key === 'passwordHash') return 'scrypt$16384$8$1$cGxhY2Vob2xkZXI$cGxhY2Vob2xkZXI';
  if (isSecretKey(key)) return 'placeholder-secret-value-0000';
  if (path[0] === 'uplink' && key === 'url') return 'mqtts://central.invalid:8883';
  if (path[0] === 'uplink' && key === 'username') return 'placeholder';
  return undefined;
}

/** The environment with placeholders for the unset secrets the YAML text refers to. */
export function placeholderEnv(text: string, env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; unset: string[] } {
  const doc = parseDocument(text);
  const out: NodeJS.ProcessEnv = { ...env };
  const unset: string[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (isScalar(node)) {
      if (typeof node.value !== 'string') return;
      for (const m of node.value.matchAll(envRefs())) {
        const name = m[1]!;
        if (m[2] !== undefined || (env[name] !== undefined && env[name] !== '') || unset.includes(name)) continue;
        const p = placeholderFor(path);
        if (p === undefined) continue;
        out[name] = p;
        unset.push(name);
      }
    } else if (isMap(node)) {
      for (const pair of node.items) visit(pair.value, [...path, isScalar(pair.key) ? String(pair.key.value) : String(pair.key)]);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    }
  };
  visit(doc.contents, []);
  return { env: out, unset };
}

function tempBeside(file: string): string {
  // Same folder: relative paths in the config resolve the same way, and rename() stays on one filesystem.
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function rename(problems: SourceProblem[], from: string, to: string): SourceProblem[] {
  return problems.map((p) => (p.file === from ? { ...p, file: to } : p));
}

/** Validates config text as if it were `file` (same folder, same relative paths), without touching `file`. */
export function checkConfigText(file: string, text: string, o: CheckOptions = {}): CheckResult {
  const base = o.env ?? process.env;
  const { env, unset } = o.placeholders ? placeholderEnv(text, base) : { env: base, unset: [] };
  const tmp = tempBeside(file);
  writeFileSync(tmp, text, { mode: 0o600 });
  try {
    return { loaded: loadConfig(tmp, env), problems: [], unset };
  } catch (e) {
    if (!(e instanceof SourceError)) throw e;
    return { problems: rename(e.problems, tmp, file), unset };
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Replaces a config file only with text that validates: written to a temporary file beside it, loaded with
 * loadConfig, flushed to disk, then renamed over the file in one step. A power cut or a refusal leaves the
 * old file whole. Throws ConfigRefused (file unchanged) when the text does not validate.
 */
export function writeConfigSafely(file: string, text: string, o: CheckOptions = {}): CheckResult {
  const base = o.env ?? process.env;
  const { env, unset } = o.placeholders ? placeholderEnv(text, base) : { env: base, unset: [] };
  let mode = 0o644;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    /* a new file */
  }
  const tmp = tempBeside(file);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(tmp, env);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof SourceError) throw new ConfigRefused(file, rename(e.problems, tmp, file));
    throw e;
  }
  renameSync(tmp, file);
  try {
    const dfd = openSync(dirname(file), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    /* not every filesystem lets a folder be synced */
  }
  return { loaded: { ...loaded, file }, problems: [], unset };
}

/** The console's ConfigWriter for one file, checked with the gateway's environment. */
export function configWriter(file: string, env: NodeJS.ProcessEnv): ConfigWriter {
  return {
    check: (text) => checkConfigText(file, text, { env }).problems,
    write: (text) => {
      try {
        writeConfigSafely(file, text, { env });
        return [];
      } catch (e) {
        if (e instanceof ConfigRefused) return e.problems;
        throw e;
      }
    },
  };
}
