import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { builtinCodecs } from '../profiles/codecs/index.js';
import { decodeUplink } from '../pipeline/decode/decode.js';
import { Rejection } from '../model/readings.js';
import { parseChirpStackUp, parseTtnV3Uplink } from '../southbound/lns/formats.js';
import { loadProfiles } from '../profiles/load.js';
import { defaultProfilesDir } from './paths.js';

interface DecodeOpts {
  profile: string;
  hex?: string;
  fport?: string;
  file?: string;
  profiles: string;
  param?: string[];
}

/**
 * `--param name=value` on top of the profile's own params, as a device's `params:` in the config does (a
 * transducer's range, say): only names the profile has; numbers and true/false typed as such.
 */
export function decodeParams(defaults: Record<string, number | string | boolean>, given: readonly string[], profileId: string): Record<string, number | string | boolean> {
  const out = { ...defaults };
  for (const g of given) {
    const m = /^([^=\s]+)=(.*)$/.exec(g);
    if (!m) throw new Error(`--param ${g}: write name=value, e.g. --param ${Object.keys(defaults)[0] ?? 'name'}=10`);
    const [, name, raw] = m as unknown as [string, string, string];
    if (!Object.hasOwn(defaults, name)) throw new Error(`--param ${name}: profile ${profileId} has no parameter "${name}" (it has: ${Object.keys(defaults).map((k) => `${k}=${String(defaults[k])}`).join(', ') || 'none'})`);
    out[name] = raw === 'true' || raw === 'false' ? raw === 'true' : raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return out;
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description('decode one payload with a device profile; prints JSON with raw (vendor fields) and metrics (canonical, SI)')
    .requiredOption('-p, --profile <id>', 'device profile id')
    .option('--hex <bytes>', 'payload bytes in hex (spaces allowed)')
    .option('--fport <n>', 'LoRaWAN fPort of the payload')
    .option('--file <file>', 'a network-server uplink message (The Things Stack v3, ChirpStack v4 or v3 JSON), or a device JSON payload')
    .option('--param <name=value>', "a parameter of the device's profile, as the device's params: in the config (repeat for several), e.g. --param pmax_bar=16", (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option('--profiles <dir>', 'device profile folder', defaultProfilesDir)
    .action((o: DecodeOpts) => {
      const profiles = loadProfiles([o.profiles]);
      const p = profiles.get(o.profile)?.profile;
      if (!p) throw new Error(`unknown profile "${o.profile}" (known: ${[...profiles.keys()].sort().join(', ')})`);
      const given = o.param ?? [];
      const params = decodeParams(p.params, given, p.id);
      let content;
      let meta: Record<string, unknown> = {};
      if (o.hex !== undefined) {
        const hex = o.hex.replace(/[\s:]/g, '').replace(/^0x/i, '');
        if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`--hex: "${o.hex}" is not a whole number of hex bytes`);
        if (o.fport === undefined) throw new Error('--fport is needed with --hex');
        const fPort = Number(o.fport);
        if (!Number.isInteger(fPort) || fPort < 0 || fPort > 255) throw new Error(`--fport: ${o.fport} is not an fPort (0-255)`);
        content = { kind: 'bytes' as const, bytes: Buffer.from(hex, 'hex'), fPort };
      } else if (o.file) {
        const text = readFileSync(o.file, 'utf8');
        if (p.transport === 'lorawan') {
          const json = JSON.parse(text) as Record<string, unknown>;
          const up = 'uplink_message' in json ? parseTtnV3Uplink('', text) : parseChirpStackUp('', text);
          meta = { format: up.format, devEui: up.devEui, fPort: up.fPort, ...(up.deviceName && { deviceName: up.deviceName }) };
          content = { kind: 'bytes' as const, bytes: up.bytes, fPort: up.fPort };
        } else {
          content = { kind: 'json' as const, text };
        }
      } else {
        throw new Error('give --hex BYTES --fport N, or --file MESSAGE.json');
      }
      try {
        const out = decodeUplink(p, builtinCodecs(), content, params);
        process.stdout.write(JSON.stringify({ profile: p.id, ...meta, ...(given.length && { params }), raw: out.raw, metrics: out.metrics }, null, 2) + '\n');
      } catch (e) {
        if (e instanceof Rejection) throw new Error(`${e.reason}: ${e.message}`);
        throw e;
      }
    });
}
