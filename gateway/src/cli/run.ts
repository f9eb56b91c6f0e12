import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { listenPorts, portProblem } from '../local/doctor/checks.js';
import { portHolder } from '../local/doctor/probes.js';
import { readEnvFile } from '../local/provision/env-file.js';
import { SourceError } from '../util/yaml-source.js';
import { preferSmallHeap } from '../runtime/heap.js';
import { GatewayHost } from '../runtime/host.js';
import { chooseLogFormat, createLogger, prettyDestination } from '../util/log.js';
import { gatewayVersion } from './paths.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the gateway on a config file')
    .requiredOption('-c, --config <file>', 'gateway config (firmware-configs/<name>.yaml)')
    .option('--env-file <file>', "the gateway's environment file (NAME=value lines: secrets, GRIDGATE_* settings); its values win over the shell's")
    .option('--log-format <format>', 'auto (readable lines on a terminal, JSON lines otherwise) | json | pretty', 'auto')
    .action(async (o: { config: string; envFile?: string; logFormat: string }) => {
      const tty = !!process.stderr.isTTY;
      const format = chooseLogFormat(o.logFormat, tty);
      // Into this process's environment: a reload reads the config again with the same variables.
      if (o.envFile) Object.assign(process.env, readEnvFile(o.envFile));
      let loaded: LoadedConfig;
      try {
        loaded = loadConfig(o.config);
      } catch (e) {
        if (e instanceof SourceError) {
          process.stderr.write(`${e.message}\n${o.config}: ${e.problems.length} problem(s); the gateway did not start\n`);
          process.exit(2);
        }
        throw e;
      }
      preferSmallHeap();
      const log = createLogger(loaded.config.log.level, format === 'pretty' ? prettyDestination(process.stderr, tty) : undefined);
      const host = new GatewayHost(o.config, log, { version: gatewayVersion() });
      try {
        await host.start();
      } catch (e) {
        const why = listenProblem(loaded, e as NodeJS.ErrnoException & { port?: number });
        if (!why) throw e;
        log.flush();
        process.stderr.write(`gridgate: ${why.detail}\n  fix: ${why.fix}\n(gridgate doctor --config ${o.config} checks the ports before a start)\n`);
        process.exit(1);
      }
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

/** A listen error on one of the gateway's own ports, said with the port's config field and who holds it. */
function listenProblem(loaded: LoadedConfig, e: NodeJS.ErrnoException & { port?: number }): { detail: string; fix: string } | undefined {
  if (!e || !['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'].includes(e.code ?? '')) return undefined;
  const p = listenPorts(loaded.config).find((x) => x.port === e.port);
  if (!p) return undefined;
  return portProblem({ ...p, error: e.code!, ...(e.code === 'EADDRINUSE' && { holder: portHolder(p.port) }) });
}
