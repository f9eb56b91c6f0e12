#!/usr/bin/env bash
# Runs the test suite under Node 24, the runtime the images ship, while this checkout stays built for the
# system's Node (20): the suite runs in a throw-away copy of the checkout whose native addon (better-sqlite3,
# built against V8's ABI) is rebuilt for Node 24. Node 24 itself comes from the npm registry (the official
# build, packaged as node-linux-<arch>, headers included), so no system package changes.
#
#   scripts/test-node24.sh [filter...]        filters as for scripts/test.mjs (default: every test file)
#
# Needs a built checkout (`npm ci` done) and the registry. Node 24 and the addon built for it are cached in
# $GRIDGATE_NODE24_CACHE (default node_modules/.cache/gridgate-node24); GRIDGATE_NODE24 picks the version
# (default 24: the newest 24.x). The copy goes to $TMPDIR and is removed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${GRIDGATE_NODE24_CACHE:-$ROOT/node_modules/.cache/gridgate-node24}
SPEC=${GRIDGATE_NODE24:-24}

die() { echo "test-node24: $*" >&2; exit 1; }
say() { echo "test-node24: $*"; }

[ -f "$ROOT/gateway/dist/src/cli/main.js" ] || die "$ROOT is not built: run \`npm ci\` (or \`npm run build\`) first"
[ -f "$ROOT/node_modules/better-sqlite3/package.json" ] || die "$ROOT/node_modules has no better-sqlite3: run \`npm ci\` first"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no Node build on the npm registry for $(uname -m)" ;;
esac

# --- Node 24 from the registry (npm's own cache makes a repeat run local) ---------------------------------
mkdir -p "$CACHE/dl"
tgz=$(cd "$CACHE/dl" && npm pack --silent "node-linux-$arch@$SPEC") || die "cannot fetch node-linux-$arch@$SPEC from the npm registry"
version=${tgz#node-linux-"$arch"-}
version=${version%.tgz}
nodedir="$CACHE/node-v$version-linux-$arch"
if [ ! -x "$nodedir/bin/node" ]; then
  rm -rf "$nodedir.tmp"
  mkdir -p "$nodedir.tmp"
  tar -xzf "$CACHE/dl/$tgz" -C "$nodedir.tmp" --strip-components=1
  mv "$nodedir.tmp" "$nodedir"
fi
rm -f "$CACHE/dl/$tgz"
node24="$nodedir/bin/node"
[ "$("$node24" -p 'process.versions.node.split(".")[0]')" = 24 ] || die "$node24 is not Node 24 ($("$node24" --version))"
abi=$("$node24" -p process.versions.modules)
say "node $("$node24" --version) (ABI $abi) from $nodedir"

# --- the copy: sources and builds copied, node_modules hard-linked (copied across file systems) ------------
work=$(mktemp -d "${TMPDIR:-/tmp}/gg-node24.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Readable by all, as a checkout is: some tests run a script as an unprivileged user (test-peers).
chmod 755 "$work"
tree="$work/gridgate"
mkdir -p "$tree/node_modules"
# .git comes along (a few MB): some tests ask git what is committed.
tar -C "$ROOT" --exclude=./node_modules -cf - . | tar -C "$tree" -xf -
# The tests find ../shared (test data) next to the checkout.
[ -d "$ROOT/../shared" ] && ln -s "$(cd "$ROOT/.." && pwd)/shared" "$work/shared"
link=-al
ln "$ROOT/package.json" "$work/.same-fs" 2>/dev/null || link=-a
for entry in "$ROOT"/node_modules/* "$ROOT"/node_modules/.[!.]*; do
  [ -e "$entry" ] || [ -L "$entry" ] || continue
  case "${entry##*/}" in .cache | better-sqlite3) continue ;; esac
  cp "$link" "$entry" "$tree/node_modules/"
done
cp -a "$ROOT/node_modules/better-sqlite3" "$tree/node_modules/"

# --- better-sqlite3 for Node 24: built once per (better-sqlite3 version, ABI) and kept in the cache -------
sqlite_version=$("$node24" -p "require('$ROOT/node_modules/better-sqlite3/package.json').version")
addon="$CACHE/addons/better-sqlite3-$sqlite_version-node-v$abi-linux-$arch.node"
if [ ! -f "$addon" ]; then
  say "building better-sqlite3 $sqlite_version for ABI $abi (once; headers from $nodedir/include)"
  rm -rf "$tree/node_modules/better-sqlite3/build"
  # Node 24 first on PATH: npm, node-gyp and prebuild-install then target it; nodedir points node-gyp at its
  # headers (the system npmrc may point at /usr, Node 20's).
  (cd "$tree" && PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" npm rebuild better-sqlite3 --foreground-scripts) \
    || die "building better-sqlite3 for Node 24 failed (a C++ compiler, make and python3 are needed)"
  mkdir -p "$CACHE/addons"
  cp "$tree/node_modules/better-sqlite3/build/Release/better_sqlite3.node" "$addon.tmp"
  mv "$addon.tmp" "$addon"
else
  cp "$addon" "$tree/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
fi
(cd "$tree" && "$node24" -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()") \
  || die "better-sqlite3 does not load under Node 24 (delete $addon to rebuild it)"

# --- the suite, with Node 24 as \`node\` for everything it starts -----------------------------------------
say "running the tests in $tree"
started=$(date +%s)
status=0
(cd "$tree" && PATH="$nodedir/bin:$PATH" node scripts/test.mjs "$@") || status=$?
say "Node $version: exit $status after $(($(date +%s) - started)) s"
exit "$status"
