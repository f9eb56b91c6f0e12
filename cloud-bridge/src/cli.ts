#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Bridge, createLogger } from './bridge.js';
import { ConfigError, loadBridgeConfig } from './config.js';

const version = (JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../package.json'), 'utf8')) as { version: string }).version;

const program = new Command('gridgate-bridge')
  .description('GridGate cloud bridge: case reports from the central broker to the city case system, case status back to the gateways')
  .version(version)
  .showHelpAfterError();

program
  .command('run')
  .description('run one bridge instance (run several with the same shareGroup and store to split the load)')
  .requiredOption('-c, --config <file>', 'bridge config (YAML)')
  .action(async (o: { config: string }) => {
    const cfg = loadBridgeConfig(o.config);
    const log = createLogger(process.env.GRIDGATE_LOG_LEVEL ?? cfg.log.level);
    const bridge = new Bridge(cfg, log);
    await bridge.start();
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await bridge.stop();
      log.flush();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
  });

program
  .command('validate')
  .description('check a bridge config and list every problem as file:line: path: message')
  .argument('<file>', 'bridge config')
  .action((file: string) => {
    const c = loadBridgeConfig(file);
    process.stdout.write(`${file}: OK (instance ${c.instanceId}, adapter ${c.delivery.adapter}, ${c.central.shareGroup ? `shared subscription group ${c.central.shareGroup}` : 'plain subscription'})\n`);
  });

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(e instanceof ConfigError ? `${e.message}\n` : `gridgate-bridge: ${e.message}\n`);
  process.exit(e instanceof ConfigError ? 2 : 1);
});
