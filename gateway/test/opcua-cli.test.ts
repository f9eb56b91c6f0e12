import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadProfiles } from '../src/profiles/load.js';
import type { CabinetSim } from '../fakes/sim/opcua-cabinet.js';
import { OpcuaEndpoint } from '../src/southbound/opcua/endpoint.js';
import { runCli } from './helpers/gateway-process.js';
import { freePort, waitFor } from './helpers/net.js';
import { captureLog, endpointYaml, planFor, Recorder, removeTempDirs, startSim, tempPki } from './helpers/opcua.js';

// `gridgate opcua browse / trust` as a field engineer runs them (the real CLI, a real server), and a
// drafted profile that then reads the cabinet.

let sim: CabinetSim;
const stops: Array<() => Promise<void>> = [];
before(async () => {
  sim = await startSim();
});
after(async () => {
  for (const s of stops) await s();
  await sim?.stop();
  removeTempDirs();
});

test('browse: endpoints and security, the address space to a depth, and a draft profile that reads the cabinet', async () => {
  const pki = tempPki();
  const file = join(pki, 'drafts', 'cabinet-draft.yaml');
  const r = await runCli(['opcua', 'browse', sim.endpointUrl, '--pki', pki, '--root', 'ns=1;s=Cabinet01', '--depth', '1', '--write-profile', file, '--by-path', '--select', 'Door|Lux', '--asset-type', 'lighting-cabinet']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Endpoints of opc\.tcp:\/\/127\.0\.0\.1:\d+:$/m);
  assert.match(r.stdout, /^ {2}None \/ None \(.*anonymous.*\)$/m);
  assert.match(r.stdout, /^ {2}SignAndEncrypt \/ Basic256Sha256 \(.*\) {3}server certificate [0-9a-f]{16}…$/m);
  assert.match(r.stdout, /^ {2}Circuit1 +ns=1;s=Cabinet01\.Circuit1 +Object$/m);
  assert.match(r.stdout, /^ {2}Lux +ns=1;s=Cabinet01\.Lux +Double \[lx\] = [\d.]+$/m);
  assert.doesNotMatch(r.stdout, /Voltage/, 'depth 1 stops above the circuits');
  assert.match(r.stderr, /\d+ nodes, depth 1/, 'progress on stderr');
  assert.match(r.stdout, /wrote .*cabinet-draft\.yaml: profile cabinet-draft with 2 metric\(s\)/);

  const draft = loadProfiles([join(pki, 'drafts')]).get('cabinet-draft')!.profile;
  assert.deepEqual(draft.metrics.map((m) => [m.name, m.type, m.unit]), [['door_open', 'boolean', undefined], ['lux', 'number', 'lx']]);
  // The draft is usable as it is: a device with it, rooted at the cabinet, gets values.
  const { plan } = planFor(endpointYaml(sim.endpointUrl, 'securityMode: None'), '  - { id: cab-d, profile: cabinet-draft, opcua: { endpoint: ep, root: "ns=1;s=Cabinet01" } }', { 'cabinet-draft': readFileSync(file, 'utf8') });
  const rec = new Recorder();
  const e = new OpcuaEndpoint(plan, rec.deps(tempPki(), captureLog().log));
  stops.push(() => e.stop());
  e.start();
  await waitFor('values through the drafted profile', () => rec.valuesOf('cab-d', 'lux').length > 0 && rec.valuesOf('cab-d', 'door_open').length > 0);
  await e.stop();
});

test('trust: shown, then trusted only on a matching thumbprint; never silently', async () => {
  const pki = tempPki();
  const shown = await runCli(['opcua', 'trust', sim.endpointUrl, '--pki', pki]);
  assert.equal(shown.code, 1, 'no confirmation, nothing trusted');
  assert.match(shown.stdout, /"GridGate cabinet simulator" \(self-signed\), valid .*SHA-1 thumbprint ([0-9a-f]{40})/);
  const thumbprint = /SHA-1 thumbprint ([0-9a-f]{40})/.exec(shown.stdout)![1]!;
  assert.match(shown.stderr, new RegExp(`not trusted\\. Compare the thumbprint with the server's, then run again with --thumbprint ${thumbprint}`));
  assert.equal(readdirSync(join(pki, 'trusted/certs')).length, 0);

  // A thumbprint that does not match trusts nothing (the same action, in this process: no second CLI start-up).
  const { trust } = await import('../src/cli/opcua-actions.js');
  await assert.rejects(trust(sim.endpointUrl, { pki, thumbprint: '00'.repeat(20) }), /not 0000.*nothing trusted \(is it the right server\?\)/);
  assert.equal(readdirSync(join(pki, 'trusted/certs')).length, 0);

  const ok = await runCli(['opcua', 'trust', sim.endpointUrl, '--pki', pki, '--thumbprint', thumbprint.toUpperCase().replace(/(..)/g, '$1:').slice(0, -1)]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^trusted: /m);
  assert.equal(readdirSync(join(pki, 'trusted/certs')).length, 1);
  assert.ok(existsSync(join(pki, 'own/certs/client_certificate.pem')), 'the store has its own certificate too');
});

test('browse of a server that is not there: one clear line and a failing exit code', async () => {
  const port = await freePort();
  const r = await runCli(['opcua', 'browse', `opc.tcp://127.0.0.1:${port}`, '--pki', tempPki()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('gridgate:')).join('\n'), `gridgate: opc.tcp://127.0.0.1:${port}: connection refused at 127.0.0.1:${port}: is the server running and the port right?`);
});
