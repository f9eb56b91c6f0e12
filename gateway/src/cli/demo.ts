import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import mqtt from 'mqtt';
import { uplinkTopics, uuidv7, type UplinkMessage } from '@gridgate/contract';
import { GatewayHost } from '../runtime/host.js';
import { generatePassword, hashPassword } from '../southbound/broker/credentials.js';
import { createLogger } from '../util/log.js';
import { gatewayVersion, firmwareConfigsDir, repoRoot } from './paths.js';
import { simulatedDevices, simulatorFor } from './simulate.js';
import { loadFakes, type DemoBridge, type FaultWindow } from './dev-fakes.js';

/** The simulated lighting cabinet behind OPC-UA: its circuit 2 loses power (seconds after start). */
export const DEMO_CABINET_FAULT = { cabinet: 1, circuit: 2, fromS: 16, toS: 28 };

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
    .description('run the whole path on this machine: simulated sensors → gateway → central broker → cloud bridge → case inbox, and the case verified back')
    .option('-d, --duration <s>', 'stop after this many seconds (default: run until Ctrl-C)')
    .option('-i, --interval <s>', 'seconds between reports of each simulated device', '2')
    .action(async (o: DemoOpts) => {
      // The fake devices and the central side, first: where they are absent (the production bundle) nothing starts.
      const [{ CentralBroker, feedLine, freePortOr, startDemoBridge, DemoOperator }, simFakes, { CabinetSim }] = await Promise.all([
        loadFakes('demo', 'demo'),
        loadFakes('demo', 'sim'),
        loadFakes('demo', 'opcuaCabinet'),
      ]);
      const gatewayId = 'gw-demo-01';
      const prefix = 'gridgate/v1';
      const pw = { gateway: generatePassword(), viewer: generatePassword(), lnsReader: generatePassword(), lnsWriter: generatePassword(), bridge: generatePassword() };
      const central = new CentralBroker({
        [gatewayId]: { password: pw.gateway, publish: [`${prefix}/${gatewayId}/#`], subscribe: [`${prefix}/${gatewayId}/cmd`] },
        viewer: { password: pw.viewer, publish: [`${prefix}/+/cmd`], subscribe: [`${prefix}/#`] },
        'lns-reader': { password: pw.lnsReader, publish: [], subscribe: ['application/#'] },
        'lns-sim': { password: pw.lnsWriter, publish: ['application/#'], subscribe: [] },
        bridge: { password: pw.bridge, publish: [`${prefix}/+/cmd`], subscribe: [`${prefix}/+/report`, `${prefix}/+/cmd/reply`] },
      });
      const centralPort = await central.listen(await freePortOr(Number(process.env.GRIDGATE_DEMO_CENTRAL_PORT ?? 18830)));
      const brokerPort = await freePortOr(Number(process.env.GRIDGATE_DEMO_BROKER_PORT ?? 18831));
      const apiPort = await freePortOr(Number(process.env.GRIDGATE_DEMO_API_PORT ?? 18080));
      const apiToken = generatePassword();
      const consolePassword = generatePassword();
      const dataDir = mkdtempSync(join(tmpdir(), 'gridgate-demo-'));
      const centralUrl = `mqtt://127.0.0.1:${centralPort}`;
      // A lighting cabinet (照明控制柜) with an OPC-UA server, simulated on this machine. The demo stands in
      // for the field engineer who runs `gridgate opcua trust`: it trusts this server's certificate, nothing else.
      const opcuaPort = await freePortOr(Number(process.env.GRIDGATE_DEMO_OPCUA_PORT ?? 48400));
      const { trustCertificate } = await import('../southbound/opcua/pki.js');
      const { readCertificate } = await import('node-opcua-crypto');
      const cabinet = new CabinetSim({ port: opcuaPort, pkiDir: join(dataDir, 'opcua-sim-pki') });
      await trustCertificate(join(dataDir, 'opcua-pki'), readCertificate(await cabinet.ensureCertificate()));
      await cabinet.start();
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
        GRIDGATE_CONSOLE_PASSWORD_HASH: await hashPassword(consolePassword),
        GRIDGATE_DATA_DIR: dataDir,
        GRIDGATE_OPCUA_URL: cabinet.endpointUrl,
      };
      // The cloud bridge first, so its subscription is in place before the first report.
      const out = (s: string) => process.stdout.write(s + '\n');
      const bridgePort = await freePortOr(Number(process.env.GRIDGATE_DEMO_BRIDGE_PORT ?? 18090));
      const bridgeToken = generatePassword();
      let bridge: DemoBridge | undefined;
      try {
        bridge = await startDemoBridge({ repoRoot, dataDir, centralUrl, username: 'bridge', password: pw.bridge, apiPort: bridgePort, token: bridgeToken, onError: out });
      } catch (e) {
        out(`cloud bridge did not start: ${(e as Error).message}`);
      }
      const operator = bridge && new DemoOperator(bridge, out);
      const configFile = join(firmwareConfigsDir, 'demo.yaml');
      const log = createLogger(process.env.GRIDGATE_LOG_LEVEL ?? 'warn');
      const host = new GatewayHost(configFile, log, { version: gatewayVersion() }, env);
      const gw = await host.start();
      const topics = uplinkTopics(prefix, gatewayId);

      out('');
      out('GridGate demo: simulated street sensors → gateway → central broker → cloud bridge → case inbox');
      out(`  central broker  ${centralUrl}   user viewer / password ${pw.viewer} (random, this run only)`);
      out(`  topics          ${prefix}/${gatewayId}/#  (telemetry, alarm, report, device/+/availability, status)`);
      out(`  watch it        mosquitto_sub -h 127.0.0.1 -p ${centralPort} -u viewer -P ${pw.viewer} -t '${prefix}/#' -v`);
      out(`  device broker   mqtt://127.0.0.1:${brokerPort}  (devices publish to devices/{id}/up)`);
      out(`  OPC-UA cabinet  ${cabinet.endpointUrl}  (simulated lighting cabinet, SignAndEncrypt; browse it: gridgate opcua browse ${cabinet.endpointUrl})`);
      out(`  web console     http://127.0.0.1:${apiPort}/console/   (user admin / password ${consolePassword}, random, this run only)`);
      out(`  gateway API     curl -H 'Authorization: Bearer ${apiToken}' http://127.0.0.1:${apiPort}/api/v1/status   (metrics: /metrics, health: /healthz)`);
      if (bridge) {
        out(`  case inbox      http://127.0.0.1:${bridge.apiPort}/inbox   (browser: any user name, password ${bridgeToken})`);
        out(`  bridge API      curl -H 'Authorization: Bearer ${bridgeToken}' http://127.0.0.1:${bridge.apiPort}/api/v1/stats`);
      } else {
        out('  case inbox      (cloud bridge not built: run npm run build to see cases end to end)');
      }
      out(`  config          ${configFile}   state in ${dataDir}`);
      out('  story           hydrant-001 opened at ~6 s, light-101 lamp fails at ~8 s, cover-001 tilts at ~12 s, hydrant-102 goes silent;');
      out('                  each alarm a crew must act on becomes a case report with its unit grid; the operator dispatches it and');
      out('                  marks it handled; the gateway checks with the same sensor and reports it verified; the case closes (~40 s);');
      out(`                  cabinet-101 (OPC-UA) loses circuit ${DEMO_CABINET_FAULT.circuit} at ~${DEMO_CABINET_FAULT.fromS} s`);
      out('');

      const viewer = await mqtt.connectAsync(centralUrl, { username: 'viewer', password: pw.viewer, clientId: `demo-viewer-${process.pid}` });
      const lastTelemetry = new Map<string, number>();
      const acked = new Set<string>();
      await viewer.subscribeAsync(`${prefix}/#`, { qos: 1 });
      viewer.on('message', (topic, payload) => {
        let msg: UplinkMessage;
        try {
          msg = JSON.parse(payload.toString()) as UplinkMessage;
        } catch {
          return;
        }
        if (topic === topics.cmd) {
          const c = msg as unknown as { command?: string; status?: string; caseId?: string };
          if (c.command === 'case.status') out(`${new Date().toTimeString().slice(0, 8)} CASE  ${(c.caseId ?? '').padEnd(10)} bridge → gateway: case.status ${c.status}`);
          return;
        }
        const line = feedLine(msg, lastTelemetry, Date.now());
        if (line) out(line);
        if (msg.type === 'report' && msg.status === 'new') operator?.onNewReport(msg.reportId);
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
      const devices = simulatedDevices(loaded);
      const sim = simulatorFor(simFakes, { ...loaded, config: { ...loaded.config, lns: loaded.config.lns.map((l) => ({ ...l, username: 'lns-sim', password: pw.lnsWriter })) } }, devices, {
        intervalMs: Number(o.interval) * 1000,
        plan: DEMO_PLAN,
        seed: 7,
        brokerPort,
      });
      await sim.start();
      const { cabinet: cab, circuit, fromS, toS } = DEMO_CABINET_FAULT;
      const faults = [setTimeout(() => cabinet.failCircuit(cab, circuit, true), fromS * 1000), setTimeout(() => cabinet.failCircuit(cab, circuit, false), toS * 1000)];

      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        for (const t of faults) clearTimeout(t);
        await sim.stop();
        operator?.stop();
        await viewer.endAsync();
        await host.stop();
        await bridge?.stop();
        await cabinet.stop();
        await central.close();
        out(`demo stopped: ${sim.published} device messages simulated`);
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      if (o.duration) setTimeout(() => void stop(), Number(o.duration) * 1000);
    });
}
