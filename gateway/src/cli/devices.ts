import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { deviceTopics } from '@gridgate/contract';
import { existingIds } from '../southbound/cameras/config-writer.js';
import { ConfigRefused, writeConfigSafely } from '../config/safe-write.js';
import { currentConfig } from './config-file.js';
import type { LoadedConfig } from '../config/load.js';
import type { DeviceProfile } from '../profiles/schema.js';
import { examplePayload } from '../profiles/simulation.js';
import { generatePassword, hashPassword } from '../southbound/broker/credentials.js';
import { parseLocation } from './init.js';
import { apiTargetFromConfig, callApi } from './running-gateway.js';

interface AddOptions {
  config: string;
  profile: string;
  id: string;
  location?: string;
  name?: string;
  gridId?: string;
  address?: string;
  devEui?: string;
  lns?: string;
  reload?: boolean;
}

/** A device entry for the config (what `devices add` writes). */
export interface DeviceEntry {
  id: string;
  profile: string;
  name?: string;
  location?: { lat: number; lon: number };
  gridId?: string;
  address?: string;
  lorawan?: { devEui: string; lns?: string };
  credentials?: { passwordHash: string };
}

/** Appends a device to `devices:` keeping the rest of the file (comments, order); flow style for small maps. */
export function addDeviceToConfig(text: string, entry: DeviceEntry): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`the config is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (!isMap(doc.contents)) throw new Error('the config is not a YAML mapping');
  const existing: unknown = doc.get('devices', true);
  let seq = existing as YAMLSeq;
  if (!isSeq(existing)) {
    if (existing !== undefined && !(isScalar(existing) && existing.value === null)) throw new Error('`devices` in the config is not a list');
    doc.set('devices', doc.createNode([]));
    seq = doc.get('devices', true) as YAMLSeq;
  }
  seq.flow = false;
  const node = doc.createNode(entry) as YAMLMap;
  for (const key of ['location', 'lorawan', 'credentials']) {
    const v = node.get(key, true);
    if (isMap(v)) v.flow = true;
  }
  for (const key of ['gridId']) {
    const v = node.get(key, true);
    if (isScalar(v)) v.type = 'QUOTE_DOUBLE';
  }
  const lw = node.get('lorawan', true);
  if (isMap(lw)) {
    const eui = lw.get('devEui', true);
    if (isScalar(eui)) eui.type = 'QUOTE_DOUBLE';
  }
  seq.add(node);
  return doc.toString({ lineWidth: 0 });
}

/** Which unit grid the device gets, and why (its own, the map at its location, or the gateway's fallback). */
function gridNote(loaded: LoadedConfig, e: Pick<DeviceEntry, 'gridId' | 'location'>): string {
  const gw = loaded.config.gateway;
  if (e.gridId) return `${e.gridId} (given)`;
  const loc = e.location ?? gw.location;
  const g = loc && loaded.grids?.map.lookup(loc);
  if (g) return `${g.code}${g.name ? ` ${g.name}` : ''} (from the grid map at ${e.location ? 'its' : "the gateway's"} location)`;
  if (loc && loaded.grids) return `${gw.gridId} (the gateway's: ${loc.lat}, ${loc.lon} is outside every grid of the map; check the location or give --grid-id)`;
  return gw.gridId ? `${gw.gridId} (the gateway's)` : 'none (no location, no grid id)';
}

