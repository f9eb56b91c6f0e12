import { join } from 'node:path';
import { NodeProcess, runNodeCli } from '@gridgate/testing';
import { repoRoot } from './shared.js';

export type { LogLine } from '@gridgate/testing';

export const CLI = join(repoRoot, 'gateway', 'dist', 'src', 'cli', 'main.js');

/** The real `gridgate` CLI as a child process, with its JSON log lines collected. */
export class GatewayProcess extends NodeProcess {
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs?: string[]) {
    super(CLI, args, env, nodeArgs);
  }
}

/** Runs the `gridgate` CLI to completion and returns its exit code and output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNodeCli(CLI, args, env, timeoutMs);
}
