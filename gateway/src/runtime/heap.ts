import { setFlagsFromString } from 'node:v8';

/**
 * Makes V8 collect old garbage early instead of growing the heap: per-device state replaced on every
 * uplink is promoted garbage, and by default V8 let it grow the heap by ~100 MB per 600k messages before a
 * full collection (measured in bench:outage). On a cabinet computer memory matters more than the few
 * percent of speed this costs. GRIDGATE_V8_HEAP=default keeps V8's own policy.
 */
export function preferSmallHeap(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.GRIDGATE_V8_HEAP === 'default') return false;
  setFlagsFromString('--optimize-for-size');
  return true;
}
