#!/usr/bin/env bash
# Test media that Debian ships inside packages we do not want installed whole: fetched with
# `apt-get download` and unpacked with `dpkg -x` into test-artifacts/media (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
exit 0