export function registerDevices(program: Command): void {
  const devices = program.command('devices').description('the sensors of a gateway config: add, list, remove, rotate-password');
  devices
    .command('add')
    .description('add a sensor to the config (comments kept; validated before writing) and print its MQTT credentials once (the config keeps only a scrypt hash) and the topic it publishes to')
    .requiredOption('-c, --config <file>', 'gateway config')
    .requiredOption('--profile <id>', 'device profile (device-profiles/*.yaml)')
    .requiredOption('--id <id>', 'device id, unique on this gateway (letters, digits, ".", "_", "-")')
    .option('--location <lat,lon>', 'where the device is (WGS84); its unit grid is looked up in the grid map')
    .option('--name <text>', 'a name people recognise (street, number)')
    .option('--grid-id <code>', 'unit grid, when the location does not settle it')
    .option('--address <text>', 'street address, carried by case reports')
    .option('--dev-eui <hex>', 'LoRaWAN devices: the DevEUI (16 hex digits)')
    .option('--lns <id>', 'LoRaWAN devices: which network-server connection brings its uplinks (default: any)')
    .option('--reload', 'then ask the running gateway to reload its config (through its API)')
    .action(async (o: AddOptions) => {
      const text = readFileSync(o.config, 'utf8');
      const loaded = currentConfig(o.config, text);
      const lp = loaded.profiles.get(o.profile);
      if (!lp) throw new Error(`--profile ${o.profile}: no such device profile (known: ${[...loaded.profiles.keys()].sort().join(', ')})`);
      const profile = lp.profile;
      if (existingIds(text).has(o.id)) throw new Error(`--id ${o.id}: ${o.config} already has a device or camera with this id`);
      if (profile.transport === 'lorawan' && !o.devEui) throw new Error(`profile ${profile.id} is a LoRaWAN device: give --dev-eui (16 hex digits, on the device's label)`);
      if (profile.transport !== 'lorawan' && (o.devEui || o.lns)) throw new Error(`profile ${profile.id} is not a LoRaWAN device: --dev-eui and --lns do not apply`);
      const location = o.location ? parseLocation(o.location) : undefined;
      // As init: a location outside every grid of the map is a mistake (swapped, GCJ-02, another street), not
      // a device for the gateway's own grid. --grid-id says which grid it is in.
      if (location && !o.gridId && loaded.grids && !loaded.grids.map.lookup(location)) {
        throw new Error(`--location ${o.location} is outside every grid of ${loaded.grids.file}: check the location (WGS84, lat,lon) and the map's datum (grids.crs), or give --grid-id`);
      }
      const password = profile.transport === 'mqtt-json' ? generatePassword() : undefined;
      const entry: DeviceEntry = {
        id: o.id,
        profile: profile.id,
        ...(o.name && { name: o.name }),
        ...(location && { location }),
        ...(o.gridId && { gridId: o.gridId }),
        ...(o.address && { address: o.address }),
        ...(o.devEui && { lorawan: { devEui: o.devEui.toLowerCase(), ...(o.lns && { lns: o.lns }) } }),
        ...(password && { credentials: { passwordHash: await hashPassword(password) } }),
      };
      try {
        writeConfigSafely(o.config, addDeviceToConfig(text, entry), { placeholders: true });
      } catch (e) {
        if (e instanceof ConfigRefused) throw new Error(e.message.replace('was not changed: the new config', `was not changed: with device ${o.id} the config`));
        throw e;
      }
      const out: string[] = [`added ${o.id} (${profile.id}: ${profile.vendor} ${profile.model}) to ${o.config}`];
      out.push(`  unit grid ${gridNote(loaded, entry)}`);
      if (password) {
        const b = loaded.config.broker;
        const host = b.host === '0.0.0.0' || b.host === '::' ? '<gateway address>' : b.host;
        const example = examplePayload(profile);
        out.push(
          '',
          'MQTT credentials: shown this once, the config keeps only a hash. Write them into the device now.',
          ...(b.plain ? [`  broker    mqtt://${host}:${b.port}`] : []),
          ...(b.tls ? [`  broker    mqtts://${b.tls.host && b.tls.host !== '0.0.0.0' ? b.tls.host : host}:${b.tls.port}`] : []),
          `  username  ${o.id}`,
          `  password  ${password}`,
          `  client id ${o.id}   (the device id; a further connection ${o.id}:<suffix>. MQTT 3.1.1)`,
          `  publish   ${deviceTopics.up(o.id)}   (one JSON object per report${example ? `, e.g. ${example}` : ''})`,
          `  subscribe ${deviceTopics.cmd(o.id)}  (commands to the device, if it takes any)`,
          ...(b.plain ? ['', `  test:  mosquitto_pub -h ${host === '<gateway address>' ? '<gateway address>' : host} -p ${b.port} -i ${o.id} -u ${o.id} -P '${password}' -t ${deviceTopics.up(o.id)} -m '${example ?? '{}'}'`] : []),
        );
        if (!b.enabled) out.push('', 'note: broker.enabled is false in this config: the embedded broker is off, the device cannot connect yet');
      } else if (profile.transport === 'lorawan') {
        out.push(`LoRaWAN: the uplinks of DevEUI ${entry.lorawan!.devEui} come through ${o.lns ? `network server ${o.lns}` : 'the configured network servers'}; no MQTT credentials on this gateway.`);
      } else {
        out.push(`${profile.transport} device: no MQTT credentials on this gateway.`);
      }
      out.push('', await reloadNote(o));
      process.stdout.write(`${out.join('\n')}\n`);
    });

  devices
    .command('list')
    .description('the sensors in the config: id, profile, unit grid (and where it comes from), location, name, credentials')
    .requiredOption('-c, --config <file>', 'gateway config')
    .option('--json', 'print them as JSON')
    .action((o: { config: string; json?: boolean }) => {
      const loaded = currentConfig(o.config, readFileSync(o.config, 'utf8'));
      const rows = loaded.config.devices.map((d) => ({
        id: d.id,
        profile: d.profile,
        grid: gridNote(loaded, d),
        ...(d.location && { location: d.location }),
        ...(d.name && { name: d.name }),
        credentials: d.lorawan ? `LoRaWAN ${d.lorawan.devEui}` : d.credentials ? 'password (hash)' : loaded.profiles.get(d.profile)?.profile.transport === 'mqtt-json' ? 'derived (broker.deviceKeySecret)' : '-',
      }));
      if (o.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      if (!rows.length) return void process.stdout.write(`${o.config}: no devices (gridgate devices add)\n`);
      const table = rows.map((r) => [r.id, r.profile, r.grid, r.location ? `${r.location.lat},${r.location.lon}` : '-', r.credentials, r.name ?? '']);
      const head = ['id', 'profile', 'unit grid', 'location', 'credentials', 'name'];
      const w = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
      const line = (r: string[]) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(w[i]!) : c)).join('  ').trimEnd();
      process.stdout.write(`${[line(head), ...table.map(line)].join('\n')}\n${rows.length} device(s) in ${o.config}\n`);
    });

  oneDevice(devices, 'remove', 'remove a sensor from the config (comments kept; validated before writing); its credentials stop working after a reload')
    .action(async (o: { config: string; id: string; reload?: boolean }) => {
      const text = readFileSync(o.config, 'utf8');
      currentConfig(o.config, text);
      saveDeviceEdit(o, editDevice(text, o.id, (seq, i) => seq.delete(i)));
      process.stdout.write(`removed ${o.id} from ${o.config}\n\n${await reloadNote(o)}\n`);
    });

  oneDevice(devices, 'rotate-password', 'give an MQTT sensor a new password: printed once, only its scrypt hash written (comments kept; validated before writing); the old one stops working after a reload')
    .action(async (o: { config: string; id: string; reload?: boolean }) => {
      const text = readFileSync(o.config, 'utf8');
      const loaded = currentConfig(o.config, text);
      const d = loaded.config.devices.find((x) => x.id === o.id);
      const transport = d && loaded.profiles.get(d.profile)?.profile.transport;
      if (d && transport !== 'mqtt-json') throw new Error(`${o.id} is a ${transport} device: it has no MQTT password on this gateway`);
      const password = generatePassword();
      const hash = await hashPassword(password);
      saveDeviceEdit(
        o,
        editDevice(text, o.id, (seq, i, doc) => {
          const item = seq.items[i] as YAMLMap;
          const creds = doc.createNode({ passwordHash: hash }) as YAMLMap;
          creds.flow = true;
          const old = item.get('credentials', true);
          if (isMap(old)) old.set('passwordHash', hash);
          else item.set('credentials', creds);
        }),
      );
      process.stdout.write(
        [
          `new MQTT password for ${o.id} in ${o.config}: shown this once, the config keeps only a hash. Write it into the device now.`,
          `  username  ${o.id}`,
          `  password  ${password}`,
          '',
          await reloadNote(o),
        ].join('\n') + '\n',
      );
    });
}

