#!/usr/bin/env node
// Runs today's `gridgate detect --image` over the DEV stills of manifest.csv, one image at a time (the
// CPU is shared), and prints each stall.score and haze reading, the score spread per kind, and the ROC
// AUC of stall.score for vending (1) vs not (0) when the dev part holds both classes. Never reads test.
// Usage: node datasets/street-scenes/score-baseline.mjs [--max N] [--json FILE]   (run build.mjs first)
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mediaPath } from './build.mjs';
import { readManifest } from './manifest.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '../../gateway/dist/src/cli/main.js');
const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const max = Number(arg('--max') ?? 1000);
const PER_IMAGE_MS = 60_000;

// Mann-Whitney form of ROC AUC; ties count one half.
export function rocAuc(pos, neg) {
  if (!pos.length || !neg.length) return undefined;
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

async function main() {
  if (!existsSync(cli)) throw new Error(`${cli} missing: run \`npx tsc -b\` first`);
  const rows = readManifest(join(here, 'manifest.csv')).filter((r) => r.split === 'dev' && r.media === 'still').slice(0, max);
  const results = [];
  for (const row of rows) {
    const file = mediaPath(row);
    if (!existsSync(file)) throw new Error(`${row.id}: ${file} missing: run build.mjs first`);
    const { stdout } = await run('node', [cli, 'detect', '--image', file, '--workers', '1'], { timeout: PER_IMAGE_MS, maxBuffer: 8 << 20 });
    const out = JSON.parse(stdout);
    const r = { id: row.id, kind: row.kind, vending: row.vending, haze: row.haze, stall: out.stall.score, hazeIndex: out.haze.index, darkChannel: out.haze.darkChannel, contrast: out.haze.contrast, saturation: out.haze.saturation, labels: [...new Set(out.detections.map((d) => d.label))].join(' ') };
    results.push(r);
    process.stdout.write(`${r.id.padEnd(44)} ${r.kind.padEnd(24)} vending=${r.vending} stall=${r.stall.toFixed(3)} haze=${r.hazeIndex} dark=${r.darkChannel} [${r.labels}]\n`);
  }
  const byKind = new Map();
  for (const r of results) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r]);
  process.stdout.write('\nstall.score per kind (dev): n, min, max\n');
  for (const [kind, rs] of byKind) {
    const s = rs.map((r) => r.stall);
    process.stdout.write(`  ${kind.padEnd(24)} ${String(s.length).padStart(3)}  ${Math.min(...s).toFixed(3)}  ${Math.max(...s).toFixed(3)}\n`);
  }
  const pos = results.filter((r) => r.vending === '1').map((r) => r.stall);
  const neg = results.filter((r) => r.vending === '0').map((r) => r.stall);
  const auc = rocAuc(pos, neg);
  process.stdout.write(`\nvending ${pos.length}, not ${neg.length}: ROC AUC of stall.score = ${auc === undefined ? 'undefined (the dev part needs both classes)' : auc.toFixed(3)}\n`);
  const falseAlarms = neg.filter((s) => s > 0).length;
  process.stdout.write(`non-vending dev stills with stall.score > 0: ${falseAlarms} of ${neg.length}\n`);
  const json = arg('--json');
  if (json) writeFileSync(json, JSON.stringify({ auc, results }, null, 2));
}

main().catch((e) => { process.stderr.write(`score-baseline: ${e.message}\n`); process.exit(1); });
