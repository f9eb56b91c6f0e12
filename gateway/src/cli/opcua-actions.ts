import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { readCertificate, split_der } from 'node-opcua-crypto';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { SourceError } from '../util/yaml-source.js';
import { OWN_CERT, SECURITY_MODES, SECURITY_POLICIES, applicationUriOf, pkiDirOf, type SecurityModeName, type SecurityPolicyName } from '../southbound/opcua/config.js';
import { createClient, describeEndpoint, getEndpoints, userIdentity } from '../southbound/opcua/client.js';
import { describeFailure } from '../southbound/opcua/errors.js';
import { browseTree, resolveStart, type BrowsedNode } from '../southbound/opcua/browse.js';
import { draftYaml } from '../southbound/opcua/draft-profile.js';
import { routeNodeOpcuaLogs } from '../southbound/opcua/opcua-log.js';
import { certInfo, describeCert, ensureOwnCertificate, listCertificates, trustCertificate } from '../southbound/opcua/pki.js';
import { createLogger } from '../util/log.js';
import { loadFakes } from './dev-fakes.js';

// The actions of `gridgate opcua …` (registered in cli/opcua.ts, loaded only when one runs: node-opcua
// takes seconds to import).

interface Identity {
  pkiDir: string;
  applicationName: string;
  applicationUri: string;
  source: string;
}

const out = (s = '') => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

/** Whose certificate store to use: the gateway's (from its config), an explicit folder, or a scratch one. */
function identity(o: { config?: string; pki?: string }, required: boolean): Identity {
  if (o.config) {
    const { config } = loadForCli(o.config);
    return { pkiDir: pkiDirOf(config), applicationName: config.opcua.applicationName, applicationUri: applicationUriOf(config.gateway.id), source: `gateway ${config.gateway.id} (${o.config})` };
  }
  if (o.pki) return { pkiDir: o.pki, applicationName: 'GridGate', applicationUri: applicationUriOf(`cli-${basename(o.pki)}`), source: o.pki };
  if (required) throw new Error('say whose certificate store to use: --config <gateway config> (the usual) or --pki <folder>');
  return { pkiDir: join(tmpdir(), 'gridgate-opcua-cli-pki'), applicationName: 'GridGate CLI', applicationUri: 'urn:gridgate:cli', source: 'a scratch store (use --config to browse as the gateway)' };
}

/**
 * The config, for its PKI folder and identity only: secrets the CLI does not use (uplink password...)
 * need not be in this shell's environment. Where the PKI folder itself depends on one, it must be.
 */
function loadForCli(file: string): LoadedConfig {
  try {
    return loadConfig(file);
  } catch (e) {
    const unset = e instanceof SourceError ? e.problems.map((p) => ({ p, name: /^environment variable (\w+) is not set$/.exec(p.message)?.[1] })) : [];
    if (!unset.length || unset.some((u) => !u.name || /^(gateway\.dataDir|opcua\.pkiDir|gateway\.id|opcua\.applicationName)$/.test(u.p.path))) throw e;
    return loadConfig(file, { ...process.env, ...Object.fromEntries(unset.map((u) => [u.name!, 'placeholder-not-used-by-this-command'])) });
  }
}

const quietLog = () => {
  const log = createLogger(process.env.GRIDGATE_LOG_LEVEL ?? 'warn');
  routeNodeOpcuaLogs(log);
  return log;
};

function checkUrl(url: string): void {
  if (!/^opc\.tcp:\/\/\S+$/.test(url)) throw new Error(`${url}: an OPC-UA endpoint URL looks like opc.tcp://10.0.0.7:4840`);
}

export interface BrowseOpts {
  config?: string;
  pki?: string;
  security?: string;
  policy: string;
  user?: string;
  passwordEnv?: string;
  root?: string;
  depth: string;
  maxNodes: string;
  json?: boolean;
  writeProfile?: string;
  select?: string;
  profileId?: string;
  assetType?: string;
  byPath?: boolean;
  serverNodes?: boolean;
}

