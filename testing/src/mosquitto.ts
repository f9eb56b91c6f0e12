import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { freePort, waitForPort } from './net.js';

export interface MosquittoOptions {
  /** user → password; none means anonymous access. */
  users?: Record<string, string>;
  /** mosquitto acl_file text. */
  acl?: string;
  port?: number;
  extra?: string;
}

export interface Mosquitto {
  port: number;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const MOSQUITTO = process.env.MOSQUITTO_PATH ?? '/usr/sbin/mosquitto';

/** A real mosquitto on loopback, with its own config, password file and ACL in a temp folder. */
export async function startMosquitto(o: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'gg-mosq-'));
  const port = o.port ?? (await freePort());
  // Run as whoever runs the tests (as root mosquitto would otherwise switch to a user that cannot read the temp folder).
  const lines = [`user ${userInfo().username}`, `listener ${port} 127.0.0.1`, 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', 'max_queued_messages 1000000'];
  if (o.users) {
    const pw = join(dir, 'passwd');
    writeFileSync(pw, '');
    for (const [u, p] of Object.entries(o.users)) {
      const r = spawnSync('mosquitto_passwd', ['-b', pw, u, p]);
      if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
    }
    lines.push('allow_anonymous false', `password_file ${pw}`);
  } else {
    lines.push('allow_anonymous true');
  }
  if (o.acl) {
    writeFileSync(join(dir, 'acl'), o.acl);
    lines.push(`acl_file ${join(dir, 'acl')}`);
  }
  if (o.extra) lines.push(o.extra);
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  const m: Mosquitto = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    process: undefined as unknown as ChildProcess,
    async start() {
      m.process = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      m.process.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<never>((_, rej) => m.process.once('exit', (code) => rej(new Error(`mosquitto exited (${code}): ${err}`))));
      await Promise.race([waitForPort(port), exited]);
      m.process.removeAllListeners('exit');
    },
    async stop() {
      const p = m.process;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((res) => {
        p.once('exit', () => res());
        p.kill('SIGTERM');
      });
    },
  };
  await m.start();
  return m;
}
