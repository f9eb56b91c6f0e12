#!/usr/bin/env bash
# Test media that Debian ships inside packages we do not want installed whole: fetched with
# `apt-get download` and unpacked with `dpkg -x` into test-artifacts/media (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
media=test-artifacts/media
mkdir -p "$media"

# vtest.avi: a real CCTV street scene (pedestrians, parked vehicles), from OpenCV's sample data.
if [ ! -s "$media/vtest.avi" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download opencv-doc >/dev/null)
  dpkg -x "$tmp"/opencv-doc_*.deb "$tmp/x"
  cp "$tmp/x/usr/share/doc/opencv-doc/examples/data/vtest.avi" "$media/vtest.avi"
fi