export async function browse(url: string, o: BrowseOpts): Promise<void> {
  checkUrl(url);
  quietLog();
  const id = identity(o, false);
  const depth = Number(o.depth);
  const maxNodes = Number(o.maxNodes);
  if (!Number.isInteger(depth) || depth < 1 || depth > 20) throw new Error(`--depth ${o.depth}: give a whole number from 1 to 20`);
  if (!Number.isInteger(maxNodes) || maxNodes < 1) throw new Error(`--max-nodes ${o.maxNodes}: give a positive whole number`);
  const base = { pkiDir: id.pkiDir, applicationName: id.applicationName, applicationUri: id.applicationUri, requestTimeoutMs: 10_000 };
  await ensureOwnCertificate(id.pkiDir, id.applicationName, id.applicationUri);
  const ctx = (mode: string, policy: string) => ({ url, securityMode: mode, securityPolicy: policy, trustHint: `\`gridgate opcua trust ${o.config ? `--config ${o.config}` : `--pki ${id.pkiDir}`} ${url}\`` });

  let endpoints;
  try {
    endpoints = await getEndpoints(url, base);
  } catch (e) {
    throw new Error(`${url}: ${describeFailure(e, ctx('None', 'None')).message}`);
  }
  out(`Endpoints of ${url}:`);
  const seen = new Set<string>();
  for (const e of endpoints) {
    const line = describeEndpoint(e);
    const cert = e.serverCertificate?.length ? certInfo(Buffer.from(e.serverCertificate)) : undefined;
    if (seen.has(line)) continue;
    seen.add(line);
    out(`  ${line}${cert && e.securityMode !== 1 ? `   server certificate ${cert.thumbprint.slice(0, 16)}…` : ''}`);
  }
  const offers = endpoints.map((e) => ({ mode: ['Invalid', 'None', 'Sign', 'SignAndEncrypt'][e.securityMode] ?? '?', policy: (e.securityPolicyUri ?? '').split('#')[1] ?? 'None' }));
  let mode = o.security as SecurityModeName | undefined;
  if (mode && !SECURITY_MODES.includes(mode)) throw new Error(`--security ${mode}: use one of ${SECURITY_MODES.join(', ')}`);
  if (!SECURITY_POLICIES.includes(o.policy as SecurityPolicyName)) throw new Error(`--policy ${o.policy}: use one of ${SECURITY_POLICIES.join(', ')}`);
  if (!mode) {
    if (!offers.some((x) => x.mode === 'None')) {
      throw new Error(`${url} offers no unsecured endpoint: browse with --security SignAndEncrypt (and --policy), after trusting its certificate with \`gridgate opcua trust\``);
    }
    mode = 'None';
  }
  const policy = (mode === 'None' ? 'None' : o.policy) as SecurityPolicyName;
  const password = o.passwordEnv ? process.env[o.passwordEnv] : undefined;
  if (o.passwordEnv && !password) throw new Error(`--password-env ${o.passwordEnv}: that environment variable is not set`);
  if (o.user && !o.passwordEnv) throw new Error('--user needs --password-env VAR (the password is read from the environment, never typed on the command line)');
  const user = o.user ? userIdentity({ kind: 'password', username: o.user, password: password! }) : userIdentity({ kind: 'anonymous' });

  const client = await createClient({ ...base, securityMode: mode, securityPolicy: policy });
  let nodes: BrowsedNode[] = [];
  let truncated = false;
  try {
    await client.connect(url);
    const session = await client.createSession(user);
    const start = await resolveStart(session, o.root);
    err(`browsing from ${o.root ?? 'Objects'} (${mode}/${policy}, depth ${depth}, at most ${maxNodes} nodes)…`);
    const r = await browseTree(session, start, {
      depth,
      maxNodes,
      includeServerNodes: !!o.serverNodes,
      onProgress: (n, d) => {
        if (process.stderr.isTTY) process.stderr.write(`\r  ${n} nodes, depth ${d}   `);
        else err(`  ${n} nodes, depth ${d}`);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    nodes = r.nodes;
    truncated = r.truncated;
    await session.close();
  } catch (e) {
    throw new Error(`${url}: ${describeFailure(e, ctx(mode, policy)).message}`);
  } finally {
    await client.disconnect().catch(() => undefined);
  }

  if (o.json) out(JSON.stringify({ url, endpoints: [...seen], root: o.root ?? 'Objects', nodes, truncated }, null, 2));
  else {
    out(`Address space from ${o.root ?? 'Objects'} (depth ${depth}):`);
    const w = Math.min(48, Math.max(...nodes.map((n) => (n.depth - 1) * 2 + n.displayName.length), 10));
    for (const n of nodes) {
      const name = `${'  '.repeat(n.depth - 1)}${n.displayName}`.padEnd(w);
      const info = n.nodeClass === 'Variable' ? `${n.dataType ?? '?'}${n.unit ? ` [${n.unit}]` : ''}${n.value !== undefined ? ` = ${n.value}` : ''}` : 'Object';
      out(`  ${name}  ${n.nodeId.padEnd(40)}  ${info}`);
    }
    if (truncated) out(`  … stopped at ${maxNodes} nodes (--max-nodes); start lower with --root`);
  }

  if (o.writeProfile) {
    let re: RegExp | undefined;
    try {
      re = o.select ? new RegExp(o.select) : undefined;
    } catch (e) {
      throw new Error(`--select ${o.select}: not a regular expression (${(e as Error).message})`);
    }
    const chosen = nodes.filter((n) => n.nodeClass === 'Variable' && n.dataType && (!re || re.test(n.path) || re.test(n.nodeId)));
    if (!chosen.length) throw new Error(`no variable matches --select ${o.select ?? '(all)'}; the browse found ${nodes.filter((n) => n.nodeClass === 'Variable').length} variable(s)`);
    const file = o.writeProfile;
    const profileId = o.profileId ?? basename(file).replace(/\.ya?ml$/i, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
    const { text, skipped, metrics } = draftYaml(
      chosen.map((n) => ({ nodeId: n.nodeId, path: n.path, dataType: n.dataType!, ...(n.unit && { unit: n.unit }) })),
      { id: profileId, url, byPath: !!o.byPath, ...(o.assetType && { assetType: o.assetType }) },
    );
    if (existsSync(file)) throw new Error(`${file} exists; choose another name (a draft never overwrites a profile)`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    out(`\nwrote ${file}: profile ${profileId} with ${metrics} metric(s)${o.byPath ? ` (browse paths from ${o.root ?? 'Objects'}: set each device's opcua.root)` : ''}`);
    for (const s of skipped) out(`  skipped ${s}`);
    out(`check it with: gridgate config validate <your config>  (after adding a device with profile: ${profileId})`);
  }
}

export interface TrustOpts {
  config?: string;
  pki?: string;
  file?: string;
  thumbprint?: string;
  yes?: boolean;
  list?: boolean;
}

export async function trust(url: string | undefined, o: TrustOpts): Promise<void> {
  quietLog();
  const id = identity(o, true);
  if (o.list) {
    for (const which of ['trusted', 'rejected'] as const) {
      const certs = listCertificates(id.pkiDir, which);
      out(`${which} (${join(id.pkiDir, which === 'trusted' ? 'trusted/certs' : 'rejected')}): ${certs.length ? '' : 'none'}`);
      for (const c of certs) out(`  ${describeCert(c.info)}`);
    }
    return;
  }
  let der: Buffer;
  let from: string;
  if (o.file) {
    der = readCertificate(o.file);
    from = o.file;
  } else {
    if (!url) throw new Error('give the server URL (opc.tcp://host:port) or --file CERT');
    checkUrl(url);
    let eps;
    try {
      eps = await getEndpoints(url, { pkiDir: id.pkiDir, applicationName: id.applicationName, applicationUri: id.applicationUri, requestTimeoutMs: 10_000 });
    } catch (e) {
      throw new Error(`${url}: ${describeFailure(e, { url, securityMode: 'None', securityPolicy: 'None', trustHint: '' }).message}`);
    }
    const certs = [...new Map(eps.filter((e) => e.serverCertificate?.length).map((e) => [certInfo(Buffer.from(e.serverCertificate!)).thumbprint, Buffer.from(e.serverCertificate!)])).values()];
    if (!certs.length) throw new Error(`${url} sends no certificate (it offers security None only): nothing to trust`);
    if (certs.length > 1) throw new Error(`${url} sends ${certs.length} different certificates; trust the one you mean with --file`);
    der = certs[0]!;
    from = url;
  }
  const info = certInfo(der);
  out(`Server certificate from ${from}:`);
  out(`  ${describeCert(info)}`);
  if (split_der(der).length > 1) out(`  (a chain of ${split_der(der).length}: put the issuer CA into ${join(id.pkiDir, 'issuers/certs')} if it is not self-signed)`);
  if (info.notAfter.getTime() < Date.now()) out('  WARNING: it has expired; connections will still be refused until the server has a valid certificate');
  let ok = !!o.yes;
  if (o.thumbprint) {
    const want = o.thumbprint.replace(/[^0-9a-f]/gi, '').toLowerCase();
    if (want !== info.thumbprint) throw new Error(`the server's certificate has thumbprint ${info.thumbprint}, not ${want}: nothing trusted (is it the right server?)`);
    ok = true;
  }
  if (!ok && process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    ok = /^y(es)?$/i.test((await rl.question(`Trust it for ${id.source}? Compare the thumbprint with the one shown on the server. [y/N] `)).trim());
    rl.close();
  }
  if (!ok) throw new Error(`not trusted. Compare the thumbprint with the server's, then run again with --thumbprint ${info.thumbprint}`);
  await trustCertificate(id.pkiDir, der);
  out(`trusted: ${join(id.pkiDir, 'trusted/certs')} (${id.source}); a running gateway uses it at its next connection attempt`);
}

export async function cert(o: { config?: string; pki?: string; renew?: boolean }): Promise<void> {
  quietLog();
  const id = identity(o, true);
  const file = join(id.pkiDir, OWN_CERT);
  if (o.renew && existsSync(file)) rmSync(file);
  const own = await ensureOwnCertificate(id.pkiDir, id.applicationName, id.applicationUri);
  out(`${own.created ? 'created' : 'existing'} gateway certificate: ${own.file}`);
  out(`  ${describeCert(own.info)}`);
  out('  secured servers must trust it: copy this file into the server\'s trusted certificates (or accept it there once it was rejected)');
  for (const which of ['trusted', 'rejected'] as const) out(`  ${which} server certificates: ${listCertificates(id.pkiDir, which).length}`);
}

export interface SimulateOpts {
  port: string;
  host: string;
  pki: string;
  cabinets: string;
  circuits: string;
  stations: string;
  failCircuit?: string;
  user?: string;
  passwordEnv?: string;
  subscriptions?: boolean;
}

export async function simulate(o: SimulateOpts): Promise<void> {
  const log = quietLog();
  const { CabinetSim } = await loadFakes('opcua simulate', 'opcuaCabinet'); // the server side of node-opcua: loaded only here
  const password = o.passwordEnv ? process.env[o.passwordEnv] : undefined;
  if (o.user && !password) throw new Error('--user needs --password-env VAR with the password in it');
  const sim = new CabinetSim({
    port: Number(o.port),
    host: o.host,
    pkiDir: o.pki,
    cabinets: Number(o.cabinets),
    circuits: Number(o.circuits),
    stations: Number(o.stations),
    ...(o.user && password && { users: { [o.user]: password } }),
    ...(o.subscriptions === false && { subscriptions: false }),
  });
  await sim.start();
  if (o.failCircuit) {
    const [cab, circ] = o.failCircuit.split('.').map(Number);
    sim.failCircuit(cab!, circ!);
  }
  out(`simulated OPC-UA server at ${sim.endpointUrl}: ${o.cabinets} lighting cabinet(s)${Number(o.stations) ? `, ${o.stations} pump station(s)` : ''}; certificate ${sim.certificateFile}`);
  out(`  try: gridgate opcua browse ${sim.endpointUrl} --depth 3`);
  const stop = async () => {
    await sim.stop();
    log.flush();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

