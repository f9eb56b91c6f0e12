// The layers of gateway/src, bottom to top, and the check that imports only run downward:
//   node gateway/dist/scripts/layers.js [SRC_DIR]   prints the folder arrows, the upward ones, mutual pairs and file cycles
// gateway/test/layers.test.ts fails on any upward arrow or file cycle; README.md's Layout section states this order.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bottom first. A file belongs to the longest entry its path starts with; it may import its own entry and any below it. */
export const LAYERS: readonly string[] = [
  'util',
  'profiles',
  'model',
  'store',
  'southbound/rejects.ts',
  'southbound/source.ts',
  'southbound/broker',
  'southbound/lns',
  'southbound/cameras',
  'southbound/opcua',
  'pipeline/alarms',
  'northbound',
  'pipeline/decode',
  'pipeline/grids',
  'pipeline/vision',
  'pipeline/reports',
  'local/history',
  'local/console',
  'local/api',
  'local/doctor',
  'local/provision',
  'config',
  'runtime',
  'cli',
  'index.ts',
];

export interface LayerReport {
  files: number;
  /** Folder-level arrows "from -> to" with the number of imports behind each. */
  arrows: Map<string, number>;
  upward: string[];
  mutual: string[];
  cycles: string[][];
  unplaced: string[];
}

const IMPORT = /(?:import|export)\s[^'";]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (e.endsWith('.ts') && !e.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

export function unitOf(file: string, layers: readonly string[] = LAYERS): string | undefined {
  let best: string | undefined;
  for (const l of layers) if ((file === l || file.startsWith(l + '/')) && (!best || l.length > best.length)) best = l;
  return best;
}

/** Reads the relative imports of every .ts file under src (the browser code of the console included). */
export function analyze(src: string, layers: readonly string[] = LAYERS): LayerReport {
  const rank = new Map(layers.map((l, i) => [l, i]));
  const graph = new Map<string, Set<string>>();
  const arrows = new Map<string, number>();
  const unplaced: string[] = [];
  for (const abs of sources(src)) {
    const file = relative(src, abs).split(sep).join('/');
    const from = unitOf(file, layers);
    if (!from) unplaced.push(file);
    const deps = new Set<string>();
    for (const m of readFileSync(abs, 'utf8').matchAll(IMPORT)) {
      const target = relative(src, resolve(dirname(abs), (m[1] ?? m[2])!)).split(sep).join('/').replace(/\.js$/, '.ts');
      if (target.startsWith('..')) continue;
      deps.add(target);
      const to = unitOf(target, layers);
      if (from && to && from !== to) arrows.set(`${from} -> ${to}`, (arrows.get(`${from} -> ${to}`) ?? 0) + 1);
    }
    graph.set(file, deps);
  }
  const upward = [...arrows.keys()].filter((a) => {
    const [f, t] = a.split(' -> ');
    return rank.get(t!)! > rank.get(f!)!;
  });
  const mutual = [...arrows.keys()].filter((a) => {
    const [f, t] = a.split(' -> ');
    return f! < t! && arrows.has(`${t} -> ${f}`);
  }).map((a) => a.replace(' -> ', ' <-> '));
  return { files: graph.size, arrows, upward, mutual, cycles: fileCycles(graph), unplaced };
}

/** Strongly connected groups of more than one file (Tarjan), each sorted. */
function fileCycles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) out.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** The one file of gateway/src that may load gateway/fakes (the production bundle carries no fakes): lazily, by import(). */
export const FAKES_LOADER = 'cli/dev-fakes.ts';

const STATIC_IMPORT = /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC_IMPORT = /(typeof\s+)?\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/**
 * Imports from gateway/src into the fakes beside it (SRC/../fakes) that break the rule: only FAKES_LOADER refers to
 * them, and only by dynamic import() or type-only imports and exports, which the compiler erases; so that every
 * command module loads, and `gridgate --help` works, in a bundle without them. Comments are not read.
 */
export function fakeImports(src: string, loader: string = FAKES_LOADER): string[] {
  const fakes = resolve(src, '..', 'fakes') + sep;
  const out: string[] = [];
  for (const abs of sources(src)) {
    const file = relative(src, abs).split(sep).join('/');
    const text = readFileSync(abs, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
    const intoFakes = (spec: string) => spec.startsWith('.') && resolve(dirname(abs), spec).startsWith(fakes);
    for (const m of text.matchAll(STATIC_IMPORT)) {
      if (!intoFakes(m[3]!)) continue;
      if (file !== loader) out.push(`${file}: ${m[1]} from ${m[3]} (only ${loader} may refer to the fakes)`);
      else if (!m[2]) out.push(`${file}: ${m[1]} from ${m[3]} is static (the fakes load by import(), or as types only)`);
    }
    for (const m of text.matchAll(DYNAMIC_IMPORT)) {
      if (intoFakes(m[2]!) && file !== loader) out.push(`${file}: ${m[1] ? 'typeof ' : ''}import(${m[2]}) (only ${loader} may refer to the fakes)`);
    }
  }
  return out;
}

export function formatReport(r: LayerReport): string {
  const lines = [
    `${r.files} files, ${r.arrows.size} folder arrows, ${r.upward.length} upward, ${r.mutual.length} mutual pairs, ${r.cycles.length} file cycles`,
    ...r.upward.map((a) => `  upward  ${a} (${r.arrows.get(a)})`),
    ...r.mutual.map((m) => `  mutual  ${m}`),
    ...r.cycles.map((c) => `  cycle   ${c.join(' <-> ')}`),
    ...r.unplaced.map((f) => `  not in any layer: ${f}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const src = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src'));
  console.log(formatReport(analyze(src)));
}
