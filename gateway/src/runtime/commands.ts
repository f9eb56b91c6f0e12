import { Command, type CommandReply } from '@gridgate/contract';
import type { Logger } from 'pino';
import type { Body } from '../northbound/messages.js';

export type CommandName = Command['command'];
export type CommandOf<N extends CommandName> = Extract<Command, { command: N }>;
export type CommandHandler<N extends CommandName> = (cmd: CommandOf<N>) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void;

/**
 * Routes downlink commands to the module that owns them (alarms, reports, cameras, config) and builds the
 * reply. A command nobody handles, or one that does not validate, gets an error reply naming why.
 */
export class CommandRouter {
  private readonly handlers = new Map<CommandName, CommandHandler<CommandName>>();

  constructor(private readonly log: Logger) {}

  register<N extends CommandName>(name: N, handler: CommandHandler<N>): void {
    this.handlers.set(name, handler as unknown as CommandHandler<CommandName>);
  }

  /** Parses and runs one command payload; resolves with the reply body (and the command id, when readable). */
  async handle(payload: Buffer): Promise<Body<CommandReply>> {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (e) {
      return reply('', false, `command is not JSON: ${(e as Error).message}`);
    }
    const requestId = typeof (json as { id?: unknown })?.id === 'string' ? (json as { id: string }).id : '';
    const parsed = Command.safeParse(json);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      this.log.warn({ requestId, why }, 'command refused');
      return reply(requestId, false, `invalid command: ${why}`);
    }
    const cmd = parsed.data;
    const h = this.handlers.get(cmd.command);
    if (!h) return reply(cmd.id, false, `command ${cmd.command} is not available on this gateway`);
    try {
      const result = await h(cmd);
      this.log.info({ command: cmd.command, requestId: cmd.id }, 'command done');
      return reply(cmd.id, true, undefined, result ?? undefined);
    } catch (e) {
      this.log.warn({ command: cmd.command, requestId: cmd.id, err: (e as Error).message }, 'command failed');
      return reply(cmd.id, false, (e as Error).message);
    }
  }
}

function reply(requestId: string, ok: boolean, error?: string, result?: Record<string, unknown>): Body<CommandReply> {
  return { type: 'cmd-reply', requestId, ok, ...(error && { error }), ...(result && { result }) };
}
