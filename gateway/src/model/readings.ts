import type { RawFields } from '../profiles/codecs/codec.js';
import type { MetricValue } from '../profiles/schema.js';

/** What a southbound source hands to the pipeline, before decoding. */
export type UplinkContent =
  | { kind: 'bytes'; bytes: Uint8Array; fPort: number }
  | { kind: 'json'; text: string }
  | { kind: 'values'; values: RawFields };

export interface RawUplink {
  deviceId: string;
  /** Where it came from: the embedded broker, an LNS connection id, an OPC-UA endpoint id, ... */
  source: string;
  receivedAt: number;
  /** When the device or network server observed it, when the message says so. */
  observedAt?: number;
  content: UplinkContent;
}

export type { MetricValue };
export interface CanonicalMetric {
  value: MetricValue;
  unit?: string;
}

export interface DecodedUplink {
  deviceId: string;
  profileId: string;
  observedAt: number;
  /** The vendor's own field names and values. */
  raw: RawFields;
  /** Canonical names, SI units. */
  metrics: Record<string, CanonicalMetric>;
}

/** Why an input was refused; counted per device in status and metrics. */
export type RejectReason =
  | 'malformed-json'
  | 'wrong-type'
  | 'non-finite'
  | 'out-of-range'
  | 'codec-mismatch'
  | 'no-metrics'
  | 'too-large'
  | 'unknown-device'
  | 'acl-denied'
  | 'rate-limited'
  | 'auth-failed'
  /** A CONNECT refused for something other than its credentials: protocol version, client id, limits. */
  | 'connect-refused'
  | 'bad-envelope'
  | 'bad-status';

export class Rejection extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'Rejection';
  }
}
