import { z } from 'zod';
import { TopicSafeId } from '@gridgate/contract';

// The `opcua:` section of a device profile: where each metric's source value lives in a server's
// address space, and how it is sampled. One line in profiles/schema.ts points here.

/** ns=2;s=Name, nsu=urn:x;i=42, i=2258, g=<guid>, b=<base64>; {name} placeholders are filled per device. */
export const NODE_ID_PATTERN = /^(ns=(\d+|\{[A-Za-z][A-Za-z0-9_]*\});|nsu=[^;]+;)?(i=(\d+|\{[A-Za-z][A-Za-z0-9_]*\})|s=.+|g=[0-9a-fA-F{}A-Za-z_-]+|b=.+)$/;

export const OpcuaDeadband = z
  .union([
    z.object({ absolute: z.number().nonnegative().describe('Report a change only when it exceeds this, in the raw unit') }).strict(),
    z.object({ percent: z.number().min(0).max(100).describe("Percent of the node's EURange (the server must publish one)") }).strict(),
  ])
  .describe('Deadband for numeric values: smaller changes are not reported');
export type OpcuaDeadband = z.infer<typeof OpcuaDeadband>;

export const OpcuaNodeRef = z
  .object({
    nodeId: z.string().regex(NODE_ID_PATTERN, 'a node id looks like ns=2;s=Cabinet.Door or ns=1;i=1001').optional(),
    browsePath: z
      .string()
      .min(1)
      .optional()
      .describe("Relative path from the device's root node, OPC-UA text form: /2:Circuit1/2:Voltage"),
    samplingIntervalMs: z.number().int().nonnegative().optional().describe("Overrides the profile's samplingIntervalMs"),
    deadband: OpcuaDeadband.optional().describe("Overrides the profile's deadband"),
    queueSize: z.number().int().min(1).max(100).optional().describe('Keep this many changes between publishes (1: the latest only)'),
  })
  .strict()
  .refine((n) => (n.nodeId === undefined) !== (n.browsePath === undefined), 'give either nodeId or browsePath');
export type OpcuaNodeRef = z.infer<typeof OpcuaNodeRef>;

export const OpcuaProfileSection = z
  .object({
    samplingIntervalMs: z.number().int().nonnegative().default(1000).describe('How often the server samples each node (0: as fast as it can)'),
    publishingIntervalMs: z.number().int().min(50).default(1000).describe('How often the server sends the changes; also the polling interval'),
    deadband: OpcuaDeadband.optional().describe('Default deadband of the numeric metrics'),
    nodes: z.record(z.string(), OpcuaNodeRef).describe("Node of each metric, keyed by the metric's source name"),
  })
  .strict()
  .describe('OPC-UA profiles: the node of each metric and how it is sampled');
export type OpcuaProfileSection = z.infer<typeof OpcuaProfileSection>;

// A device's `opcua:` binding: the endpoint it is read from, and the root and {name} values its profile's node ids
// start from. One line in model/device-config.ts points here.
export const OpcuaDeviceBinding = z
  .object({
    endpoint: TopicSafeId.describe('OPC-UA endpoint id (opcua.endpoints[].id)'),
    root: z
      .string()
      .min(1)
      .optional()
      .describe("Node id (ns=2;s=Cabinet07) or browse path from Objects (/2:Cabinet07) where the profile's browse paths start; default: the Objects folder"),
    vars: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), z.string())
      .default({})
      .describe("Values for {name} placeholders in the profile's node ids (e.g. {db: DB_Cab07})"),
  })
  .strict()
  .describe('Where an OPC-UA device is read: the endpoint, and the root of its nodes');
export type OpcuaDeviceBinding = z.infer<typeof OpcuaDeviceBinding>;

interface ProfileLike {
  transport: string;
  metrics: Array<{ name: string; source: string; type: 'number' | 'boolean' | 'string'; map?: unknown }>;
  opcua?: OpcuaProfileSection;
}

/** Cross-field checks of a profile's OPC-UA section (called from the profile schema's superRefine). */
export function checkOpcuaProfile(p: ProfileLike, ctx: z.RefinementCtx): void {
  if (p.transport !== 'opcua') {
    if (p.opcua) ctx.addIssue({ code: 'custom', path: ['opcua'], message: `only an opcua profile has an opcua section (transport is ${p.transport})` });
    return;
  }
  if (!p.opcua) {
    ctx.addIssue({ code: 'custom', path: ['opcua'], message: 'an opcua profile maps each metric source to a node: add opcua.nodes' });
    return;
  }
  const sources = new Map(p.metrics.map((m) => [m.source, m]));
  p.metrics.forEach((m, i) => {
    if (!(m.source in p.opcua!.nodes)) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'source'], message: `metric ${m.name} reads "${m.source}", which opcua.nodes does not map to a node` });
  });
  for (const [source, n] of Object.entries(p.opcua.nodes)) {
    const m = sources.get(source);
    if (!m) {
      ctx.addIssue({ code: 'custom', path: ['opcua', 'nodes', source], message: `no metric has source "${source}" (sources: ${[...sources.keys()].join(', ')})` });
      continue;
    }
    if (n.deadband && m.type !== 'number') ctx.addIssue({ code: 'custom', path: ['opcua', 'nodes', source, 'deadband'], message: `a deadband needs a numeric metric; ${m.name} is a ${m.type}` });
  }
}
