import { dirname, isAbsolute, resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import { CaseStatus, DEFAULT_TOPIC_PREFIX } from '@gridgate/contract';

const Port = z.number().int().min(1).max(65535);
const Secret = z.union([z.string().min(1), z.number().transform(String)]).describe('Secret: write ${ENV_VAR} here, never the value itself');

export const BridgeConfig = z
  .object({
    instanceId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-"')
      .describe('This instance’s MQTT client id: keep it stable across restarts (the broker keeps its session and queued reports)'),
    timezone: z.string().default('Asia/Shanghai').describe('Time zone of the times shown in the inbox'),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') }).strict().default({ level: 'info' }),
    central: z
      .object({
        url: z.string().regex(/^(mqtts?|wss?):\/\//, 'use mqtt://, mqtts://, ws:// or wss://'),
        username: z.string().optional(),
        password: Secret.optional(),
        protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
        shareGroup: z
          .string()
          .regex(/^[^/#+$]+$/, 'a share name has no "/", "#", "+" or "$"')
          .nullable()
          .default('gridgate-bridge')
          .describe('MQTT 5 shared subscription group ($share/<group>/...): instances in one group split the reports. null: a plain subscription (brokers without shared subscriptions; run one instance)'),
        topicPrefix: z.string().regex(/^[^#+]+$/).default(DEFAULT_TOPIC_PREFIX),
        sessionExpiryS: z.number().int().min(0).default(7 * 24 * 3600).describe('How long the broker keeps this instance’s session (and reports queued for it) while it is down'),
        tls: z.object({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional() }).strict().optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .strict(),
    store: z.object({ file: z.string().default('./data/bridge.db').describe('SQLite file; instances on one host share it') }).strict().default({ file: './data/bridge.db' }),
    api: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('127.0.0.1'),
        port: Port.default(8090),
        token: Secret.optional().describe('Bearer token for /api/*, /inbox and /metrics (the browser may send it as the Basic-auth password). Without one they are refused'),
        metricsPublic: z.boolean().default(false),
      })
      .strict()
      .default({ enabled: true, host: '127.0.0.1', port: 8090, metricsPublic: false }),
    delivery: z
      .object({
        adapter: z.enum(['inbox', 'webhook', 'open311']).default('inbox').describe('Where cases go: the embedded local inbox (default), an HTTPS webhook, or an Open311 GeoReport v2 endpoint'),
        concurrency: z.number().int().min(1).max(64).default(4),
        timeoutMs: z.number().int().min(100).default(15_000).describe('A request to the case system that takes longer is abandoned and retried'),
        leaseS: z.number().positive().default(60).describe('A delivery claimed by an instance that died is taken over after this long'),
        orderHoldS: z.number().nonnegative().default(30).describe('A later status of a report waits this long for its `new` (arriving through another instance)'),
        retry: z
          .object({
            minMs: z.number().int().min(10).default(1000),
            maxMs: z.number().int().min(10).default(300_000).describe('Backoff cap: while the case system is down, about one attempt per this long'),
            giveUpAfterS: z.number().positive().default(7 * 24 * 3600).describe('Then the delivery moves to the dead letters (kept, retryable from the API)'),
          })
          .strict()
          .default({ minMs: 1000, maxMs: 300_000, giveUpAfterS: 7 * 24 * 3600 }),
      })
      .strict()
      .default({ adapter: 'inbox', concurrency: 4, timeoutMs: 15_000, leaseS: 60, orderHoldS: 30, retry: { minMs: 1000, maxMs: 300_000, giveUpAfterS: 7 * 24 * 3600 } }),
    webhook: z
      .object({
        url: z.string().regex(/^https?:\/\//, 'use https:// (http:// only on a trusted network)'),
        secret: Secret.describe('HMAC-SHA256 key for the X-GridGate-Signature header'),
        headers: z.record(z.string(), z.string()).default({}),
      })
      .strict()
      .optional(),
    open311: z
      .object({
        url: z.string().regex(/^https?:\/\//).describe('GeoReport v2 endpoint base, e.g. https://city.example/open311/v2'),
        apiKey: Secret.optional(),
        jurisdictionId: z.string().optional(),
        serviceCodes: z.record(z.string().regex(/^\d{4}$/), z.string().min(1)).default({}).describe('Category code (0102, 0505, ...) → the city’s service_code'),
        defaultServiceCode: z.string().optional().describe('For categories not in serviceCodes; without it such a report is a dead letter'),
        language: z.enum(['zh', 'en', 'both']).default('both').describe('Description language'),
        mediaBaseUrl: z.string().regex(/^https?:\/\//).optional().describe('Prefix for gateway-relative evidence references, to form media_url'),
        pollS: z.number().positive().default(60).describe('How often GET /requests is polled for status'),
      })
      .strict()
      .optional(),
    inbox: z
      .object({
        autoRegister: z.boolean().default(true).describe('Register (立案) each new report on arrival, as automatic sorting does'),
        closeOnVerified: z.boolean().default(true).describe('Close (结案) a case when the gateway verifies the fix'),
      })
      .strict()
      .default({ autoRegister: true, closeOnVerified: true }),
    forward: z
      .array(CaseStatus)
      .default(['registered', 'dispatched', 'handled', 'closed', 'rejected'])
      .describe('Case statuses sent back to the gateway (case.status command); handled starts its verification'),
    stats: z.object({ windowDays: z.number().positive().default(30) }).strict().default({ windowDays: 30 }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.delivery.adapter === 'webhook' && !c.webhook) ctx.addIssue({ code: 'custom', path: ['webhook'], message: 'delivery.adapter is webhook: configure webhook.url and webhook.secret' });
    if (c.delivery.adapter === 'open311' && !c.open311) ctx.addIssue({ code: 'custom', path: ['open311'], message: 'delivery.adapter is open311: configure open311.url and serviceCodes' });
    if (c.central.shareGroup && c.central.protocolVersion !== 5) ctx.addIssue({ code: 'custom', path: ['central', 'shareGroup'], message: 'shared subscriptions are MQTT 5: set protocolVersion: 5, or shareGroup: null for an MQTT 3.1.1 broker' });
  });
export type BridgeConfig = z.infer<typeof BridgeConfig>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Reads a bridge config: YAML, `${ENV}` / `${ENV:-default}` substitution, validation; problems as file:line: path: message. */
export function loadBridgeConfig(file: string, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([`${file}:1: cannot read: ${(e as Error).message}`]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (path: PropertyKey[]) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true) as Node | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) return lines.linePos(node.range[0]).line;
    }
    return 1;
  };
  const dotted = (path: PropertyKey[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(root)';
  if (doc.errors.length) throw new ConfigError(doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? 1}: YAML: ${e.message.split('\n')[0]}`));
  const problems: string[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      const whole = node.type === 'PLAIN' && /^\$\{[^}]+\}$/.test(node.value);
      node.value = node.value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, dflt?: string) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (dflt !== undefined) return dflt;
        problems.push(`${file}:${lineOf(path)}: ${dotted(path)}: environment variable ${name} is not set`);
        return '';
      });
      if (whole && typeof node.value === 'string' && /^-?\d+(\.\d+)?$/.test(node.value)) node.value = Number(node.value);
    } else if (isMap(node)) {
      for (const pair of node.items) visit(pair.value, [...path, isScalar(pair.key) ? String(pair.key.value) : String(pair.key)]);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    }
  };
  visit(doc.contents, []);
  const parsed = BridgeConfig.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const unset = new Set(problems.map((p) => p.split(': ')[1]));
    for (const i of parsed.error.issues) {
      const path = i.path as (string | number)[];
      if (!unset.has(dotted(path))) problems.push(`${file}:${lineOf(path)}: ${dotted(path)}: ${i.message}`);
    }
  }
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const c = parsed.data;
  const missing = Object.entries(c.central.tls ?? {}).filter(([, f]) => f && !existsSync(abs(f)));
  if (missing.length) throw new ConfigError(missing.map(([k, f]) => `${file}:${lineOf(['central', 'tls', k])}: central.tls.${k}: file not found: ${abs(f!)}`));
  return {
    ...c,
    store: { file: abs(c.store.file) },
    central: { ...c.central, ...(c.central.tls && { tls: Object.fromEntries(Object.entries(c.central.tls).map(([k, v]) => [k, v && abs(v)])) }) },
  };
}
