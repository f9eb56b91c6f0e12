import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { builtinCodecs } from '../profiles/codecs/index.js';
import { decodeUplink } from '../pipeline/decode/decode.js';
import { Rejection } from '../model/readings.js';
import { parseChirpStackV4Up, parseTtnV3Uplink } from '../southbound/lns/formats.js';
import { loadProfiles } from '../profiles/load.js';
import { defaultProfilesDir } from './paths.js';

interface DecodeOpts {
  profile: string;
  hex?: string;
  fport?: string;
  file?: string;
  profiles: string;
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description('decode one payload with a device profile; prints JSON with raw (vendor fields) and metrics (canonical, SI)')
    .requiredOption('-p, --profile <id>', 'device profile id')
    .option('--hex <bytes>', 'payload bytes in hex (spaces allowed)')
    .option('--fport <n>', 'LoRaWAN fPort of the payload')
    .option('--file <file>', 'a network-server uplink message (TTN v3 or ChirpStack v4 JSON), or a device JSON payload')
    .option('--profiles <dir>', 'device profile folder', defaultProfilesDir)
    .action((o: DecodeOpts) => {
      const profiles = loadProfiles([o.profiles]);
      const p = profiles.get(o.profile)?.profile;
      if (!p) throw new Error(`unknown profile "${o.profile}" (known: ${[...profiles.keys()].sort().join(', ')})`);
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
          const up = 'uplink_message' in json ? parseTtnV3Uplink('', text) : parseChirpStackV4Up('', text);
          meta = { devEui: up.devEui, fPort: up.fPort, ...(up.deviceName && { deviceName: up.deviceName }) };
          content = { kind: 'bytes' as const, bytes: up.bytes, fPort: up.fPort };
        } else {
          content = { kind: 'json' as const, text };
        }
      } else {
        throw new Error('give --hex BYTES --fport N, or --file MESSAGE.json');
      }
      try {
        const out = decodeUplink(p, builtinCodecs(), content, p.params);
        process.stdout.write(JSON.stringify({ profile: p.id, ...meta, raw: out.raw, metrics: out.metrics }, null, 2) + '\n');
      } catch (e) {
        if (e instanceof Rejection) throw new Error(`${e.reason}: ${e.message}`);
        throw e;
      }
    });
}
