import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * The highest committed seq, also kept in a small file next to the database: if the database is ever
 * lost or replaced after damage, the sequence continues above it instead of repeating numbers the
 * central side has already seen (which would hide gaps).
 */
export class SeqFloor {
  private written = -1;

  constructor(private readonly path: string) {}

  read(): number {
    if (!existsSync(this.path)) return 0;
    const n = Number(readFileSync(this.path, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  }

  write(seq: number): void {
    if (seq === this.written) return;
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${seq}\n`);
    renameSync(tmp, this.path);
    this.written = seq;
  }
}
