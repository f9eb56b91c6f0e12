// Reads manifest.csv (RFC 4180 quoting, no embedded newlines) into row objects, checking the fields
// every consumer relies on so a hand edit that breaks a row fails with the row named.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const SPLITS = new Set(['dev', 'test']);
const MEDIA = new Set(['still', 'clip']);
// A still is either cut from a clip at frame_s, or is a photo file of its own (then frame_s stays empty).
const PHOTO = /\.(jpe?g|png)$/i;

export const isPhoto = (row) => PHOTO.test(row.path);

// The split is fixed by scene, so near-duplicates (stills of one clip) never straddle dev and test:
// sha256("street-scenes-v1:" + scene) read as one integer, mod 2 -> dev (0) / test (1).
export function sceneSplit(scene) {
  const h = createHash('sha256').update(`street-scenes-v1:${scene}`).digest();
  return h[h.length - 1] % 2 === 0 ? 'dev' : 'test';
}

function parseLine(line) {
  const cells = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { cells.push(cur); cur = ''; }
    else cur += c;
  }
  cells.push(cur);
  return cells;
}

export function readManifest(file) {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const head = parseLine(lines[0]);
  const ids = new Set();
  return lines.slice(1).map((line, i) => {
    const cells = parseLine(line);
    if (cells.length !== head.length) throw new Error(`${file}:${i + 2}: ${cells.length} fields, header has ${head.length}`);
    const row = Object.fromEntries(head.map((h, j) => [h, cells[j]]));
    const where = `${file}:${i + 2} (${row.id})`;
    if (!row.id || ids.has(row.id)) throw new Error(`${where}: missing or repeated id`);
    ids.add(row.id);
    if (!SPLITS.has(row.split)) throw new Error(`${where}: split "${row.split}" is not dev or test`);
    if (!MEDIA.has(row.media)) throw new Error(`${where}: media "${row.media}" is not still or clip`);
    if (row.vending !== '' && row.vending !== '0' && row.vending !== '1') throw new Error(`${where}: vending must be 0, 1 or empty`);
    if (!row.licence) throw new Error(`${where}: no licence`);
    if (row.media === 'still' && isPhoto(row)) {
      if (row.frame_s !== '') throw new Error(`${where}: a photo still takes no frame_s`);
    } else if (row.media === 'still' && !(row.frame_s !== '' && Number(row.frame_s) >= 0)) throw new Error(`${where}: a still cut from a clip needs frame_s`);
    if (row.split !== sceneSplit(row.scene) && !/^pinned/i.test(row.notes ?? '')) {
      throw new Error(`${where}: split "${row.split}" differs from the scene rule (${sceneSplit(row.scene)})`);
    }
    return row;
  });
}
