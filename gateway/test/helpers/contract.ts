import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { repoRoot } from './shared.js';

/**
 * Validators built from the exported JSON Schema files in contract/schemas: what a central-side consumer
 * would use. Validating against them (not the zod source) checks the published contract itself.
 */
export function contractValidators(): Map<string, ValidateFunction> {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const dir = join(repoRoot, 'contract', 'schemas');
  const out = new Map<string, ValidateFunction>();
  for (const f of readdirSync(dir)) {
    const name = f.replace(/\.schema\.json$/, '');
    out.set(name, ajv.compile(JSON.parse(readFileSync(join(dir, f), 'utf8')) as object));
  }
  return out;
}

/** Throws with ajv's errors when `msg` does not validate against the schema of its `type`. */
export function assertValidMessage(validators: Map<string, ValidateFunction>, msg: { type?: string }): void {
  const v = validators.get(String(msg.type));
  if (!v) throw new Error(`no schema for message type ${String(msg.type)}`);
  if (!v(msg)) throw new Error(`message of type ${String((msg as { type?: string }).type)} does not validate: ${JSON.stringify(v.errors)}\n${JSON.stringify(msg)}`);
}
