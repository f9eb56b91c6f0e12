import type { Command } from 'commander';
import { fetchStatus, statusTargetFromConfig, type StatusTarget } from './status-fetch.js';
import { formatStatus } from './status-format.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("show a running gateway's uplink, outbox backlog, quota and TTL, devices and active alarms (from its status API)")
    .option('-c, --config <file>', 'the gateway config: the API address and token are read from it')
    .option('--url <url>', 'API base URL instead (token from GRIDGATE_API_TOKEN)')
    .option('--json', 'print the status as JSON')
    .action(async (o: { config?: string; url?: string; json?: boolean }) => {
      if (!o.config && !o.url) throw new Error('give --config <file> (or --url)');
      const target: StatusTarget = o.url
        ? { url: o.url, ...(process.env.GRIDGATE_API_TOKEN && { token: process.env.GRIDGATE_API_TOKEN }) }
        : statusTargetFromConfig(o.config!);
      const s = await fetchStatus(target);
      process.stdout.write(o.json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
    });
}
