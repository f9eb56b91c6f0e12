// The one way production code reaches the fakes (gateway/fakes: simulated devices, the demo's central side, the
// virtual camera). They are development and lab tools: docker/bundle.mjs leaves them all out, so the production
// bundle and the gateway image carry none. The commands that drive them (`demo`, `simulate`, `opcua simulate`,
// `virtual-camera`) load them here when they run; in a bundle without them they stop with NOT_IN_BUNDLE's
// message. gateway/test/layers.test.ts holds every other file of gateway/src to that: no import of gateway/fakes
// except through this module (types excepted, which the compiler erases).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type { FaultWindow } from '../../fakes/sim/scenario.js';
export type { SimulatedDevice, Simulator } from '../../fakes/sim/simulator.js';
export type { CabinetSim } from '../../fakes/sim/opcua-cabinet.js';
export type { DemoBridge } from '../../fakes/demo/bridge-process.js';

/** The fakes by group, each loaded whole when a command first asks for it. */
const GROUPS = {
  sim: async () => ({ ...(await import('../../fakes/sim/scenario.js')), ...(await import('../../fakes/sim/simulator.js')) }),
  opcuaCabinet: () => import('../../fakes/sim/opcua-cabinet.js'), // the server side of node-opcua: loaded only here
  demo: async () => ({
    ...(await import('../../fakes/demo/central-broker.js')),
    ...(await import('../../fakes/demo/feed.js')),
    ...(await import('../../fakes/demo/ports.js')),
    ...(await import('../../fakes/demo/bridge-process.js')),
    ...(await import('../../fakes/demo/operator.js')),
  }),
  virtualCamera: async () => ({ ...(await import('../../fakes/virtual-camera/onvif-device.js')), ...(await import('../../fakes/virtual-camera/rtsp-server.js')) }),
};
export type FakeGroup = keyof typeof GROUPS;
export type Fakes<G extends FakeGroup> = Awaited<ReturnType<(typeof GROUPS)[G]>>;

/** The development and lab commands, what each does, and where the lab runs it. */
const COMMANDS = {
  demo: { what: 'the whole path on one machine, with simulated sensors, a simulated OPC-UA cabinet and a central broker', lab: 'the lab image (docker/compose.yaml, service gateway: docker compose exec gateway gridgate demo)' },
  simulate: { what: 'simulated device traffic for a running gateway', lab: 'the lab image (docker/compose.yaml, service gateway: docker compose exec gateway gridgate simulate ...)' },
  'opcua simulate': { what: 'a simulated OPC-UA lighting cabinet', lab: 'the lab image (docker/compose.yaml, service gateway: docker compose exec gateway gridgate opcua simulate ...)' },
  'virtual-camera': { what: 'a video file played as an ONVIF camera', lab: 'the lab-camera image (docker/compose.yaml, service virtual-camera)' },
} as const;
export type DevCommand = keyof typeof COMMANDS;

/** What a development command says where the fakes are absent (the production bundle, the gateway image). */
export function notInBundle(command: DevCommand): string {
  const c = COMMANDS[command];
  return `${command} is a development and lab command (${c.what}), not part of this production bundle, which carries no fakes: run it from a source checkout (npm ci, then node gateway/dist/src/cli/main.js ${command} ...) or ${c.lab}`;
}

/** gateway/fakes beside gateway/src (a checkout), or dist/fakes beside dist/src (compiled): absent from a bundle. */
const FAKES_DIR = fileURLToPath(new URL('../../fakes/', import.meta.url));

/** Loads a group of fakes for COMMAND; where the bundle left them out, fails with notInBundle(COMMAND). */
export async function loadFakes<G extends FakeGroup>(command: DevCommand, group: G): Promise<Fakes<G>> {
  try {
    return (await GROUPS[group]()) as Fakes<G>;
  } catch (e) {
    // Only the fakes' own absence: a fake that is there but fails to load (a missing dependency) says so itself.
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && !existsSync(FAKES_DIR)) throw new Error(notInBundle(command));
    throw e;
  }
}
