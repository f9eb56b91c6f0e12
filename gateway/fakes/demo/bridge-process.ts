import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface DemoBridge {
  apiPort: number;
  token: string;
  stop(): Promise<void>;
}

/**
 * Starts the cloud bridge (`gridgate-bridge run`, its own process) for the demo, with the local case inbox.
 * The demo's central broker is aedes, which speaks MQTT 3.1.1 and has no shared subscriptions: the demo
 * runs one instance with a plain subscription (shareGroup: null). Production uses mosquitto or EMQX with
 * MQTT 5 and `$share/` groups. Resolves undefined when the bridge is not built.
 */
export async function startDemoBridge(o: { repoRoot: string; dataDir: string; centralUrl: string; username: string; password: string; apiPort: number; token: string; onError(line: string): void }): Promise<DemoBridge | undefined> {
  const cli = resolve(o.repoRoot, 'cloud-bridge', 'dist', 'src', 'cli.js');
  if (!existsSync(cli)) return undefined;
  const config = join(o.dataDir, 'bridge.yaml');
  writeFileSync(
    config,
    `# Written by gridgate demo for this run.
instanceId: demo-bridge
log: { level: warn }
central: { url: "${o.centralUrl}", username: ${o.username}, password: "\${DEMO_BRIDGE_PASSWORD}", protocolVersion: 4, shareGroup: null }
store: { file: ./bridge.db }
api: { port: ${o.apiPort}, token: "\${DEMO_BRIDGE_TOKEN}" }
delivery: { adapter: inbox }
`,
    { mode: 0o600 },
  );
  const child: ChildProcess = spawn(process.execPath, [cli, 'run', '--config', config], {
    env: { ...process.env, DEMO_BRIDGE_PASSWORD: o.password, DEMO_BRIDGE_TOKEN: o.token, GRIDGATE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  let buf = '';
  let connected: () => void = () => {};
  const ready = new Promise<void>((res) => (connected = res));
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const l = JSON.parse(line) as { level: number; msg: string };
        if (l.msg === 'central broker connected') connected();
        if (l.level >= 50) o.onError(`bridge: ${l.msg} ${JSON.stringify(l)}`);
      } catch {
        if (line.trim()) o.onError(`bridge: ${line}`);
      }
    }
  });
  await Promise.race([ready, exited.then((code) => Promise.reject(new Error(`the cloud bridge exited (${code}) before it connected`)))]);
  return {
    apiPort: o.apiPort,
    token: o.token,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
