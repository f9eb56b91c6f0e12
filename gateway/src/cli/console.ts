import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { isMap, isScalar, parseDocument } from 'yaml';
import { ConfigRefused, writeConfigSafely } from '../config/safe-write.js';
import { hashPassword } from '../southbound/broker/credentials.js';
import { promptHidden, readLine } from './prompt.js';
import { apiTargetFromConfig, callApi } from './running-gateway.js';

const MIN_LENGTH = 10;

/** The new admin password: from an environment variable, a piped line, or asked twice on the terminal. */
async function newPassword(o: { passwordEnv?: string }): Promise<string> {
  let pw: string;
  if (o.passwordEnv) {
    pw = process.env[o.passwordEnv] ?? '';
    if (!pw) throw new Error(`environment variable ${o.passwordEnv} (--password-env) is not set`);
  } else if (process.stdin.isTTY) {
    pw = await promptHidden('New console admin password: ');
    if ((await promptHidden('Again: ')) !== pw) throw new Error('the two passwords differ; nothing was changed');
  } else {
    pw = (await readLine()).trim();
  }
  if (pw.length < MIN_LENGTH) throw new Error(`the password must have at least ${MIN_LENGTH} characters`);
  if (pw.length > 1024) throw new Error('the password is longer than 1024 characters');
  return pw;
}

/** Writes the hash into `console.passwordHash`, keeping the rest of the file; refuses when the file takes it from ${ENV}. */
export function setPasswordHash(text: string, hash: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`the config is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const current = doc.getIn(['console', 'passwordHash'], true);
  if (isScalar(current) && typeof current.value === 'string' && /\$\{[^}]+\}/.test(current.value)) {
    throw new Error(`console.passwordHash comes from ${current.value}: put the new hash in that variable instead (gridgate console hash-password prints it)`);
  }
  if (!doc.has('console')) {
    // Beside the API section it is served with, not after whatever the file ends with.
    const root = doc.contents;
    if (!isMap(root)) throw new Error('the config is not a YAML mapping');
    const pair = doc.createPair('console', doc.createNode({}));
    (pair.key as { commentBefore?: string }).commentBefore = ' The web console (/console/ on the API port); its admin password is set with `gridgate console set-password`.';
    const at = root.items.findIndex((p) => isScalar(p.key) && p.key.value === 'api');
    root.items.splice(at < 0 ? root.items.length : at + 1, 0, pair as (typeof root.items)[number]);
  }
  const node = doc.createNode(hash);
  node.type = 'QUOTE_DOUBLE';
  doc.setIn(['console', 'passwordHash'], node);
  return doc.toString({ lineWidth: 0 });
}

export function registerConsole(program: Command): void {
  const cmd = program.command('console').description('the local web console (/console on the gateway API port)');
  cmd
    .command('set-password')
    .description('set the console admin password: its scrypt hash goes into the config (validated, written atomically); the password itself is stored nowhere')
    .requiredOption('-c, --config <file>', 'gateway config')
    .option('--password-env <VAR>', 'take the password from this environment variable (else: asked on the terminal, or the first line of stdin)')
    .option('--reload', 'then ask the running gateway to reload its config (through its API)')
    .action(async (o: { config: string; passwordEnv?: string; reload?: boolean }) => {
      const text = readFileSync(o.config, 'utf8');
      // Fail on a config we cannot edit before asking for a password.
      setPasswordHash(text, 'scrypt$1$1$1$a$a');
      const hash = await hashPassword(await newPassword(o));
      try {
        writeConfigSafely(o.config, setPasswordHash(text, hash), { placeholders: true });
      } catch (e) {
        if (e instanceof ConfigRefused) throw new Error(e.message);
        throw e;
      }
      process.stdout.write(`console admin password set in ${o.config} (as a scrypt hash)\n`);
      if (o.reload) {
        await callApi(apiTargetFromConfig(o.config), 'POST', '/api/v1/config/reload');
        process.stdout.write('the running gateway is reloading its config\n');
      } else {
        process.stdout.write('the running gateway uses it after a reload: gridgate console set-password … --reload, SIGHUP, or systemctl reload gridgate\n');
      }
    });
  cmd
    .command('hash-password')
    .description('print the scrypt hash of a password, for console.passwordHash given as ${ENV_VAR} (fleets, containers)')
    .option('--password-env <VAR>', 'take the password from this environment variable (else: asked on the terminal, or the first line of stdin)')
    .action(async (o: { passwordEnv?: string }) => {
      process.stdout.write(`${await hashPassword(await newPassword(o))}\n`);
    });
}
