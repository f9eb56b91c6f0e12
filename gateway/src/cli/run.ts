import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { SourceError } from '../util/yaml-source.js';
import { preferSmallHeap } from '../runtime/heap.js';
import { GatewayHost } from '../runtime/host.js';
import { createLogger } from '../util/log.js';
import { gatewayVersion } from './paths.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the gateway on a config file')
    .requiredOption('-c, --config <file>', 'gateway config (firmware-configs/<name>.yaml)')
    .action(async (o: { config: string }) => {
      let level = 'info';
      try {
        level = loadConfig(o.config).config.log.level;
      } catch (e) {
        if (e instanceof SourceError) {
          process.stderr.write(`${e.message}\n${o.config}: ${e.problems.length} problem(s); the gateway did not start\n`);
          process.exit(2);
        }
        throw e;
      }
      preferSmallHeap();
      const log = createLogger(level);
      const host = new GatewayHost(o.config, log, { version: gatewayVersion() });
      await host.start();
      process.on('SIGHUP', () => void host.reload());
      let stopping = false;
      const stop = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal: sig }, 'stopping');
        // A peer that never answers must not keep the process alive: what matters is already on disk.
        const force = setTimeout(() => {
          log.error('graceful stop took over 10 s; exiting anyway (the outbox keeps everything not yet sent)');
          log.flush();
          process.exit(1);
        }, 10_000);
        force.unref();
        await host.stop();
        log.flush();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
