import { z } from 'zod';
import { Alarm } from './messages/alarm.js';
import { Availability } from './messages/availability.js';
import { CommandReply } from './messages/command.js';
import { VisionEvent } from './messages/event.js';
import { CaseReport } from './messages/report.js';
import { GatewayStatus } from './messages/status.js';
import { Telemetry } from './messages/telemetry.js';

export * from './common.js';
export * from './topics.js';
export * from './messages/alarm.js';
export * from './messages/availability.js';
export * from './messages/command.js';
export * from './messages/event.js';
export * from './messages/report.js';
export * from './messages/status.js';
export * from './messages/telemetry.js';
export { buildAsyncApi } from './asyncapi.js';
export { uuidv7 } from './uuidv7.js';
export { redactUrl } from './broker-url.js';

/** Every uplink message, discriminated by `type`. */
export const UplinkMessage = z.discriminatedUnion('type', [GatewayStatus, Telemetry, Alarm, VisionEvent, CaseReport, Availability, CommandReply]);
export type UplinkMessage = z.infer<typeof UplinkMessage>;
export type UplinkType = UplinkMessage['type'];

/** Message schemas by name, as exported to JSON Schema files. */
export const messageSchemas = {
  status: GatewayStatus,
  telemetry: Telemetry,
  alarm: Alarm,
  event: VisionEvent,
  report: CaseReport,
  availability: Availability,
  'cmd-reply': CommandReply,
} as const;
