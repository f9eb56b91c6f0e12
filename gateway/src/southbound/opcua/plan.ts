import type { OpcuaEndpointConfig } from './config.js';
import type { Device, DeviceRegistry } from '../../model/devices.js';
import type { OpcuaDeadband } from '../../profiles/opcua-schema.js';

// Pure: which nodes each endpoint reads for which device and metric source, with what sampling.

export type NodeTarget = { nodeId: string } | { browsePath: string; root?: string };

export interface ItemPlan {
  deviceId: string;
  /** The metric source the value is handed over under (RawUplink values key). */
  source: string;
  metric: string;
  /** The raw type the value must have; undefined when the profile maps raw values (any scalar). */
  expected?: 'number' | 'boolean' | 'string';
  target: NodeTarget;
  samplingIntervalMs: number;
  publishingIntervalMs: number;
  deadband?: OpcuaDeadband;
  queueSize: number;
}

export interface EndpointPlan {
  endpoint: OpcuaEndpointConfig;
  deviceIds: string[];
  items: ItemPlan[];
}

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** Names of the {placeholders} in a node id template. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** Fills {name} placeholders; throws naming the missing ones. */
export function fillPlaceholders(template: string, vars: Readonly<Record<string, string>>): string {
  const missing = placeholders(template).filter((n) => !(n in vars));
  if (missing.length) throw new Error(`node id ${template} needs ${missing.map((n) => `opcua.vars.${n}`).join(', ')}`);
  return template.replace(PLACEHOLDER, (_m, n: string) => vars[n]!);
}

/** OPC-UA relative path text: "/2:A/2:B"; a path written without its leading "/" gets one. */
export function normaliseBrowsePath(p: string): string {
  const t = p.trim();
  return /^[/.<]/.test(t) ? t : `/${t}`;
}

/** The monitored items of one device, from its profile's opcua section and its binding. */
export function itemsOf(device: Device): ItemPlan[] {
  const section = device.profile.opcua;
  const binding = device.config.opcua;
  if (!section || !binding) return [];
  return device.profile.metrics.map((m) => {
    const n = section.nodes[m.source];
    if (!n) throw new Error(`device ${device.id}: profile ${device.profile.id} maps no node for "${m.source}"`);
    const target: NodeTarget = n.nodeId !== undefined
      ? { nodeId: fillPlaceholders(n.nodeId, binding.vars) }
      : { browsePath: normaliseBrowsePath(n.browsePath!), ...(binding.root && { root: binding.root }) };
    const numeric = m.type === 'number' && !m.map;
    const deadband = numeric ? n.deadband ?? section.deadband : undefined;
    return {
      deviceId: device.id,
      source: m.source,
      metric: m.name,
      ...(!m.map && { expected: m.type }),
      target,
      samplingIntervalMs: n.samplingIntervalMs ?? section.samplingIntervalMs,
      publishingIntervalMs: section.publishingIntervalMs,
      ...(deadband && { deadband }),
      queueSize: n.queueSize ?? 1,
    };
  });
}

/** Every configured endpoint with the devices bound to it and their items (an endpoint may have none yet). */
export function planEndpoints(endpoints: readonly OpcuaEndpointConfig[], devices: DeviceRegistry): EndpointPlan[] {
  return endpoints.map((endpoint) => {
    const bound = [...devices.byId.values()].filter((d) => d.config.opcua?.endpoint === endpoint.id);
    return { endpoint, deviceIds: bound.map((d) => d.id), items: bound.flatMap(itemsOf) };
  });
}

/** Items grouped by publishing interval: one subscription (or poll loop) each. */
export function byPublishingInterval(items: readonly ItemPlan[]): Map<number, ItemPlan[]> {
  const out = new Map<number, ItemPlan[]>();
  for (const it of items) {
    const g = out.get(it.publishingIntervalMs);
    if (g) g.push(it);
    else out.set(it.publishingIntervalMs, [it]);
  }
  return out;
}

/** A readable name of where a value comes from, for errors. */
export function describeTarget(t: NodeTarget): string {
  return 'nodeId' in t ? t.nodeId : `${t.root ?? 'Objects'}${t.browsePath}`;
}

/** nsu=<namespace URI>;… → ns=<its index on this server>;… (indexes may differ between servers and restarts, URIs do not). */
export function withNamespaceIndex(id: string, namespaces: readonly string[]): string {
  const m = /^nsu=([^;]+);(.*)$/.exec(id);
  if (!m) return id;
  const i = namespaces.indexOf(m[1]!);
  if (i < 0) throw new Error(`namespace ${m[1]} is not on the server (it has: ${namespaces.join(', ')})`);
  return `ns=${i};${m[2]}`;
}
