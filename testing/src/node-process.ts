import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './net.js';

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A real Node CLI (gridgate, gridgate-bridge) as a child process, with its JSON (pino) log lines collected. */
export class NodeProcess {
  readonly logs: LogLine[] = [];
  stderrText = '';
  stdout = '';
  proc!: ChildProcess;
  exit!: Promise<number | null>;

  constructor(
    readonly cli: string,
    readonly args: string[],
    readonly env: NodeJS.ProcessEnv = {},
    /** Node's own flags; benchmarks pass none, to run the CLI as it is shipped. */
    readonly nodeArgs: string[] = ['--enable-source-maps'],
  ) {}

  start(): this {
    this.proc = spawn(process.execPath, [...this.nodeArgs, this.cli, ...this.args], { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stderr!.on('data', (d: Buffer) => {
      const s = d.toString();
      this.stderrText += s;
      buf += s;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          /* plain text stays in stderrText */
        }
      }
    });
    this.proc.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.exit = new Promise((res) => this.proc.once('exit', (code) => res(code)));
    return this;
  }

  waitForLog(msg: string | RegExp, timeoutMs = 20_000, pred: (l: LogLine) => boolean = () => true): Promise<LogLine> {
    return waitFor(() => `log "${String(msg)}" (stderr so far: ${this.stderrText.slice(-1500)})`, () => this.logs.find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)) && pred(l)), timeoutMs);
  }

  get running(): boolean {
    return this.proc?.exitCode === null && this.proc?.signalCode === null;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running) this.proc.kill(signal);
    return this.exit;
  }
}

/** Runs a Node CLI to completion and returns its exit code and output. */
export function runNodeCli(cli: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--enable-source-maps', cli, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      rej(new Error(`${cli} ${args.join(' ')} ran past ${timeoutMs} ms`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

