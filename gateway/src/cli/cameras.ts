import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { SourceError } from '../util/yaml-source.js';
import { addCamerasToConfig, cameraIdFor, configuredOnvifUrls, existingIds, type DiscoveredCameraEntry } from '../southbound/cameras/config-writer.js';
import { describeDevice, onvifProblem, type OnvifDevice } from '../southbound/cameras/onvif/client.js';
import { ProgressBar } from './progress.js';
import { probe, scopeValue, WS_DISCOVERY_ADDRESS, WS_DISCOVERY_PORT, type ProbeMatch } from '../southbound/cameras/onvif/ws-discovery.js';

interface DiscoverOptions {
  timeout: string;
  address: string;
  port: string;
  interface?: string;
  username?: string;
  passwordEnv?: string;
  json?: boolean;
  writeConfig?: string;
  pick?: string;
  all?: boolean;
  gridId?: string;
}

/** One answer to the probe, with what its Device and Media services said (or why they would not). */
export interface DiscoveredCamera {
  n: number;
  address: string;
  endpoint: string;
  xaddr: string;
  name?: string;
  device?: OnvifDevice;
  error?: string;
  configured?: boolean;
}

export function registerCameras(program: Command): void {
  const cameras = program.command('cameras').description('find and configure cameras');
  cameras
    .command('discover')
    .description('find ONVIF cameras on the LAN (WS-Discovery), list make, model, serial, profiles and stream addresses; optionally add them to a gateway config')
    .option('-t, --timeout <s>', 'seconds to wait for answers', '5')
    .option('--address <ip>', 'where the probe goes: the WS-Discovery multicast group, or one camera\'s address', WS_DISCOVERY_ADDRESS)
    .option('--port <n>', 'WS-Discovery port', String(WS_DISCOVERY_PORT))
    .option('--interface <ip>', 'local address of the network the cameras are on (a cabinet with several networks)')
    .option('-u, --username <user>', 'camera account for the Device and Media services (and the stream)')
    .option('--password-env <VAR>', 'environment variable holding the camera password (written to the config as ${VAR}, never the value)')
    .option('--json', 'print JSON')
    .option('-w, --write-config <file>', 'add the chosen cameras to this gateway config (comments kept; validated before writing)')
    .option('--pick <n,...>', 'which cameras to add, by their number in the list')
    .option('--all', 'add every camera that answered')
    .option('--grid-id <id>', 'unit grid of the added cameras (default: the gateway\'s)')
    .action(async (o: DiscoverOptions) => {
      const password = o.passwordEnv ? process.env[o.passwordEnv] : undefined;
      if (o.passwordEnv && !password) throw new Error(`environment variable ${o.passwordEnv} (--password-env) is not set`);
      const timeoutMs = Math.max(0.5, Number(o.timeout)) * 1000;
      // A bar while the probe waits for answers (on a terminal only: scripts read stdout).
      const waiting = process.stderr.isTTY ? ProgressBar.timed('waiting for ONVIF cameras to answer', timeoutMs) : undefined;
      const matches = await probe({ timeoutMs, address: o.address, port: Number(o.port), ...(o.interface && { interface: o.interface }) }).finally(() => waiting?.stop());
      const configured = o.writeConfig ? configuredOnvifUrls(readConfig(o.writeConfig)) : new Set<string>();
      const found = await Promise.all(matches.map((m, i) => describe(m, i + 1, { username: o.username, password }, configured)));
      if (o.json) process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
      else process.stdout.write(formatList(found, o.address));
      if (!o.writeConfig) return;
      const chosen = await choose(found, o);
      if (!chosen.length) {
        process.stderr.write('no camera chosen; the config is unchanged\n');
        return;
      }
      writeCameras(o.writeConfig, chosen, o);
    });
}

async function describe(m: ProbeMatch, n: number, creds: { username?: string | undefined; password?: string | undefined }, configured: Set<string>): Promise<DiscoveredCamera> {
  const xaddr = m.xaddrs.find((x) => hostOf(x) === m.from) ?? m.xaddrs[0]!;
  const name = scopeValue(m.scopes, 'name');
  const base: DiscoveredCamera = { n, address: m.from, endpoint: m.endpoint, xaddr, ...(name && { name }), ...(configured.has(xaddr) && { configured: true }) };
  try {
    return { ...base, device: await describeDevice(xaddr, creds, 5000) };
  } catch (e) {
    const p = onvifProblem(e as Error, xaddr);
    const hint = p.kind === 'auth-failed' && !creds.username ? ' (give --username and --password-env)' : '';
    return { ...base, error: `${p.message}${hint}` };
  }
}

