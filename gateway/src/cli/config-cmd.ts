import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { SourceError } from '../util/yaml-source.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('work with gateway config files');
  config
    .command('validate')
    .description('check a config file (and the profiles it uses) and list every problem as file:line: path: message')
    .argument('<file>', 'gateway config')
    .action((file: string) => {
      try {
        const { config: c, profiles } = loadConfig(file);
        process.stdout.write(`${file}: OK (gateway ${c.gateway.id}, ${c.devices.length} device(s), ${profiles.size} profile(s), ${c.lns.length} LNS connection(s))\n`);
      } catch (e) {
        if (!(e instanceof SourceError)) throw e;
        process.stderr.write(`${e.message}\n${file}: ${e.problems.length} problem(s)\n`);
        process.exitCode = 2;
      }
    });
}
