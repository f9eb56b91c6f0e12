import { connect } from 'node:net';

/** Host and port of an opc.tcp:// URL (4840 when the URL names none). */
export function hostPort(url: string): { host: string; port: number } {
  const m = /^opc\.tcp:\/\/(\[[^\]]+\]|[^/:]+)(?::(\d+))?/.exec(url);
  if (!m) throw new Error(`not an opc.tcp:// URL: ${url}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 4840 };
}

/** Whether something accepts TCP connections there now: a probe costs one SYN, not an OPC-UA handshake. */
export function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      res(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
