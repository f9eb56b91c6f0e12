import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import mqtt from 'mqtt';
import { uplinkTopics, type UplinkMessage } from '@gridgate/contract';
import { CentralBroker } from '../demo/central-broker.js';
import { feedLine } from '../demo/feed.js';
import { GatewayHost } from '../runtime/host.js';
import { generatePassword } from '../southbound/broker/credentials.js';
import { createLogger } from '../util/log.js';
import { uuidv7 } from '../util/uuidv7.js';
import { gatewayVersion, firmwareConfigsDir } from './paths.js';
import { simulatedDevices, simulatorFor } from './simulate.js';
import type { FaultWindow } from '../sim/scenario.js';
import { freePortOr } from '../demo/ports.js';

/** The demo's story: what goes wrong when (seconds after start). Device ids are those of firmware-configs/demo.yaml. */
export const DEMO_PLAN: FaultWindow[] = [
  { deviceId: 'cover-001', fault: 'tilted', fromS: 12, toS: 19 }, // after the 5 samples that teach its baseline
  { deviceId: 'hydrant-001', fault: 'hydrant-opened', fromS: 6, toS: 15 },
  { deviceId: 'light-101', fault: 'lamp-failure', fromS: 8, toS: 17 },
  { deviceId: 'hydrant-102', fault: 'silent', fromS: 4, toS: 40 },
];

interface DemoOpts {
  duration?: string;
  interval: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole path on this machine: simulated sensors → gateway → central broker, with alarms raised and cleared')
    .option('-d, --duration <s>', 'stop after this many seconds (default: run until Ctrl-C)')
    .option('-i, --interval <s>', 'seconds between reports of each simulated device', '2')
    .action(async (o: DemoOpts) => {
      const gatewayId = 'gw-demo-01';
      const prefix = 'gridgate/v1';
      const pw = { gateway: generatePassword(), viewer: generatePassword(), lnsReader: generatePassword(), lnsWriter: generatePassword() };
      const central = new CentralBroker({
        [gatewayId]: { password: pw.gateway, publish: [`${prefix}/${gatewayId}/#`], subscribe: [`${prefix}/${gatewayId}/cmd`] },
        viewer: { password: pw.viewer, publish: [`${prefix}/+/cmd`], subscribe: [`${prefix}/#`] },
        'lns-reader': { password: pw.lnsReader, publish: [], subscribe: ['application/#'] },
        'lns-sim': { password: pw.lnsWriter, publish: ['application/#'], subscribe: [] },
      });
      const centralPort = await central.listen(await freePortOr(Number(process.env.GRIDGATE_DEMO_CENTRAL_PORT ?? 18830)));
      const brokerPort = await freePortOr(Number(process.env.GRIDGATE_DEMO_BROKER_PORT ?? 18831));
      const apiPort = await freePortOr(Number(process.env.GRIDGATE_DEMO_API_PORT ?? 18080));
      const apiToken = generatePassword();
      const dataDir = mkdtempSync(join(tmpdir(), 'gridgate-demo-'));
      const centralUrl = `mqtt://127.0.0.1:${centralPort}`;
      const env = {
        ...process.env,
        GRIDGATE_CENTRAL_URL: centralUrl,
        GRIDGATE_CENTRAL_PASSWORD: pw.gateway,
        GRIDGATE_LNS_URL: centralUrl,
        GRIDGATE_LNS_PASSWORD: pw.lnsReader,
        GRIDGATE_DEVICE_KEY_SECRET: randomBytes(24).toString('base64url'),
        GRIDGATE_BROKER_PORT: String(brokerPort),
        GRIDGATE_API_PORT: String(apiPort),
        GRIDGATE_API_TOKEN: apiToken,
        GRIDGATE_DATA_DIR: dataDir,
      };
      const configFile = join(firmwareConfigsDir, 'demo.yaml');
      const log = createLogger(process.env.GRIDGATE_LOG_LEVEL ?? 'warn');
      const host = new GatewayHost(configFile, log, { version: gatewayVersion() }, env);
      const gw = await host.start();
      const topics = uplinkTopics(prefix, gatewayId);

      const out = (s: string) => process.stdout.write(s + '\n');
      out('');
      out('GridGate demo: simulated street sensors → gateway → central broker');
      out(`  central broker  ${centralUrl}   user viewer / password ${pw.viewer} (random, this run only)`);
      out(`  topics          ${prefix}/${gatewayId}/#  (telemetry, alarm, report, device/+/availability, status)`);
      out(`  watch it        mosquitto_sub -h 127.0.0.1 -p ${centralPort} -u viewer -P ${pw.viewer} -t '${prefix}/#' -v`);
      out(`  device broker   mqtt://127.0.0.1:${brokerPort}  (devices publish to devices/{id}/up)`);
      out(`  gateway API     curl -H 'Authorization: Bearer ${apiToken}' http://127.0.0.1:${apiPort}/api/v1/status   (metrics: /metrics, health: /healthz)`);
      out(`  config          ${configFile}   state in ${dataDir}`);
      out('  story           hydrant-001 opened at ~6 s, light-101 lamp fails at ~8 s, cover-001 tilts at ~12 s, hydrant-102 goes silent');
      out('');

      const viewer = await mqtt.connectAsync(centralUrl, { username: 'viewer', password: pw.viewer, clientId: `demo-viewer-${process.pid}` });
      const lastTelemetry = new Map<string, number>();
      const acked = new Set<string>();
      await viewer.subscribeAsync(`${prefix}/#`, { qos: 1 });
      viewer.on('message', (_topic, payload) => {
        let msg: UplinkMessage;
        try {
          msg = JSON.parse(payload.toString()) as UplinkMessage;
        } catch {
          return;
        }
        const line = feedLine(msg, lastTelemetry, Date.now());
        if (line) out(line);
        // The operator at the centre acknowledges the tilted cover a few seconds after it is raised.
        if (msg.type === 'alarm' && msg.state === 'raised' && msg.deviceId === 'cover-001' && !acked.has(msg.alarmId)) {
          acked.add(msg.alarmId);
          setTimeout(() => {
            const cmd = { id: uuidv7(), ts: new Date().toISOString(), command: 'alarm.ack', alarmId: msg.alarmId, by: 'operator-demo' };
            void viewer.publishAsync(topics.cmd, JSON.stringify(cmd), { qos: 1 });
          }, 3000);
        }
      });

      const loaded = { file: configFile, config: gw.config, profiles: gw.profiles };
      const devices = simulatedDevices(loaded, loaded.config.devices.length);
      const sim = simulatorFor({ ...loaded, config: { ...loaded.config, lns: loaded.config.lns.map((l) => ({ ...l, username: 'lns-sim', password: pw.lnsWriter })) } }, devices, {
        intervalMs: Number(o.interval) * 1000,
        plan: DEMO_PLAN,
        seed: 7,
        brokerPort,
      });
      await sim.start();

      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await sim.stop();
        await viewer.endAsync();
        await host.stop();
        await central.close();
        out(`demo stopped: ${sim.published} device messages simulated`);
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      if (o.duration) setTimeout(() => void stop(), Number(o.duration) * 1000);
    });
}
