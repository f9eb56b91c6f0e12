import { z } from 'zod';
import { envelopeShape, IsoUtc, MessageId } from '../common.js';

const base = { id: MessageId, ts: IsoUtc, replyTo: z.string().optional().describe('Topic for the reply; default {prefix}/{gatewayId}/cmd/reply') };

export const AlarmAckCommand = z
  .object({ ...base, command: z.literal('alarm.ack'), alarmId: z.string(), by: z.string().max(100), note: z.string().max(500).optional() })
  .strict();
/** Case statuses the city case system reports back: 立案, 派遣, 处置完毕, 结案, 作废. */
export const CaseStatus = z.enum(['registered', 'dispatched', 'handled', 'closed', 'rejected']);
export type CaseStatus = z.infer<typeof CaseStatus>;

export const CaseStatusCommand = z
  .object({
    ...base,
    command: z.literal('case.status'),
    reportId: z.string(),
    caseId: z.string().max(100).optional(),
    status: CaseStatus.describe('handled (or closed) starts the gateway’s own verification: it answers with a verified or reopened report'),
    at: IsoUtc.optional().describe('When the case system changed the status; default: when the gateway received the command'),
    note: z.string().max(500).optional(),
  })
  .strict();
export const ConfigReloadCommand = z.object({ ...base, command: z.literal('config.reload') }).strict();
export const SnapshotRequestCommand = z.object({ ...base, command: z.literal('snapshot.request'), cameraId: z.string() }).strict();

export const Command = z
  .discriminatedUnion('command', [AlarmAckCommand, CaseStatusCommand, ConfigReloadCommand, SnapshotRequestCommand])
  .describe('Downlink command from the central side');
export type Command = z.infer<typeof Command>;

export const CommandReply = z
  .object({
    ...envelopeShape,
    type: z.literal('cmd-reply'),
    requestId: z.string().describe('id of the command this answers'),
    ok: z.boolean(),
    error: z.string().optional(),
    result: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type CommandReply = z.infer<typeof CommandReply>;
