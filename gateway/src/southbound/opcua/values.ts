import type { RawFields } from '../../profiles/codecs/codec.js';
import type { RawUplink, RejectReason } from '../../model/readings.js';

// Pure: OPC-UA values become raw fields keyed by the profile's metric sources, batched per device.

/** Built-in OPC-UA DataType ids (Part 6, 5.1.2): the numbers node-opcua's Variant.dataType carries. */
export const UaType = {
  Null: 0,
  Boolean: 1,
  SByte: 2,
  Byte: 3,
  Int16: 4,
  UInt16: 5,
  Int32: 6,
  UInt32: 7,
  Int64: 8,
  UInt64: 9,
  Float: 10,
  Double: 11,
  String: 12,
  DateTime: 13,
  ByteString: 15,
  StatusCode: 19,
  LocalizedText: 21,
} as const;
const TYPE_NAMES = new Map<number, string>([
  ...Object.entries(UaType).map(([k, v]) => [v, k] as [number, string]),
  [14, 'Guid'], [16, 'XmlElement'], [17, 'NodeId'], [18, 'ExpandedNodeId'], [20, 'QualifiedName'], [22, 'ExtensionObject'], [23, 'DataValue'], [24, 'Variant'], [25, 'DiagnosticInfo'],
]);
export const uaTypeName = (t: number): string => TYPE_NAMES.get(t) ?? `DataType ${t}`;

/** What the connector reads off a node-opcua DataValue (kept structural so this stays pure and testable). */
export interface UaValue {
  dataType: number;
  isArray: boolean;
  value: unknown;
  /** StatusCode severity: good, uncertain or bad; with its name for messages. */
  status: 'good' | 'uncertain' | 'bad';
  statusText: string;
  sourceTimestamp?: Date | null;
  serverTimestamp?: Date | null;
}

export type Converted = { ok: true; value: number | boolean | string } | { ok: false; reason: RejectReason; message: string; skip?: boolean };

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** node-opcua carries 64-bit integers as [high, low] 32-bit words. */
function int64ToNumber(v: unknown, signed: boolean): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : undefined;
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [hi, lo] = v as [number, number];
  let big = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  if (signed && hi & 0x80000000) big -= 1n << 64n;
  return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : undefined;
}

const describe = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(v));

/**
 * One OPC-UA value as a raw field value, checked against what the profile expects. A Bad status is
 * not a value: it is refused with the status name (a failed sensor behind the PLC, a node gone).
 */
export function convertValue(v: UaValue, expected: 'number' | 'boolean' | 'string' | undefined): Converted {
  if (v.status === 'bad') return { ok: false, reason: 'bad-status', message: `the server reports ${v.statusText} instead of a value` };
  if (v.dataType === UaType.Null || v.value === null || v.value === undefined) return { ok: false, reason: 'no-metrics', message: 'the node has no value yet', skip: true };
  if (v.isArray) return { ok: false, reason: 'wrong-type', message: `value is an array of ${uaTypeName(v.dataType)}; the profile expects a single ${expected ?? 'value'}` };
  let out: number | boolean | string;
  switch (v.dataType) {
    case UaType.Boolean:
      out = Boolean(v.value);
      break;
    case UaType.SByte: case UaType.Byte: case UaType.Int16: case UaType.UInt16: case UaType.Int32: case UaType.UInt32: case UaType.Float: case UaType.Double:
      out = Number(v.value);
      break;
    case UaType.Int64: case UaType.UInt64: {
      const n = int64ToNumber(v.value, v.dataType === UaType.Int64);
      if (n === undefined) return { ok: false, reason: 'out-of-range', message: `${uaTypeName(v.dataType)} value does not fit a JSON number exactly` };
      out = n;
      break;
    }
    case UaType.String:
      out = String(v.value);
      break;
    case UaType.LocalizedText:
      out = String((v.value as { text?: unknown }).text ?? '');
      break;
    case UaType.DateTime:
      out = v.value instanceof Date ? v.value.toISOString() : String(v.value);
      break;
    default:
      return { ok: false, reason: 'wrong-type', message: `value is a ${uaTypeName(v.dataType)}, which no metric can carry; the profile expects a ${expected ?? 'scalar'}` };
  }
  if (expected && typeof out !== expected) {
    return { ok: false, reason: 'wrong-type', message: `value is a ${uaTypeName(v.dataType)} (${describe(out)}); the profile expects a ${expected}` };
  }
  return { ok: true, value: out };
}

/** When the value was observed: the source timestamp, else the server's, else when it arrived. */
export function observedAt(v: Pick<UaValue, 'sourceTimestamp' | 'serverTimestamp'>, receivedAt: number): number {
  const t = v.sourceTimestamp?.getTime() ?? v.serverTimestamp?.getTime();
  // A PLC without a clock sends 1601-01-01 (OPC-UA's zero time): that is no observation time.
  return t !== undefined && Number.isFinite(t) && t > 946_684_800_000 ? t : receivedAt;
}

interface Pending {
  values: RawFields;
  observedAt: number;
}

/**
 * Collects the changes of one publish response (or one poll) and turns them into one raw uplink per
 * device, so 20 changed values of one cabinet make one telemetry message, not 20.
 */
export class ChangeBatcher {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly source: string) {}

  /** Adds a value; returns the uplink that had to be closed first when the same field changes twice. */
  add(deviceId: string, field: string, value: number | boolean | string, at: number, receivedAt: number): RawUplink | undefined {
    let p = this.pending.get(deviceId);
    let closed: RawUplink | undefined;
    if (p && Object.prototype.hasOwnProperty.call(p.values, field)) {
      closed = this.uplink(deviceId, p, receivedAt);
      p = undefined;
    }
    if (!p) this.pending.set(deviceId, (p = { values: {}, observedAt: at }));
    p.values[field] = value;
    if (at > p.observedAt) p.observedAt = at;
    return closed;
  }

  get size(): number {
    return this.pending.size;
  }

  flush(receivedAt: number): RawUplink[] {
    const out: RawUplink[] = [];
    for (const [deviceId, p] of this.pending) out.push(this.uplink(deviceId, p, receivedAt));
    this.pending.clear();
    return out;
  }

  private uplink(deviceId: string, p: Pending, receivedAt: number): RawUplink {
    return { deviceId, source: this.source, receivedAt, observedAt: p.observedAt, content: { kind: 'values', values: p.values } };
  }
}

/** A polled value is reported like a monitored item would be: on change beyond the deadband. */
export function changedEnough(prev: number | boolean | string | undefined, next: number | boolean | string, deadband?: { absolute: number } | { percent: number }, euRange?: { low: number; high: number }): boolean {
  if (prev === undefined) return true;
  if (typeof prev !== 'number' || typeof next !== 'number' || !deadband) return prev !== next;
  const limit = 'absolute' in deadband ? deadband.absolute : euRange ? ((euRange.high - euRange.low) * deadband.percent) / 100 : 0;
  return Math.abs(next - prev) > limit;
}