function readConfig(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the gateway config ${file} (--write-config): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

export function formatList(found: readonly DiscoveredCamera[], address: string): string {
  if (!found.length) {
    return `no ONVIF camera answered at ${address}. Check that the cameras are on this network (or pass --interface), that ONVIF is enabled on them, and that UDP port 3702 is not filtered.\n`;
  }
  const lines: string[] = [];
  for (const c of found) {
    const d = c.device;
    const what = d ? [d.manufacturer, d.model].filter(Boolean).join(' ') || 'ONVIF device' : (c.name ?? 'ONVIF device');
    lines.push(`${c.n}. ${c.address}  ${what}${d?.serial ? `  serial ${d.serial}` : ''}${d?.firmware ? `  firmware ${d.firmware}` : ''}${c.configured ? '  (already in the config)' : ''}`);
    lines.push(`   device service: ${c.xaddr}`);
    if (c.error) lines.push(`   ${c.error}`);
    for (const p of d?.profiles ?? []) {
      const res = p.width && p.height ? `${p.width}×${p.height}` : '?';
      lines.push(`   profile ${p.token}${p.name && p.name !== p.token ? ` (${p.name})` : ''}: ${p.encoding ?? '?'} ${res}${p.fps ? ` @ ${p.fps} fps` : ''}`);
      if (p.streamUri) lines.push(`     stream:   ${p.streamUri}`);
      if (p.snapshotUri) lines.push(`     snapshot: ${p.snapshotUri}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function choose(found: DiscoveredCamera[], o: DiscoverOptions): Promise<DiscoveredCamera[]> {
  const usable = found.filter((c) => c.device && !c.configured);
  if (o.all) return usable;
  let pick = o.pick;
  if (!pick) {
    if (!process.stdin.isTTY) throw new Error('choose the cameras to add with --pick 1,2 or --all');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    pick = await rl.question(`Add which cameras to ${o.writeConfig}? (numbers separated by commas, "all", or nothing to cancel) `);
    rl.close();
    if (pick.trim().toLowerCase() === 'all') return usable;
  }
  const nums = pick
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const out: DiscoveredCamera[] = [];
  for (const n of nums) {
    const c = found.find((f) => f.n === n);
    if (!c) throw new Error(`--pick ${n}: there is no camera ${n} in the list`);
    if (!c.device) throw new Error(`camera ${n} (${c.address}) did not answer its Device and Media services: ${c.error}`);
    if (c.configured) throw new Error(`camera ${n} (${c.xaddr}) is already in ${o.writeConfig}`);
    out.push(c);
  }
  return out;
}

/** Adds the cameras, validates the result as the gateway would, and only then replaces the file. */
function writeCameras(file: string, chosen: DiscoveredCamera[], o: DiscoverOptions): void {
  const text = readConfig(file);
  const taken = existingIds(text);
  const entries: DiscoveredCameraEntry[] = chosen.map((c) => {
    const d = c.device!;
    const id = cameraIdFor(d, taken);
    taken.add(id);
    const name = [d.manufacturer, d.model].filter(Boolean).join(' ') || c.name;
    const profile = d.profiles.find((p) => p.streamUri)?.token;
    return {
      id,
      ...(name && { name }),
      ...(o.gridId && { gridId: o.gridId }),
      source: {
        kind: 'onvif',
        url: c.xaddr,
        ...(o.username && { username: o.username }),
        ...(o.passwordEnv && { password: `\${${o.passwordEnv}}` }),
        ...(profile && { profile }),
      },
    };
  });
  const next = addCamerasToConfig(text, entries);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, next);
  try {
    loadConfig(tmp);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (!(e instanceof SourceError)) throw e;
    const problems = e.problems.map((p) => `${file} (with the new cameras):${p.line}: ${p.path || '(root)'}: ${p.message}`).join('\n');
    const hint = e.problems.some((p) => /gridId/.test(p.message)) ? '\nGive the cameras a grid with --grid-id, or set gateway.gridId.' : '';
    throw new Error(`the config would not validate, so it was not changed:\n${problems}${hint}`);
  }
  renameSync(tmp, file);
  process.stderr.write(`added ${entries.map((e) => e.id).join(', ')} to ${file}${o.passwordEnv ? `; the gateway needs ${o.passwordEnv} in its environment` : ''}\n`);
}
