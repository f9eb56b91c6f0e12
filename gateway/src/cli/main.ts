#!/usr/bin/env node
import { Command } from 'commander';
import { gatewayVersion } from './paths.js';
import { registerCameras } from './cameras.js';
import { registerConfig } from './config-cmd.js';
import { registerDecode } from './decode.js';
import { registerDemo } from './demo.js';
import { registerGrids } from './grids.js';
import { registerDetect } from './detect.js';
import { registerOpcua } from './opcua.js';
import { registerRun } from './run.js';
import { registerSimulate } from './simulate.js';
import { registerStatus } from './status.js';
import { registerVirtualCamera } from './virtual-camera.js';

const program = new Command('gridgate')
  .description('GridGate: edge gateway for street-level city infrastructure')
  .version(gatewayVersion())
  .showHelpAfterError();

registerRun(program);
registerConfig(program);
registerDecode(program);
registerGrids(program);
registerSimulate(program);
registerStatus(program);
registerDemo(program);
registerDetect(program);
registerCameras(program);
registerVirtualCamera(program);
registerOpcua(program);

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`gridgate: ${e.message}\n`);
  process.exit(1);
});
