import type { Command } from 'commander';
import { readEnvFile } from '../local/provision/env-file.js';
import type { GatewaySnapshot } from '../local/api/snapshot.js';
import { apiTargetFromConfig, callApi, type ApiTarget } from './running-gateway.js';
import { DrainTracker, renderStatus } from './status-view.js';

interface StatusOpts {
  config?: string;
  envFile?: string;
  url?: string;
  json?: boolean;
  once?: boolean;
  interval: string;
}

function target(o: StatusOpts): ApiTarget {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(o.envFile && readEnvFile(o.envFile)) };
  if (o.url) return { url: o.url, ...(env.GRIDGATE_API_TOKEN && { token: env.GRIDGATE_API_TOKEN }) };
  if (o.config) return apiTargetFromConfig(o.config, env);
  throw new Error('give --config <file> (the API address and token are read from it) or --url <http://host:port>');
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("a live view of a running gateway: uplink, outbox backlog, devices (last seen, last values), active alarms, cameras (from its status API)")
    .option('-c, --config <file>', 'the gateway config: the API address and token are read from it')
    .option('--url <url>', 'the API base URL instead (token from GRIDGATE_API_TOKEN)')
    .option('--env-file <file>', "the gateway's environment file: the API token (and any GRIDGATE_API_* setting) is read from it")
    .option('--once', 'print the status once and exit (also the default when stdout is not a terminal)')
    .option('--json', 'print the status API answer as JSON, once')
    .option('-i, --interval <s>', 'seconds between refreshes of the live view', '2')
    .action(async (o: StatusOpts) => {
      const t = target(o);
      const get = () => callApi<GatewaySnapshot>(t, 'GET', '/api/v1/status');
      if (o.json) {
        process.stdout.write(`${JSON.stringify(await get(), null, 2)}\n`);
        return;
      }
      const tty = !!process.stdout.isTTY;
      if (o.once || !tty) {
        process.stdout.write(renderStatus(await get(), { now: Date.now(), width: process.stdout.columns || 200, color: tty }));
        return;
      }
      await live(get, Math.max(0.5, Number(o.interval) || 2) * 1000);
    });
}

/** Redraws the status in the terminal's alternate screen until Ctrl-C; a failed refresh keeps the last view with the error. */
async function live(get: () => Promise<GatewaySnapshot>, everyMs: number): Promise<void> {
  const out = process.stdout;
  const drain = new DrainTracker();
  let last: GatewaySnapshot | undefined;
  let running = true;
  const restore = () => out.write('\x1b[?25h\x1b[?1049l');
  out.write('\x1b[?1049h\x1b[?25l');
  process.once('SIGINT', () => {
    running = false;
  });
  process.once('exit', restore);
  try {
    while (running) {
      let error: string | undefined;
      try {
        last = await get();
      } catch (e) {
        error = (e as Error).message;
      }
      const frame = last
        ? renderStatus(last, { now: Date.now(), width: out.columns || 120, color: true, ...(error && { error }), ...((d) => d && { drain: d })(drain.update(Number(last.outbox.backlog) || 0)) })
        : `waiting for the gateway: ${error}\n`;
      out.write(`\x1b[H\x1b[2J${frame}\n(Ctrl-C to quit)`);
      const until = Date.now() + everyMs;
      while (running && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    restore();
  }
}