/** A `devices` subcommand on one device of a config, with `--reload`. */
function oneDevice(devices: Command, name: string, description: string): Command {
  return devices
    .command(name)
    .description(description)
    .requiredOption('-c, --config <file>', 'gateway config')
    .requiredOption('--id <id>', 'the device id')
    .option('--reload', 'then ask the running gateway to reload its config (through its API)');
}

/** The config text with `fn` applied to one device's entry; an unknown id names the ones there are. */
export function editDevice(text: string, id: string, fn: (seq: YAMLSeq, index: number, doc: Document) => void): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`the config is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const seq = doc.get('devices', true);
  const items = isSeq(seq) ? seq.items : [];
  const i = items.findIndex((item) => isMap(item) && String(item.get('id')) === id);
  if (i < 0) {
    const ids = items.map((item) => (isMap(item) ? String(item.get('id')) : '?'));
    throw new Error(`--id ${id}: no such device (${ids.length ? `there are: ${ids.join(', ')}` : 'the config has no devices'})`);
  }
  fn(seq as YAMLSeq, i, doc);
  return doc.toString({ lineWidth: 0 });
}

function saveDeviceEdit(o: { config: string; id: string }, text: string): void {
  try {
    writeConfigSafely(o.config, text, { placeholders: true });
  } catch (e) {
    if (e instanceof ConfigRefused) throw new Error(e.message.replace('was not changed: the new config', `was not changed: with this change to ${o.id} the config`));
    throw e;
  }
}

/** `--reload`: the running gateway reloads through its API; otherwise how to make it. */
async function reloadNote(o: { config: string; reload?: boolean }): Promise<string> {
  if (!o.reload) return 'the running gateway uses it after a reload: add --reload, send SIGHUP, or systemctl reload gridgate';
  await callApi(apiTargetFromConfig(o.config), 'POST', '/api/v1/config/reload');
  return 'the running gateway is reloading its config';
}
