#!/usr/bin/env node
// The `gridgate` command. npm links a workspace's bin when it installs, before `prepare` compiles dist/:
// the bin must be a file that is already there, so it is this committed shim that loads the compiled CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(`gridgate: the CLI is not built (${fileURLToPath(cli)} is missing): run \`npm run build\` (or \`npm ci\`) in the checkout\n`);
  process.exit(1);
}
await import(cli.href);
