import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { isMap, parseDocument } from 'yaml';
import { certificateRequest, generateKey, type KeyType } from '../local/provision/csr.js';
import { ensureEnvSecret, upsertEnvFile, writePrivate } from '../local/provision/env-file.js';
import { envReference } from '../util/env-ref.js';
import { generatePassword } from '../southbound/broker/credentials.js';
import { currentConfig, saveEdit } from './config-file.js';

interface ProvisionOpts {
  config: string;
  central?: string;
  out?: string;
  keyType: string;
  cn?: string;
  org?: string;
  country?: string;
  password?: boolean;
  envFile?: string;
  cert?: string;
  ca?: string;
  force?: boolean;
}

const KEY = 'gateway.key';
const CSR = 'gateway.csr';
const CERT = 'gateway.crt';
const CA = 'central-ca.pem';

function relTo(configFile: string, p: string): string {
  const r = relative(dirname(resolve(configFile)), p).split(sep).join('/');
  return r.startsWith('.') ? r : `./${r}`;
}

/** Sets uplink fields in the config text (url, username, password reference, tls files), keeping the rest. Pure. */
export function setUplink(text: string, o: { url?: string; username?: string; password?: string; tls?: { key?: string; cert?: string; ca?: string }; dropClientCert?: boolean }): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`the config is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (!isMap(doc.get('uplink', true))) throw new Error('the config has no uplink section');
  if (o.url) doc.setIn(['uplink', 'url'], o.url);
  if (o.username) doc.setIn(['uplink', 'username'], o.username);
  if (o.password) {
    const n = doc.createNode(o.password);
    n.type = 'QUOTE_DOUBLE';
    doc.setIn(['uplink', 'password'], n);
  }
  if (o.dropClientCert && isMap(doc.getIn(['uplink', 'tls'], true))) {
    doc.deleteIn(['uplink', 'tls', 'cert']);
    doc.deleteIn(['uplink', 'tls', 'key']);
  }
  if (o.tls && Object.keys(o.tls).length) {
    if (!isMap(doc.getIn(['uplink', 'tls'], true))) doc.setIn(['uplink', 'tls'], doc.createNode({}));
    for (const [k, v] of Object.entries(o.tls)) if (v) doc.setIn(['uplink', 'tls', k], v);
  }
  const tls = doc.getIn(['uplink', 'tls'], true);
  if (isMap(tls) && tls.items.length === 0) doc.deleteIn(['uplink', 'tls']);
  return doc.toString({ lineWidth: 0 });
}

/** The variable the config's uplink.password names (`${VAR}`), or the default. A literal password is refused: secrets live in the environment. */
function passwordVariable(text: string): string {
  const v = parseDocument(text).getIn(['uplink', 'password']);
  if (v === undefined || v === null || v === '') return 'GRIDGATE_CENTRAL_PASSWORD';
  const name = envReference(v);
  if (!name) throw new Error('uplink.password holds a value, not ${ENV_VAR}: replace it with "${GRIDGATE_CENTRAL_PASSWORD}" first (secrets never go in the config)');
  return name;
}

/** The environment file beside the config (site.yaml: site.env) unless one is given. */
export function defaultEnvFile(config: string, given?: string): string {
  return resolve(given ?? resolve(config).replace(/\.ya?ml$/i, '') + '.env');
}

/**
 * The API token the config names (`api.token: "${VAR}"`) made in the environment file when it has none yet.
 * Returns what it did, for the output, or nothing when there was nothing to do.
 */
export function provideApiToken(configText: string, envFile: string): string | undefined {
  const doc = parseDocument(configText);
  if (doc.getIn(['api', 'enabled']) === false) return undefined;
  const name = envReference(doc.getIn(['api', 'token']));
  if (!name) return undefined;
  return ensureEnvSecret(envFile, name) ? `${name} (random) written to ${envFile} (mode 0600); run, status and doctor take --env-file ${basename(envFile)}` : undefined;
}

export function registerProvision(program: Command): void {
  program
    .command('provision')
    .description("prepare the gateway's uplink to the central broker: a private key and certificate request (mqtts, default), or a generated password (--password); files written 0600")
    .requiredOption('-c, --config <file>', 'gateway config')
    .option('--central <url>', 'central broker URL, e.g. mqtts://central.example.gov.cn:8883')
    .option('-o, --out <dir>', 'folder for the key, request and certificates (default: credentials/ beside the config)')
    .option('--key-type <type>', 'ec (P-256) | rsa (2048)', 'ec')
    .option('--cn <name>', 'common name of the certificate (default: the gateway id)')
    .option('--org <name>', 'organisation (O) in the request')
    .option('--country <code>', 'country (C) in the request, e.g. CN')
    .option('--password', 'use a generated password instead of a client certificate (it goes into the environment file)')
    .option('--env-file <file>', "environment file for the secrets it makes: the API token when it has none, with --password the uplink password (default: the config's name with .env)")
    .option('--cert <file>', "install the certificate the central CA signed for this gateway's key")
    .option('--ca <file>', 'CA certificate of the central broker (verifies the broker; use with any mode)')
    .option('-f, --force', 'make a new key even if one exists (its certificate stops working)')
    .action((o: ProvisionOpts) => {
      const text = readFileSync(o.config, 'utf8');
      const loaded = currentConfig(o.config, text);
      const gatewayId = loaded.config.gateway.id;
      const dir = resolve(o.out ?? join(dirname(resolve(o.config)), 'credentials'));
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      if (o.central && !/^(mqtts?|wss?):\/\/[^/\s]+/.test(o.central)) throw new Error(`--central ${o.central}: use mqtts://host:8883 (or mqtt://, ws://, wss://)`);
      const out: string[] = [];
      let caRef: string | undefined;
      if (o.ca) {
        let ca: X509Certificate;
        try {
          ca = new X509Certificate(readFileSync(o.ca));
        } catch (e) {
          throw new Error(`--ca ${o.ca}: not a PEM certificate (${(e as Error).message})`);
        }
        writePrivate(join(dir, CA), readFileSync(o.ca));
        caRef = relTo(o.config, join(dir, CA));
        out.push(`central CA      ${join(dir, CA)} (${ca.subject.split('\n').join(', ')}, valid until ${new Date(ca.validTo).toISOString().slice(0, 10)})`);
      }

      if (o.cert) {
        const keyFile = join(dir, KEY);
        if (!existsSync(keyFile)) throw new Error(`no private key at ${keyFile}: the certificate must be for the key \`gridgate provision --central …\` made there (use the same --out)`);
        let cert: X509Certificate;
        try {
          cert = new X509Certificate(readFileSync(o.cert));
        } catch (e) {
          throw new Error(`--cert ${o.cert}: not a PEM certificate (${(e as Error).message})`);
        }
        if (!cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) throw new Error(`--cert ${o.cert} is not for this gateway's key ${keyFile}: was it signed from ${join(dir, CSR)}?`);
        const until = Date.parse(cert.validTo);
        if (until < Date.now()) throw new Error(`--cert ${o.cert} expired on ${cert.validTo}`);
        if (caRef && !cert.verify(new X509Certificate(readFileSync(o.ca!)).publicKey)) out.push(`warning: ${basename(o.cert)} is not signed directly by ${basename(o.ca!)} (an intermediate CA?): the central broker must know the chain`);
        writePrivate(join(dir, CERT), readFileSync(o.cert));
        saveEdit(o.config, setUplink(text, { ...(o.central && { url: o.central }), tls: { key: relTo(o.config, keyFile), cert: relTo(o.config, join(dir, CERT)), ...(caRef && { ca: caRef }) } }));
        out.unshift(`installed the uplink certificate for ${gatewayId} in ${o.config}`, `certificate     ${join(dir, CERT)} (${cert.subject.split('\n').join(', ')}, valid until ${new Date(until).toISOString().slice(0, 10)})`, `private key     ${keyFile}`);
        if (loaded.config.uplink.password) out.push('note: uplink.password is still set; with a client certificate most brokers need none (remove it unless yours wants both)');
        out.push('check it: gridgate doctor --config ' + o.config);
        process.stdout.write(`${out.join('\n')}\n`);
        return;
      }

      const token = provideApiToken(text, defaultEnvFile(o.config, o.envFile));
      if (!o.central) {
        if (token) {
          process.stdout.write(`API token       ${token}\nthe uplink: give --central <url> (the central broker), or --cert <file> to install a signed certificate\n`);
          return;
        }
        throw new Error('give --central <url> (the central broker), or --cert <file> to install a signed certificate');
      }
      if (token) out.push(`API token       ${token}`);
      const plain = /^(mqtt|ws):\/\//.test(o.central);
      if (o.password || plain) {
        const variable = passwordVariable(text);
        const envFile = defaultEnvFile(o.config, o.envFile);
        const password = generatePassword();
        saveEdit(o.config, setUplink(text, { url: o.central, username: loaded.config.uplink.username ?? gatewayId, password: `\${${variable}}`, ...(caRef && { tls: { ca: caRef } }) }));
        upsertEnvFile(envFile, variable, password);
        const user = loaded.config.uplink.username ?? gatewayId;
        out.unshift(
          `uplink of ${gatewayId}: ${o.central}, user ${user}, password in ${envFile} as ${variable} (mode 0600)`,
          '',
          'Register the gateway on the central broker (shown this once):',
          `  username  ${user}`,
          `  password  ${password}`,
          `  mosquitto:  mosquitto_passwd -b /etc/mosquitto/passwd ${user} '${password}'`,
          `  ACL:        user ${user} / topic write ${loaded.config.uplink.topicPrefix}/${gatewayId}/# / topic read ${loaded.config.uplink.topicPrefix}/${gatewayId}/cmd`,
          '',
        );
        if (plain) out.push(`warning: ${o.central} is not encrypted: the password crosses the network in clear. Use mqtts:// wherever it leaves the cabinet.`);
        out.push(`the gateway reads ${variable} from its environment: install ${envFile} with it (deploy/install.sh --env ${basename(envFile)}), then check: gridgate doctor --config ${o.config}`);
        process.stdout.write(`${out.join('\n')}\n`);
        return;
      }

      const keyFile = join(dir, KEY);
      if (existsSync(keyFile) && !o.force) throw new Error(`${keyFile} exists: the gateway already has a key (install its certificate with --cert), or make a new one with --force (its current certificate then stops working)`);
      if (o.keyType !== 'ec' && o.keyType !== 'rsa') throw new Error(`--key-type ${o.keyType}: ec or rsa`);
      const key = generateKey(o.keyType as KeyType);
      const csr = certificateRequest(key, { cn: o.cn ?? gatewayId, ...(o.org && { o: o.org }), ...(loaded.config.gateway.site && { ou: loaded.config.gateway.site }), ...(o.country && { c: o.country.toUpperCase() }) });
      saveEdit(o.config, setUplink(text, { url: o.central, dropClientCert: !!o.force, ...(caRef && { tls: { ca: caRef } }) }));
      writePrivate(keyFile, key.export({ type: 'pkcs8', format: 'pem' }));
      writePrivate(join(dir, CSR), csr);
      out.unshift(
        `uplink of ${gatewayId}: ${o.central}`,
        `private key     ${keyFile} (${o.keyType === 'rsa' ? 'RSA 2048' : 'EC P-256'}, mode 0600; it never leaves this gateway)`,
        `request         ${join(dir, CSR)} (CN=${o.cn ?? gatewayId})`,
      );
      out.push(
        '',
        `next: send ${CSR} to the central platform's CA; when the signed certificate comes back:`,
        `  gridgate provision --config ${o.config}${o.out ? ` --out ${o.out}` : ''} --cert <signed.pem>${caRef ? '' : ' --ca <central CA.pem>'}`,
        `  (with openssl: openssl x509 -req -in ${CSR} -CA ca.pem -CAkey ca.key -days 825 -out gateway.crt -copy_extensions copy)`,
      );
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
