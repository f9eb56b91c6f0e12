import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './net.js';

export const VICTORIA_METRICS = process.env.VICTORIA_METRICS_PATH ?? '/usr/bin/victoria-metrics';

export interface VictoriaMetrics {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Every sample of the series matching `match` (a PromQL series selector), via /api/v1/export. */
  export(match: string): Promise<Array<{ metric: Record<string, string>; values: number[]; timestamps: number[] }>>;
}

/** Debian's victoria-metrics on loopback: it accepts InfluxDB's /api/v2/write; data kept across restarts. */
export async function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  const dir = mkdtempSync(join(tmpdir(), 'gg-vm-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const vm: VictoriaMetrics = {
    port,
    url: `http://127.0.0.1:${port}`,
    async start() {
      proc = spawn(VICTORIA_METRICS, [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-retentionPeriod=100y', '-search.latencyOffset=0s', '-loggerLevel=ERROR'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<never>((_, rej) => proc!.once('exit', (code) => rej(new Error(`victoria-metrics exited (${code}): ${err}`))));
      await Promise.race([waitForPort(port, 20_000), exited]);
      proc.removeAllListeners('exit');
    },
    async stop() {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((res) => {
        p.once('exit', () => res());
        p.kill('SIGTERM');
      });
    },
    async export(match) {
      await fetch(`${vm.url}/internal/force_flush`);
      const r = await fetch(`${vm.url}/api/v1/export`, { method: 'POST', body: new URLSearchParams({ 'match[]': match }) });
      const text = await r.text();
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] });
    },
  };
  await vm.start();
  return vm;
}
