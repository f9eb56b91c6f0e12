import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

const WHY = "the gateway keeps its outbox, alarms and history there: fix that, or set gateway.dataDir (GRIDGATE_DATA_DIR in the templates)";

/** The data dir cannot be used; the message names the folder and the cause (not SQLite's "unable to open database file"). */
export class DataDirError extends Error {
  constructor(
    readonly dir: string,
    readonly code: string,
    what: string,
  ) {
    super(`${what}; ${WHY}`);
    this.name = 'DataDirError';
  }
}

/** Creates the data dir when it is missing (mode 0750) and checks that the gateway may write in it. */
export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
  } catch (e) {
    const code = codeOf(e);
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      const file = nonFolderOnPath(dir);
      throw new DataDirError(dir, code, file === dir ? `data dir ${dir} exists and is a file, not a folder` : `data dir ${dir} cannot be made: ${file} is a file, not a folder`);
    }
    throw new DataDirError(dir, code, `data dir ${dir} cannot be created (${cause(e)})`);
  }
  try {
    // Root passes permission checks, but not a read-only mount (EROFS).
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new DataDirError(dir, codeOf(e), `data dir ${dir} is not writable (${cause(e)})`);
  }
}

/** The path itself or the nearest ancestor that exists, when that is not a folder. */
function nonFolderOnPath(dir: string): string {
  for (let p = dir; ; p = dirname(p)) {
    try {
      return statSync(p).isDirectory() ? dir : p;
    } catch {
      if (dirname(p) === p) return dir;
    }
  }
}

function codeOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? 'error';
}

/** "EROFS: read-only file system" from node's "EROFS: read-only file system, access '/x'". */
function cause(e: unknown): string {
  return (e as Error).message.replace(/, \w+ '.*'$/s, '');
}
