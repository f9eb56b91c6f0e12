import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { builtinCodecs } from '../profiles/codecs/index.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { derivedPassword } from '../southbound/broker/credentials.js';
import { loadFakes, type Fakes, type FaultWindow, type SimulatedDevice, type Simulator } from './dev-fakes.js';

interface SimulateOpts {
  config: string;
  devices: string;
  interval: string;
  duration?: string;
  faults: string;
  seed: string;
  passwords?: string;
}

/** Devices of a config to simulate: the first N that speak MQTT or LoRaWAN (`gridgate opcua simulate` serves OPC-UA ones). */
export function simulatedDevices(loaded: LoadedConfig, n?: number): SimulatedDevice[] {
  const all = loaded.config.devices.filter((d) => loaded.profiles.get(d.profile)?.profile.transport !== 'opcua');
  n ??= all.length;
  if (n > all.length) throw new Error(`the config lists ${all.length} device(s); --devices ${n} asks for more (add them with gridgate devices add)`);
  return all.slice(0, n).map((d) => ({ id: d.id, profile: loaded.profiles.get(d.profile)!.profile, params: d.params, ...(d.lorawan && { devEui: d.lorawan.devEui }) }));
}

/** Builds a simulator (the sim fakes, loadFakes(…, 'sim')) for a loaded config: passwords from the fleet secret or a JSON file of id → password. */
export function simulatorFor(
  { Simulator }: Fakes<'sim'>,
  loaded: LoadedConfig,
  devices: SimulatedDevice[],
  opts: { intervalMs: number; plan: FaultWindow[]; seed: number; passwords?: Record<string, string>; brokerPort?: number },
): Simulator {
  const c = loaded.config;
  const secret = c.broker.deviceKeySecret;
  const lns = c.lns[0];
  return new Simulator({
    devices,
    codecs: builtinCodecs(),
    brokerUrl: `mqtt://${c.broker.host === '0.0.0.0' ? '127.0.0.1' : c.broker.host}:${opts.brokerPort ?? c.broker.port}`,
    passwordOf: (id) => {
      const pw = opts.passwords?.[id] ?? (secret ? derivedPassword(secret, id) : undefined);
      if (!pw) throw new Error(`no password for ${id}: set broker.deviceKeySecret or give --passwords FILE`);
      return pw;
    },
    ...(lns && { lns: { url: lns.url, kind: lns.kind, ...(lns.username && { username: lns.username }), ...(lns.password && { password: lns.password }) } }),
    intervalMs: opts.intervalMs,
    plan: opts.plan,
    seed: opts.seed,
  });
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('publish realistic device traffic with faults (tilted cover, hydrant opened, lamp failure, dust spike, silence) to a running gateway')
    .requiredOption('-c, --config <file>', 'the gateway config the devices belong to')
    .option('-n, --devices <n>', 'how many of the config devices to simulate', '10')
    .option('-i, --interval <s>', 'seconds between reports of one device', '5')
    .option('-d, --duration <s>', 'stop after this many seconds (default: run until Ctrl-C)')
    .option('--faults <kind>', 'random | none', 'random')
    .option('--seed <n>', 'random seed (the same seed repeats the same traffic)', '1')
    .option('--passwords <file>', 'JSON file mapping device id to its MQTT password')
    .action(async (o: SimulateOpts) => {
      const fakes = await loadFakes('simulate', 'sim');
      const { prng, randomFaultPlan } = fakes;
      const loaded = loadConfig(o.config);
      const n = Number(o.devices);
      const intervalS = Number(o.interval);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--devices: ${o.devices} is not a positive whole number`);
      if (!(intervalS > 0)) throw new Error(`--interval: ${o.interval} is not a positive number of seconds`);
      const devices = simulatedDevices(loaded, n);
      const durationS = o.duration ? Number(o.duration) : 3600;
      const seed = Number(o.seed);
      const plan = o.faults === 'none' ? [] : randomFaultPlan(devices, durationS, prng(seed + 1));
      const passwords = o.passwords ? (JSON.parse(readFileSync(o.passwords, 'utf8')) as Record<string, string>) : undefined;
      const sim = simulatorFor(fakes, loaded, devices, { intervalMs: intervalS * 1000, plan, seed, ...(passwords && { passwords }) });
      await sim.start();
      for (const f of plan) process.stdout.write(`fault planned: ${f.deviceId} ${f.fault} from ${f.fromS}s to ${f.toS}s\n`);
      process.stdout.write(`simulating ${devices.length} device(s), one report every ${intervalS}s each; Ctrl-C stops\n`);
      const stop = async () => {
        await sim.stop();
        process.stdout.write(`published ${sim.published} message(s)\n`);
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      if (o.duration) setTimeout(() => void stop(), durationS * 1000);
    });
}
