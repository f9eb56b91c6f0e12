#!/usr/bin/env bash
# Test media that Debian ships inside packages we do not want installed whole: fetched with
# `apt-get download` and unpacked with `dpkg -x` into test-artifacts/media (git-ignored).
# Idempotent: a file already present is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
MEDIA=test-artifacts/media
mkdir -p "$MEDIA"

# vtest.avi: a real CCTV street scene (pedestrians, 768x576, MPEG-4 part 2) from OpenCV's samples,
# served by the RTSP test server and the ONVIF simulator (camera tests, bench:cameras, vision eval).
if [ ! -s "$MEDIA/vtest.avi" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # apt-get download writes into the current folder; as root it warns that _apt cannot write there.
  chmod 777 "$tmp"
  (cd "$tmp" && apt-get download -q opencv-doc)
  dpkg -x "$tmp"/opencv-doc_*.deb "$tmp/x"
  cp "$tmp/x/usr/share/doc/opencv-doc/examples/data/vtest.avi" "$MEDIA/vtest.avi"
fi
echo "test media in $MEDIA: $(ls "$MEDIA" | tr '\n' ' ')"
