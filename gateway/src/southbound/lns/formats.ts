// Uplink messages of LoRaWAN network servers' MQTT integrations, parsed into one shape. Pure.
// The Things Stack v3: https://www.thethingsindustries.com/docs/integrations/data-formats/
// ChirpStack v4:       https://www.chirpstack.io/docs/chirpstack/integrations/events.html
// ChirpStack v3 (Application Server): https://www.chirpstack.io/docs/v3/application-server/integrations/events.html
// All use the protobuf JSON mapping, which omits zero values: no f_port/fPort means port 0.
import { Rejection } from '../../model/readings.js';
import { capText } from '../../util/cap.js';

/** Which network server's message form an uplink came in. */
export type LnsFormat = 'ttn-v3' | 'chirpstack-v3' | 'chirpstack-v4';

/** The form in words, for logs and `gridgate decode`. */
export const LNS_FORMAT_NAMES: Readonly<Record<LnsFormat, string>> = {
  'ttn-v3': 'The Things Stack v3',
  'chirpstack-v3': 'ChirpStack v3 (Application Server)',
  'chirpstack-v4': 'ChirpStack v4',
};

export interface LnsUplink {
  format: LnsFormat;
  /** Lower-case hex, 16 characters. */
  devEui: string;
  deviceName?: string;
  applicationId?: string;
  fPort: number;
  bytes: Uint8Array;
  /** When the network server received it (ms since the epoch). */
  observedAt?: number;
  /** Best gateway's RSSI (dBm) and that gateway's SNR (dB). */
  rssi?: number;
  snr?: number;
}

export type LnsKind = 'ttn-v3' | 'chirpstack-v4';

/** Default uplink subscriptions per network server kind. */
export const LNS_UPLINK_TOPICS: Readonly<Record<LnsKind, string>> = {
  'ttn-v3': 'v3/+/devices/+/up',
  'chirpstack-v4': 'application/+/device/+/event/up',
};

/**
 * An uplink with nothing for a codec: fPort 0 (MAC commands only) or an empty application payload.
 * Normal LoRaWAN traffic, not bad input; callers may drop it quietly instead of counting a rejection.
 */
export class EmptyUplink extends Rejection {
  constructor(message: string) {
    super('bad-envelope', message);
    this.name = 'EmptyUplink';
  }
}

type Json = Record<string, unknown>;

const bad = (message: string): Rejection => new Rejection('bad-envelope', message);

/** A value the sender chose, for an error message: short, and never itself an error (deep nesting, cycles). */
function preview(v: unknown): string {
  try {
    return capText(JSON.stringify(v) ?? String(v), 60);
  } catch {
    return `(an unprintable ${typeof v})`;
  }
}

function parseObject(text: string, what: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(`${what} message is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} message must be a JSON object`);
  return v as Json;
}

function obj(o: Json, key: string, path: string): Json | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(`${path} must be an object`);
  return v as Json;
}

