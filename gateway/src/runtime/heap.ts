import { setFlagsFromString } from 'node:v8';

/**
 * Makes V8 run a full collection when the old generation has grown 30 % past what survived the last one,
 * instead of letting it grow several-fold first. Per-device state replaced on every uplink is promoted
 * garbage: with V8's default policy the heap grew by ~100 MB over 400k messages before V8 collected it
 * (bench:outage, /tmp measurements in the issue note). On a cabinet computer memory matters; a heap of a few
 * tens of MB is cheap to collect. GRIDGATE_V8_HEAP=default keeps V8's own policy.
 */
export function preferSmallHeap(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.GRIDGATE_V8_HEAP === 'default') return false;
  setFlagsFromString('--heap-growing-percent=30');
  return true;
}
