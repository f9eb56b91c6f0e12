#!/usr/bin/env node
import { Command } from 'commander';
import { gatewayVersion } from './paths.js';

type Register = (program: Command) => void;

// One module per command group, loaded only when that command runs: `gridgate status` on a Pi should not
// first load the detector, the camera stack and the whole runtime. Help (no command, or an unknown one)
// loads them all. A new command group: one line here.
const COMMANDS: Record<string, () => Promise<Register>> = {
  run: async () => (await import('./run.js')).registerRun,
  config: async () => (await import('./config-cmd.js')).registerConfig,
  decode: async () => (await import('./decode.js')).registerDecode,
  grids: async () => (await import('./grids.js')).registerGrids,
  simulate: async () => (await import('./simulate.js')).registerSimulate,
  demo: async () => (await import('./demo.js')).registerDemo,
  detect: async () => (await import('./detect.js')).registerDetect,
  cameras: async () => (await import('./cameras.js')).registerCameras,
  'virtual-camera': async () => (await import('./virtual-camera.js')).registerVirtualCamera,
  console: async () => (await import('./console.js')).registerConsole,
  init: async () => (await import('./init.js')).registerInit,
  devices: async () => (await import('./devices.js')).registerDevices,
  provision: async () => (await import('./provision.js')).registerProvision,
  doctor: async () => (await import('./doctor.js')).registerDoctor,
  opcua: async () => (await import('./opcua.js')).registerOpcua,
  status: async () => (await import('./status.js')).registerStatus,
};

const program = new Command('gridgate')
  .description('GridGate: edge gateway for street-level city infrastructure')
  .version(gatewayVersion())
  .showHelpAfterError();

async function main(): Promise<void> {
  const name = process.argv[2];
  const only = name && Object.hasOwn(COMMANDS, name) ? [COMMANDS[name]!] : Object.values(COMMANDS);
  for (const register of await Promise.all(only.map((load) => load()))) register(program);
  await program.parseAsync(process.argv);
}

main().catch((e: Error) => {
  process.stderr.write(`gridgate: ${e.message}\n`);
  process.exit(1);
});
