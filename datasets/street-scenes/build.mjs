#!/usr/bin/env node
// Rebuilds the evaluation media named in manifest.csv into ./media (git-ignored).
// Sources are read, never downloaded: each `owner/name` repository must already be fetched as a bare
// snapshot at $MIRROR_ROOT/owner+name/repo (default /work/.mirror); `debian:opencv-doc` items are taken
// from test-artifacts/media (written by .ci/fetch-test-media.sh). Every blob is checked against the
// manifest's git object id, so a moved or changed upstream file fails loudly instead of slipping in.
// Stills with frame_s are cut from their clip by ffmpeg at that time; photo stills (a .jpg/.png source, no
// frame_s) are decoded by ffmpeg unchanged in size. Both are written as PNG.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPhoto, readManifest } from './manifest.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const mirrorRoot = process.env.MIRROR_ROOT ?? '/work/.mirror';
const out = join(here, 'media');

function gitBlob(repo, commit, path, blob) {
  const gitDir = join(mirrorRoot, repo.replace('/', '+'), 'repo');
  if (!existsSync(gitDir)) throw new Error(`${repo}: no snapshot at ${gitDir} (fetch github:${repo} first)`);
  const id = execFileSync('git', ['--git-dir', gitDir, 'rev-parse', `${commit}:${path}`], { encoding: 'utf8' }).trim();
  if (id !== blob) throw new Error(`${repo}:${path} at ${commit} is blob ${id}, manifest says ${blob}`);
  return execFileSync('git', ['--git-dir', gitDir, 'cat-file', 'blob', id], { maxBuffer: 256 << 20 });
}

function sourceFile(row) {
  if (row.source_repo === 'debian:opencv-doc') {
    const f = join(repoRoot, 'test-artifacts', 'media', row.path.split('/').pop());
    if (!existsSync(f)) throw new Error(`${row.id}: ${f} missing (run .ci/fetch-test-media.sh)`);
    return f;
  }
  const f = isPhoto(row) ? join(out, 'photos', `${row.id}${extname(row.path)}`) : join(out, 'clips', `${row.scene}${extname(row.path)}`);
  if (!existsSync(f)) {
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, gitBlob(row.source_repo, row.commit, row.path, row.blob));
  }
  return f;
}

export function mediaPath(row) {
  return row.media === 'still' ? join(out, 'stills', `${row.id}.png`) : join(out, 'clips', `${row.scene}${extname(row.path)}`);
}

function build() {
  const rows = readManifest(join(here, 'manifest.csv'));
  let made = 0;
  for (const row of rows) {
    const src = sourceFile(row);
    const dst = mediaPath(row);
    if (row.media === 'clip') {
      if (src !== dst && !existsSync(dst)) { mkdirSync(dirname(dst), { recursive: true }); copyFileSync(src, dst); }
    } else if (!existsSync(dst)) {
      mkdirSync(dirname(dst), { recursive: true });
      const seek = isPhoto(row) ? [] : ['-ss', row.frame_s];
      execFileSync('ffmpeg', ['-v', 'error', '-y', ...seek, '-i', src, '-frames:v', '1', dst]);
    }
    made++;
  }
  process.stdout.write(`${made} items in ${out}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) build();
