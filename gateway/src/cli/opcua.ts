import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SECURITY_MODES, SECURITY_POLICIES } from '../southbound/opcua/config.js';
import type { BrowseOpts, SimulateOpts, TrustOpts } from './opcua-actions.js';

// `gridgate opcua …`: what a field engineer does at a cabinet with an OPC-UA server: see what it offers
// and holds (browse), draft a profile from it, trust its certificate, show the gateway's own, and run
// the simulated cabinet. The actions load node-opcua, so they are imported only when one runs.

const actions = () => import('./opcua-actions.js');

export function registerOpcua(program: Command): void {
  const cmd = program.command('opcua').description('OPC-UA servers (lighting cabinets, pump stations): browse, draft profiles, trust certificates, simulate');
  cmd
    .command('browse <url>')
    .description('list the endpoints and security a server offers, and its address space (objects, variables, types, units, values)')
    .option('-c, --config <file>', "browse as this gateway (its certificate store and identity)")
    .option('--pki <dir>', 'certificate store folder, without a gateway config')
    .option('--security <mode>', `${SECURITY_MODES.join(' | ')} (default: None where offered)`)
    .option('--policy <policy>', SECURITY_POLICIES.join(' | '), 'Basic256Sha256')
    .option('--user <name>', 'user name (with --password-env)')
    .option('--password-env <var>', 'environment variable holding the password')
    .option('--root <node>', 'start here: node id (ns=1;s=Cabinet01) or browse path (/1:Cabinet01)')
    .option('--depth <n>', 'levels below the start', '4')
    .option('--max-nodes <n>', 'stop after this many nodes', '5000')
    .option('--server-nodes', "include the server's own diagnostics (namespace 0)")
    .option('--json', 'print JSON instead of a tree')
    .option('--write-profile <file>', 'draft a device profile from the variables found')
    .option('--select <regex>', 'only variables whose browse path or node id matches')
    .option('--profile-id <id>', 'id of the drafted profile (default: from the file name)')
    .option('--asset-type <type>', 'assetType of the drafted profile (lighting-cabinet, pump-station, ...)')
    .option('--by-path', 'draft with browse paths relative to --root (one profile for many identical cabinets) instead of node ids')
    .action(async (url: string, o: BrowseOpts) => (await actions()).browse(url, o));
  cmd
    .command('trust [url]')
    .description("trust a server's certificate (never automatic): shows it, then trusts it on --yes, a matching --thumbprint or your answer")
    .option('-c, --config <file>', "the gateway whose certificate store trusts it")
    .option('--pki <dir>', 'certificate store folder, without a gateway config')
    .option('--file <cert>', 'trust this certificate file (PEM or DER) instead of fetching it from the server')
    .option('--thumbprint <hex>', 'trust only if the certificate has this SHA-1 thumbprint')
    .option('-y, --yes', 'trust what the server sends without asking')
    .option('--list', 'list trusted and rejected server certificates')
    .action(async (url: string | undefined, o: TrustOpts) => (await actions()).trust(url, o));
  cmd
    .command('cert')
    .description("show the gateway's OPC-UA application certificate (created if missing), to install on secured servers")
    .option('-c, --config <file>', 'the gateway config')
    .option('--pki <dir>', 'certificate store folder, without a gateway config')
    .option('--renew', 'replace it with a new one (servers must trust the new one)')
    .action(async (o: { config?: string; pki?: string; renew?: boolean }) => (await actions()).cert(o));
  cmd
    .command('simulate')
    .description('run a simulated OPC-UA server with lighting cabinets (and pump stations) whose values change over time')
    .option('--port <n>', 'TCP port', '4840')
    .option('--host <host>', 'address to listen on and advertise', '127.0.0.1')
    .option('--pki <dir>', "the simulator's own certificate store", join(tmpdir(), 'gridgate-opcua-sim-pki'))
    .option('--cabinets <n>', 'lighting cabinets', '1')
    .option('--circuits <n>', 'circuits per cabinet', '4')
    .option('--stations <n>', 'pump stations', '0')
    .option('--fail-circuit <cabinet.circuit>', 'start with this circuit dead (e.g. 1.2)')
    .option('--user <name>', 'accept this user (with --password-env) besides anonymous')
    .option('--password-env <var>', 'environment variable holding that password')
    .option('--no-subscriptions', 'refuse subscriptions, like a PLC server that must be polled')
    .action(async (o: SimulateOpts) => (await actions()).simulate(o));
}
