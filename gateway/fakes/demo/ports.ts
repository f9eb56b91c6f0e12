import { createServer } from 'node:net';

/** `preferred` if it is free on 127.0.0.1 (stable URLs for people), else any free port. */
export function freePortOr(preferred: number): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => {
      const t = createServer();
      t.listen(0, '127.0.0.1', () => {
        const a = t.address();
        t.close(() => res(typeof a === 'object' && a ? a.port : 0));
      });
    });
    s.listen(preferred, '127.0.0.1', () => s.close(() => res(preferred)));
  });
}
