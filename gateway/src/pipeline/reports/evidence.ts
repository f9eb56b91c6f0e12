import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Evidence } from '@gridgate/contract';

/** A device sample as evidence keeps it. */
export interface Sample {
  at: number;
  metrics: Record<string, { value: number | boolean | string; unit?: string }>;
}

/**
 * Writes "readings" evidence: the samples the gateway judged by, as a JSON file under
 * `{dataDir}/readings/{reportId}/`, with its SHA-256. The reference is relative to the data dir
 * (the gateway API serves it at /api/v1/readings/...; camera JPEGs live apart, under their own retention).
 */
export class EvidenceWriter {
  constructor(private readonly dataDir: string) {}

  write(reportId: string, label: string, at: number, content: Record<string, unknown>): Evidence {
    const stamp = new Date(at).toISOString().replace(/[-:]/g, '').replace('.', '');
    const rel = posix.join('readings', safe(reportId), `${stamp}-${safe(label)}.json`);
    const bytes = Buffer.from(JSON.stringify(content, null, 1) + '\n');
    const dir = join(this.dataDir, 'readings', safe(reportId));
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    const fd = openSync(join(this.dataDir, rel), 'w', 0o640);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return { kind: 'readings', ref: rel, sha256: createHash('sha256').update(bytes).digest('hex'), takenAt: new Date(at).toISOString() };
  }
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Keeps the first piece of evidence (what was found) and the latest ones, within the contract's 20. */
export function keepEvidence(list: Evidence[], max = 20): Evidence[] {
  return list.length <= max ? list : [list[0]!, ...list.slice(list.length - (max - 1))];
}