function str(o: Json | undefined, key: string, path: string): string | undefined {
  const v = o?.[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw bad(`${path} must be a string, got ${preview(v)}`);
  return v;
}

function devEuiOf(v: string | undefined, path: string): string {
  if (v === undefined) throw bad(`${path} is missing: the uplink does not say which device sent it`);
  if (!/^[0-9a-fA-F]{16}$/.test(v)) throw bad(`${path} must be 16 hex digits, got ${preview(v)}`);
  return v.toLowerCase();
}

function fPortOf(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0; // omitted zero value
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) throw bad(`${path} must be an integer 0…255, got ${preview(v)}`);
  return v;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function payloadOf(v: unknown, fPort: number, path: string, portPath: string): Uint8Array {
  if (fPort === 0) throw new EmptyUplink(`${portPath} is 0 (or absent): a MAC-only uplink carries no application payload to decode`);
  if (v === undefined || v === null || v === '') throw new EmptyUplink(`${path} is absent: the uplink on fPort ${fPort} carries no application payload`);
  if (typeof v !== 'string' || !BASE64.test(v)) throw bad(`${path} must be base64 text, got ${preview(v)}`);
  return Uint8Array.from(Buffer.from(v, 'base64'));
}

// RFC 3339 as both servers write it (nanoseconds allowed); Date.parse alone also takes local-time forms.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

function timeOf(v: string | undefined, path: string): number | undefined {
  if (v === undefined) return undefined;
  const t = RFC3339.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw bad(`${path} must be an RFC 3339 UTC timestamp, got ${preview(v)}`);
  return t;
}

/** Strongest gateway's RSSI and its SNR. Radio metadata is advisory: malformed entries are skipped, never fatal. */
function bestRadio(list: unknown, rssiKeys: readonly string[], snrKey = 'snr'): { rssi?: number; snr?: number } {
  let best: { rssi?: number; snr?: number } = {};
  if (!Array.isArray(list)) return best;
  for (const e of list) {
    if (typeof e !== 'object' || e === null) continue;
    const m = e as Json;
    const rssi = rssiKeys.map((k) => m[k]).find((x): x is number => typeof x === 'number' && Number.isFinite(x));
    if (rssi === undefined || (best.rssi !== undefined && rssi <= best.rssi)) continue;
    const snr = m[snrKey];
    best = typeof snr === 'number' && Number.isFinite(snr) ? { rssi, snr } : { rssi };
  }
  return best;
}

/** Drops absent optional fields, so a message without them has no such keys at all. */
function compact(up: LnsUplink): LnsUplink {
  for (const k of Object.keys(up) as (keyof LnsUplink)[]) if (up[k] === undefined) delete up[k];
  return up;
}

/**
 * The Things Stack v3 uplink: topic `v3/{application id}[@{tenant}]/devices/{device id}/up`.
 * An empty topic skips the topic checks (e.g. a message pasted into `gridgate decode`).
 */
export function parseTtnV3Uplink(topic: string, text: string): LnsUplink {
  let topicApp: string | undefined;
  let topicDevice: string | undefined;
  if (topic) {
    const m = /^v3\/([^/]+)\/devices\/([^/]+)\/up$/.exec(topic);
    if (!m) throw bad(`topic ${capText(topic)} is not a The Things Stack uplink topic (v3/{application}@{tenant}/devices/{device}/up)`);
    topicApp = m[1]!.split('@')[0];
    topicDevice = m[2];
  }
  const msg = parseObject(text, 'The Things Stack');
  const ids = obj(msg, 'end_device_ids', 'end_device_ids');
  if (!ids) throw bad('end_device_ids is missing: not a The Things Stack device message');
  const up = obj(msg, 'uplink_message', 'uplink_message');
  if (!up) throw bad('uplink_message is missing: not an uplink (a join, downlink or service event?)');
  const deviceName = str(ids, 'device_id', 'end_device_ids.device_id') ?? topicDevice;
  if (topicDevice && deviceName !== topicDevice) throw bad(`end_device_ids.device_id "${capText(deviceName ?? '')}" does not match the topic's device "${capText(topicDevice)}"`);
  const devEui = devEuiOf(str(ids, 'dev_eui', 'end_device_ids.dev_eui'), 'end_device_ids.dev_eui');
  const applicationId = str(obj(ids, 'application_ids', 'end_device_ids.application_ids'), 'application_id', 'end_device_ids.application_ids.application_id') ?? topicApp;
  const fPort = fPortOf(up.f_port, 'uplink_message.f_port');
  const bytes = payloadOf(up.frm_payload, fPort, 'uplink_message.frm_payload', 'uplink_message.f_port');
  const observedAt = timeOf(str(up, 'received_at', 'uplink_message.received_at'), 'uplink_message.received_at') ?? timeOf(str(msg, 'received_at', 'received_at'), 'received_at');
  return compact({ format: 'ttn-v3', devEui, deviceName, applicationId, fPort, bytes, observedAt, ...bestRadio(up.rx_metadata, ['rssi', 'channel_rssi']) });
}

/**
 * ChirpStack uplink event (JSON marshaler), v4 or v3 — many cities still run v3's Application Server. Topic
 * `application/{application id}/device/{devEui}/event/up` (v3 before 3.0: `…/rx`). An empty topic skips the
 * topic checks. v4 carries `deviceInfo`; v3 has `devEUI` (hex, or base64 from the protobuf JSON marshaler),
 * `applicationID` and `deviceName` at the top, and `loRaSNR` in its radio metadata.
 */
export function parseChirpStackUp(topic: string, text: string): LnsUplink {
  let topicApp: string | undefined;
  let topicEui: string | undefined;
  if (topic) {
    const m = /^application\/([^/]+)\/device\/([^/]+)\/(?:event\/up|rx)$/.exec(topic);
    if (!m) throw bad(`topic ${capText(topic)} is not a ChirpStack uplink topic (application/{application id}/device/{devEui}/event/up)`);
    topicApp = m[1];
    topicEui = m[2]!.toLowerCase();
  }
  const msg = parseObject(text, 'ChirpStack');
  const info = obj(msg, 'deviceInfo', 'deviceInfo');
  const v3 = !info && msg.devEUI !== undefined;
  if (!info && !v3) throw bad('neither a ChirpStack v4 event (deviceInfo) nor a v3 uplink (devEUI): a join, status or ack event, or protobuf encoding?');
  const what = v3 ? 'ChirpStack v3 uplink' : 'ChirpStack v4 event';
  const devEui = v3 ? v3DevEui(msg.devEUI) : devEuiOf(str(info, 'devEui', 'deviceInfo.devEui'), 'deviceInfo.devEui');
  const euiPath = v3 ? 'devEUI' : 'deviceInfo.devEui';
  if (topicEui && devEui !== topicEui) throw bad(`${what}: ${euiPath} ${devEui} does not match the topic's DevEUI ${capText(topicEui)}`);
  const fPort = fPortOf(msg.fPort, 'fPort');
  const bytes = payloadOf(msg.data, fPort, 'data', 'fPort');
  const applicationId = v3 ? (typeof msg.applicationID === 'number' ? String(msg.applicationID) : str(msg, 'applicationID', 'applicationID')) : str(info, 'applicationId', 'deviceInfo.applicationId');
  return compact({
    format: v3 ? 'chirpstack-v3' : 'chirpstack-v4',
    devEui,
    deviceName: v3 ? str(msg, 'deviceName', 'deviceName') : str(info, 'deviceName', 'deviceInfo.deviceName'),
    applicationId: applicationId ?? topicApp,
    fPort,
    bytes,
    observedAt: v3 ? v3Time(msg.rxInfo) : timeOf(str(msg, 'time', 'time'), 'time'),
    ...(v3 ? bestRadio(msg.rxInfo, ['rssi'], 'loRaSNR') : bestRadio(msg.rxInfo, ['rssi'])),
  });
}

/** v3's devEUI: hex (its json_v3 marshaler), or the 8 bytes in base64 (its protobuf JSON marshaler). */
function v3DevEui(v: unknown): string {
  if (typeof v === 'string' && !/^[0-9a-fA-F]{16}$/.test(v) && BASE64.test(v)) {
    const b = Buffer.from(v, 'base64');
    if (b.length === 8) return b.toString('hex');
  }
  return devEuiOf(typeof v === 'string' ? v : v === undefined ? undefined : preview(v), 'devEUI');
}

/** v3 has no event time: the earliest time a gateway gives in rxInfo, if any reads (advisory, never fatal). */
function v3Time(list: unknown): number | undefined {
  if (!Array.isArray(list)) return undefined;
  const times = list.map((e) => (e && typeof e === 'object' ? (e as Json).time : undefined)).filter((t): t is string => typeof t === 'string' && RFC3339.test(t));
  return times.length ? Math.min(...times.map((t) => Date.parse(t))) : undefined;
}

export function parseLnsUplink(kind: LnsKind, topic: string, text: string): LnsUplink {
  return kind === 'ttn-v3' ? parseTtnV3Uplink(topic, text) : parseChirpStackUp(topic, text);
}
