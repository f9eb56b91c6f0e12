import { format } from 'node:util';
import { setDebugLogger, setErrorLogger, setWarningLogger } from 'node-opcua-client';
import type { Logger } from 'pino';

// node-opcua prints its own warnings to stdout with colours. Its logger hooks are process-wide (the
// library's, not ours): route them into our logger at debug level, where they help without drowning
// the clear errors the endpoint logs itself.

export function routeNodeOpcuaLogs(log: Logger): void {
  const to = (level: 'debug' | 'trace') => (_ctx: unknown, ...args: unknown[]) => {
    if (log.isLevelEnabled(level)) log[level]({ lib: 'node-opcua' }, format(...args).replace(/\u001b\[[0-9;]*m/g, '').slice(0, 2000));
  };
  setWarningLogger(to('debug'));
  setErrorLogger(to('debug'));
  setDebugLogger(to('trace'));
}
