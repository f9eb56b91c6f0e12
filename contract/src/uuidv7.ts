import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let poolPos = pool.length;
let lastMs = -1;
let counter = 0;

function randomBytes(n: number): Buffer {
  if (poolPos + n > pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const b = pool.subarray(poolPos, poolPos + n);
  poolPos += n;
  return b;
}

/**
 * RFC 9562 UUIDv7, the message id of the contract: 48-bit Unix ms timestamp, then a 12-bit counter (rand_a) so ids made in the same
 * millisecond still sort in creation order, then 62 random bits.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = randomBytes(2).readUInt16BE(0) & 0x3ff; // start low so the counter rarely overflows
  } else {
    counter++;
    if (counter > 0xfff) {
      // More than 3k ids in one ms: borrow the next millisecond to keep order.
      lastMs++;
      counter = 0;
    }
  }
  const b = Buffer.allocUnsafe(16);
  b.writeUIntBE(lastMs, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  randomBytes(8).copy(b, 8);
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
