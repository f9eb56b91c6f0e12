import { stringify } from 'yaml';
import { DeviceProfile } from '../../profiles/schema.js';

// Pure: nodes a field engineer picked in `gridgate opcua browse` become a draft device profile that
// loads as it is (names, units and types filled in), for them to review and add alarm rules to.

export interface DraftNode {
  nodeId: string;
  /** Browse path from the browse root, OPC-UA text form: /1:Circuit1/1:Voltage */
  path: string;
  dataType: string;
  /** The server's EngineeringUnits display name or symbol, when it has one. */
  unit?: string;
  description?: string;
}

export interface DraftOptions {
  id: string;
  url: string;
  /** Use browse paths relative to the browse root (one profile for many identical cabinets) instead of node ids. */
  byPath: boolean;
  assetType?: string;
  componentCode?: string;
  reportingIntervalS?: number;
  publishingIntervalMs?: number;
  now?: Date;
}

const NUMERIC = new Set(['SByte', 'Byte', 'Int16', 'UInt16', 'Int32', 'UInt32', 'Int64', 'UInt64', 'Float', 'Double']);
const STRINGY = new Set(['String', 'LocalizedText', 'DateTime']);

/** Server unit → SenML unit and the factor to it. */
const UNITS: Array<[RegExp, string, number]> = [
  [/^(v|volt)$/i, 'V', 1],
  [/^(a|amp(ere)?)$/i, 'A', 1],
  [/^ma$/i, 'A', 0.001],
  [/^(w|watt)$/i, 'W', 1],
  [/^kw$/i, 'W', 1000],
  [/^kwh$/i, 'Wh', 1000],
  [/^wh$/i, 'Wh', 1],
  [/^hz$/i, 'Hz', 1],
  [/^(lx|lux)$/i, 'lx', 1],
  [/^(m|metre|meter)$/i, 'm', 1],
  [/^(mm)$/i, 'm', 0.001],
  [/^(cm)$/i, 'm', 0.01],
  [/^(m³\/h|m3\/h)$/i, 'm3/s', 1 / 3600],
  [/^(m³\/s|m3\/s)$/i, 'm3/s', 1],
  [/^(l\/s)$/i, 'm3/s', 0.001],
  [/^%$/, '%', 1],
  [/^(°c|degc|cel)$/i, 'Cel', 1],
  [/^pa$/i, 'Pa', 1],
  [/^kpa$/i, 'Pa', 1000],
  [/^mpa$/i, 'Pa', 1e6],
  [/^bar$/i, 'Pa', 1e5],
];

export function senmlUnit(unit: string | undefined): { unit: string; scale: number } | undefined {
  if (!unit) return undefined;
  const u = unit.trim();
  for (const [re, to, scale] of UNITS) if (re.test(u)) return { unit: to, scale };
  return undefined;
}

/** "/1:Circuit1/1:Voltage" → "circuit1_voltage". */
export function metricName(path: string): string {
  const words = path
    .split(/[/.]/)
    .filter(Boolean)
    .map((seg) => seg.replace(/^\d+:/, ''))
    .join('_')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  const name = words || 'value';
  return /^[a-z]/.test(name) ? name : `m_${name}`;
}

const round = (x: number) => Number(x.toPrecision(12));

/** The draft as a profile object; it validates against the profile schema (throws if it would not load). */
export function draftProfile(nodes: readonly DraftNode[], o: DraftOptions): { profile: DeviceProfile; skipped: string[] } {
  const skipped: string[] = [];
  const used = new Set<string>();
  const metrics: Array<Record<string, unknown>> = [];
  const opcuaNodes: Record<string, Record<string, unknown>> = {};
  for (const n of nodes) {
    const type = n.dataType === 'Boolean' ? 'boolean' : NUMERIC.has(n.dataType) ? 'number' : STRINGY.has(n.dataType) ? 'string' : undefined;
    if (!type) {
      skipped.push(`${n.path} (${n.nodeId}): ${n.dataType} values cannot be a metric`);
      continue;
    }
    let name = metricName(n.path);
    for (let i = 2; used.has(name); i++) name = `${metricName(n.path)}_${i}`;
    used.add(name);
    const u = type === 'number' ? senmlUnit(n.unit) : undefined;
    const notes = [n.description, n.unit && !u ? `server unit: ${n.unit}` : undefined, `${n.dataType} at ${n.path}`].filter(Boolean).join('; ');
    metrics.push({
      name,
      source: name,
      ...(type !== 'number' && { type }),
      ...(u && { unit: u.unit }),
      ...(u && u.scale !== 1 && { scale: round(u.scale) }),
      description: notes,
    });
    opcuaNodes[name] = o.byPath ? { browsePath: n.path } : { nodeId: n.nodeId };
  }
  if (!metrics.length) throw new Error(`none of the ${nodes.length} chosen node(s) holds a value a metric can carry${skipped.length ? `: ${skipped.slice(0, 5).join('; ')}` : ''}`);
  const raw = {
    id: o.id,
    vendor: 'Unknown (drafted)',
    model: `OPC-UA device at ${o.url}`,
    description: `Drafted by \`gridgate opcua browse ${o.url} --write-profile\` on ${(o.now ?? new Date()).toISOString().slice(0, 10)}. Review the metric names, units and plausible ranges, and add alarm rules.`,
    assetType: o.assetType ?? 'other',
    componentCode: o.componentCode ?? '0116',
    transport: 'opcua',
    reportingIntervalS: o.reportingIntervalS ?? 60,
    metrics,
    alarms: [{ id: 'offline', kind: 'offline', title: { zh: '设备数据中断', en: 'Device data missing' } }],
    opcua: { samplingIntervalMs: 1000, publishingIntervalMs: o.publishingIntervalMs ?? 1000, nodes: opcuaNodes },
  };
  const parsed = DeviceProfile.safeParse(raw);
  if (!parsed.success) throw new Error(`the draft does not validate: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { profile: parsed.data, skipped };
}

/** The YAML a field engineer edits: what the draft says, not the defaults it implies. */
export function draftYaml(nodes: readonly DraftNode[], o: DraftOptions): { text: string; skipped: string[]; metrics: number } {
  const { profile, skipped } = draftProfile(nodes, o);
  const doc = {
    id: profile.id,
    vendor: profile.vendor,
    model: profile.model,
    description: profile.description,
    assetType: profile.assetType,
    componentCode: profile.componentCode,
    transport: profile.transport,
    reportingIntervalS: profile.reportingIntervalS,
    metrics: profile.metrics.map((m) => ({
      name: m.name,
      source: m.source,
      ...(m.type !== 'number' && { type: m.type }),
      ...(m.unit && { unit: m.unit }),
      ...(m.scale !== 1 && { scale: m.scale }),
      ...(m.description && { description: m.description }),
    })),
    opcua: { samplingIntervalMs: profile.opcua!.samplingIntervalMs, publishingIntervalMs: profile.opcua!.publishingIntervalMs, nodes: profile.opcua!.nodes },
    alarms: [{ id: 'offline', kind: 'offline', title: { zh: '设备数据中断', en: 'Device data missing' } }],
  };
  const header = `# yaml-language-server: $schema=./profile.schema.json\n# Draft: review names, units and ranges, add alarm rules (see device-profiles/PROFILES.md).\n`;
  return { text: header + stringify(doc, { lineWidth: 0 }), skipped, metrics: profile.metrics.length };
}
