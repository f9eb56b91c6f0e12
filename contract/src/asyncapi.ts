import { z } from 'zod';
import { CONTRACT_VERSION } from './common.js';
import { Alarm } from './messages/alarm.js';
import { Availability } from './messages/availability.js';
import { Command, CommandReply } from './messages/command.js';
import { VisionEvent } from './messages/event.js';
import { CaseReport } from './messages/report.js';
import { GatewayStatus } from './messages/status.js';
import { Telemetry } from './messages/telemetry.js';

/** JSON Schema (draft 2020-12) of a contract schema: the same zod object the code validates with. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
}

interface ChannelSpec {
  name: string;
  address: string;
  params: string[];
  message: string;
  schema: z.ZodType;
  action: 'send' | 'receive';
  retained?: boolean;
  qos: 0 | 1;
  summary: string;
}

const channels: ChannelSpec[] = [
  { name: 'status', address: '{prefix}/{gatewayId}/status', params: ['prefix', 'gatewayId'], message: 'GatewayStatus', schema: GatewayStatus, action: 'send', retained: true, qos: 1, summary: 'Retained birth message; the retained Last Will says offline.' },
  { name: 'telemetry', address: '{prefix}/{gatewayId}/telemetry/{deviceId}', params: ['prefix', 'gatewayId', 'deviceId'], message: 'Telemetry', schema: Telemetry, action: 'send', qos: 1, summary: 'Normalized metrics of one device uplink, SI units.' },
  { name: 'alarm', address: '{prefix}/{gatewayId}/alarm/{deviceId}', params: ['prefix', 'gatewayId', 'deviceId'], message: 'Alarm', schema: Alarm, action: 'send', qos: 1, summary: 'Alarm lifecycle of one device.' },
  { name: 'event', address: '{prefix}/{gatewayId}/event/{cameraId}', params: ['prefix', 'gatewayId', 'cameraId'], message: 'VisionEvent', schema: VisionEvent, action: 'send', qos: 1, summary: 'Vision events of one camera with evidence references.' },
  { name: 'report', address: '{prefix}/{gatewayId}/report', params: ['prefix', 'gatewayId'], message: 'CaseReport', schema: CaseReport, action: 'send', qos: 1, summary: 'Case reports with unit-grid IDs for the city case system.' },
  { name: 'availability', address: '{prefix}/{gatewayId}/device/{deviceId}/availability', params: ['prefix', 'gatewayId', 'deviceId'], message: 'Availability', schema: Availability, action: 'send', retained: true, qos: 1, summary: 'Retained online/offline of one device, camera or endpoint.' },
  { name: 'cmd', address: '{prefix}/{gatewayId}/cmd', params: ['prefix', 'gatewayId'], message: 'Command', schema: Command, action: 'receive', qos: 1, summary: 'Commands from the central side: alarm ack, case status, config reload, snapshot request.' },
  { name: 'cmdReply', address: '{prefix}/{gatewayId}/cmd/reply', params: ['prefix', 'gatewayId'], message: 'CommandReply', schema: CommandReply, action: 'send', qos: 1, summary: 'Replies to commands, correlated by requestId.' },
];

const paramDocs: Record<string, string> = {
  prefix: 'Topic prefix, default gridgate/v1 (configurable per deployment; may contain "/")',
  gatewayId: 'The gateway id from its config',
  deviceId: 'Device id (or camera / OPC-UA endpoint id for availability)',
  cameraId: 'Camera id from the gateway config',
};

/** The AsyncAPI 3.0 document for the whole public contract, built from the zod schemas. */
export function buildAsyncApi(version: string): Record<string, unknown> {
  const doc = {
    asyncapi: '3.0.0',
    info: {
      title: 'GridGate gateway MQTT contract',
      version,
      'x-contract-version': CONTRACT_VERSION,
      description:
        'What a GridGate gateway publishes to the central broker and what it accepts back. Every message carries id (UUIDv7, the idempotency key), ts, gatewayId, seq (per gateway, +1 per message) and v (contract version). Device messages also carry gridId, location (WGS84) and the GB/T 30428 code.',
      license: { name: 'Apache-2.0' },
    },
    defaultContentType: 'application/json',
    servers: {
      central: { host: 'central.example:8883', protocol: 'mqtt', protocolVersion: '5.0', description: 'Central broker (TLS)' },
    },
    channels: {} as Record<string, unknown>,
    operations: {} as Record<string, unknown>,
    components: { messages: {} as Record<string, unknown>, schemas: {} as Record<string, unknown> },
  };
  for (const c of channels) {
    doc.components.schemas[c.message] = jsonSchemaOf(c.schema);
    doc.components.messages[c.message] = {
      name: c.message,
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${c.message}` },
      bindings: { mqtt: { bindingVersion: '0.2.0' } },
    };
    doc.channels[c.name] = {
      address: c.address,
      description: c.summary,
      parameters: Object.fromEntries(c.params.map((p) => [p, { description: paramDocs[p] }])),
      messages: { [c.message]: { $ref: `#/components/messages/${c.message}` } },
    };
    doc.operations[`${c.action}${c.name[0]!.toUpperCase()}${c.name.slice(1)}`] = {
      action: c.action,
      channel: { $ref: `#/channels/${c.name}` },
      summary: c.summary,
      bindings: { mqtt: { qos: c.qos, retain: c.retained ?? false, bindingVersion: '0.2.0' } },
    };
  }
  return doc;
}
