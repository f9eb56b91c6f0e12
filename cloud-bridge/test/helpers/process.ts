import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
export { NodeProcess, runNodeCli, type LogLine } from '@gridgate/testing';
import { runNodeCli } from '@gridgate/testing';

/** Repository root (this file is compiled to cloud-bridge/dist/test/helpers/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const BRIDGE_CLI = join(repoRoot, 'cloud-bridge', 'dist', 'src', 'cli.js');
export const GATEWAY_CLI = join(repoRoot, 'gateway', 'dist', 'src', 'cli', 'main.js');

/** Runs a CLI to completion. */
export const runCli = runNodeCli;

/** An authenticated JSON call to a local API. */
export async function api<T = unknown>(port: number, token: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined && { 'content-type': 'application/json' }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* html or text */
  }
  return { status: res.status, body: body as T };
}
