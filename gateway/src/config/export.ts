import { z } from 'zod';
import { GatewayConfig } from './schema.js';
import { DeviceProfile } from '../profiles/schema.js';

type Json = Record<string, unknown>;

/** JSON Schema of what a user writes (input side: fields with defaults are optional). */
export function configJsonSchema(): Json {
  return {
    ...(z.toJSONSchema(GatewayConfig, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Json),
    $id: 'https://gridgate.dev/schemas/gateway-config.schema.json',
    title: 'GridGate gateway config',
  };
}

export function profileJsonSchema(): Json {
  return {
    ...(z.toJSONSchema(DeviceProfile, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Json),
    $id: 'https://gridgate.dev/schemas/device-profile.schema.json',
    title: 'GridGate device profile',
  };
}

/** A Markdown reference of every config field, from the same schema: path, type, default, description. */
export function configReference(schema: Json, title: string, intro: string): string {
  const rows: string[] = [];
  const walk = (node: Json, path: string, required: boolean) => {
    const n = unwrap(node);
    if (path) rows.push(`| \`${path}\` | ${typeOf(n)} | ${required ? 'yes' : ''} | ${n.default !== undefined ? `\`${JSON.stringify(n.default)}\`` : ''} | ${String(n.description ?? '').replace(/\|/g, '\\|')} |`);
    if (n.type === 'object' && n.properties) {
      const req = new Set((n.required as string[] | undefined) ?? []);
      for (const [k, v] of Object.entries(n.properties as Record<string, Json>)) walk(v, path ? `${path}.${k}` : k, req.has(k));
    } else if (n.type === 'array' && n.items && unwrap(n.items as Json).type === 'object') {
      // The item row itself would say nothing the array row did not: list its fields only.
      const item = unwrap(n.items as Json);
      const req = new Set((item.required as string[] | undefined) ?? []);
      for (const [k, v] of Object.entries((item.properties ?? {}) as Record<string, Json>)) walk(v, `${path}[].${k}`, req.has(k));
    }
  };
  walk(schema, '', true);
  return `# ${title}\n\n${intro}\n\n| field | type | required | default | description |\n|---|---|---|---|---|\n${rows.join('\n')}\n`;
}

function unwrap(n: Json): Json {
  const any = (n.anyOf ?? n.oneOf) as Json[] | undefined;
  if (any && any.length === 1) return { ...any[0], ...n, anyOf: undefined };
  return n;
}

function typeOf(n: Json): string {
  if (n.enum) return (n.enum as unknown[]).map((e) => `\`${String(e)}\``).join(' \\| ');
  if (n.const !== undefined) return `\`${String(n.const)}\``;
  if (n.type === 'array') return `array of ${typeOf(unwrap((n.items ?? {}) as Json))}`;
  if (n.anyOf || n.oneOf) return ((n.anyOf ?? n.oneOf) as Json[]).map((x) => typeOf(unwrap(x))).join(' \\| ');
  if (n.pattern) return `${String(n.type)} (pattern)`;
  return String(n.type ?? 'any');
}
