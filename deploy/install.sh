#!/bin/bash
# Installs GridGate on bare metal as a systemd service: Raspberry Pi OS bookworm (arm64) on a Pi 4 or 5, or any
# Debian/Ubuntu with systemd and Node.js 24 (>= 20 runs). Run it as root from a built checkout (`npm ci` done) or with a
# bundle made by docker/bundle.mjs on a machine of the same architecture. Running it again upgrades in place:
# the config, the environment file and the state are kept.
#
#   sudo deploy/install.sh [--config FILE] [--env FILE] [--bundle DIR] [--data-dir DIR] [--watchdog] [--no-start]
#
#   --config FILE   install FILE as /etc/gridgate/gateway.yaml (default: keep the present one, or start from the
#                   template for this board, firmware-configs/rpi4.yaml or rpi5.yaml)
#   --env FILE      install FILE as /etc/gridgate/gridgate.env, the secrets and GRIDGATE_* values (mode 0640)
#   --bundle DIR    install this prebuilt bundle instead of building one from the checkout
#   --data-dir DIR  keep the state on DIR (an SSD mount) instead of /var/lib/gridgate
#   --watchdog      let the board's hardware watchdog reboot it if the kernel hangs (systemd RuntimeWatchdogSec)
#   --no-start      install and enable, but do not (re)start the service now
set -euo pipefail

APP=/opt/gridgate
ETC=/etc/gridgate
UNIT=/etc/systemd/system/gridgate.service
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

config="" env_file="" bundle="" data_dir="" watchdog=0 start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=$(realpath "$2"); shift 2 ;;
    --env) env_file=$(realpath "$2"); shift 2 ;;
    --bundle) bundle=$(realpath "$2"); shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --watchdog) watchdog=1; shift ;;
    --no-start) start=0; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

say() { echo "==> $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 ...)"
command -v systemctl >/dev/null || die "systemd is required"
# Not booted with systemd: an image being built in a chroot (pi-gen, debootstrap). Then the service is only
# enabled, and starts at the image's first boot.
booted=0
[ -d /run/systemd/system ] && booted=1
case "$data_dir" in "" | /*) ;; *) die "--data-dir must be an absolute path" ;; esac

# Node.js at /usr/bin/node, which the unit runs: 24 LTS, as in the images. The gateway still runs on 20, but 20
# gets no security fixes since April 2026. Raspberry Pi OS bookworm ships 18: install 24 from NodeSource first
# (docs/deployment.md).
node_major=$(/usr/bin/node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || die "Node.js 24 (20 at the least) is required at /usr/bin/node (found: $(/usr/bin/node --version 2>/dev/null || echo none)); docs/deployment.md shows how to install it"
[ "$node_major" -ge 22 ] || echo "install.sh: warning: Node.js $(/usr/bin/node --version) is past its end of life (no security fixes): install Node.js 24 (docs/deployment.md)" >&2

say "packages: ffmpeg, ca-certificates, procps (kill, for systemctl reload)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends ffmpeg ca-certificates procps >/dev/null

say "service user gridgate"
if ! id gridgate >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/gridgate --no-create-home --shell /usr/sbin/nologin gridgate
fi
getent group video >/dev/null && usermod -a -G video gridgate

# The bundle goes to a fresh directory next to the old one, then the two are swapped, so that a failed build
# leaves the running installation untouched.
stage="$APP.new"
rm -rf "$stage"
if [ -n "$bundle" ]; then
  say "bundle from $bundle"
  [ -f "$bundle/gateway/dist/src/cli/main.js" ] || die "$bundle is not a bundle (no gateway/dist/src/cli/main.js)"
  cp -a "$bundle" "$stage"
else
  say "bundle built from $SRC (npm ci --omit=dev)"
  [ -f "$SRC/gateway/dist/src/cli/main.js" ] || die "$SRC is not built: run \`npm ci\` there first (as your user)"
  /usr/bin/node "$SRC/docker/bundle.mjs" "$stage"
fi
chown -R root:root "$stage"
chmod -R u=rwX,go=rX "$stage"
if [ -d "$APP" ]; then rm -rf "$APP.old" && mv "$APP" "$APP.old"; fi
mv "$stage" "$APP"
printf '#!/bin/sh\nexec /usr/bin/node %s/gateway/dist/src/cli/main.js "$@"\n' "$APP" >/usr/local/bin/gridgate
chmod 0755 /usr/local/bin/gridgate

say "config in $ETC"
install -d -o root -g gridgate -m 0750 "$ETC"
if [ -n "$config" ]; then
  install -o root -g gridgate -m 0640 "$config" "$ETC/gateway.yaml"
elif [ ! -f "$ETC/gateway.yaml" ]; then
  model=""
  [ -r /proc/device-tree/model ] && model=$(tr -d '\0' </proc/device-tree/model)
  case "$model" in
    *"Raspberry Pi 5"*) template=rpi5 ;;
    *) template=rpi4 ;;
  esac
  install -o root -g gridgate -m 0640 "$APP/firmware-configs/$template.yaml" "$ETC/gateway.yaml"
  say "started from the $template template: add this site's devices to $ETC/gateway.yaml"
fi
if [ -n "$env_file" ]; then
  install -o root -g gridgate -m 0640 "$env_file" "$ETC/gridgate.env"
elif [ ! -f "$ETC/gridgate.env" ]; then
  install -o root -g gridgate -m 0640 /dev/null "$ETC/gridgate.env"
  cat >"$ETC/gridgate.env" <<'ENV'
# Values for the ${...} references in /etc/gridgate/gateway.yaml (the templates need these). Keep mode 0640.
GRIDGATE_GATEWAY_ID=
GRIDGATE_GRID_ID=
GRIDGATE_LAT=
GRIDGATE_LON=
GRIDGATE_CENTRAL_URL=
GRIDGATE_CENTRAL_PASSWORD=
GRIDGATE_API_TOKEN=
ENV
fi

say "systemd unit $UNIT"
install -m 0644 "$APP/deploy/systemd/gridgate.service" "$UNIT"
dropin="$UNIT.d/data-dir.conf"
if [ -n "$data_dir" ]; then
  install -d -o gridgate -g gridgate -m 0750 "$data_dir"
  install -d -m 0755 "$UNIT.d"
  printf '[Unit]\nRequiresMountsFor=%s\n\n[Service]\nEnvironment=GRIDGATE_DATA_DIR=%s\nReadWritePaths=%s\n' \
    "$data_dir" "$data_dir" "$data_dir" >"$dropin"
  say "state on $data_dir"
elif [ -f "$dropin" ]; then
  say "state stays on $(sed -n 's/^Environment=GRIDGATE_DATA_DIR=//p' "$dropin") ($dropin)"
fi
if [ "$watchdog" -eq 1 ]; then
  install -d -m 0755 /etc/systemd/system.conf.d
  # The Pi's watchdog accepts at most 15 s.
  printf '[Manager]\nRuntimeWatchdogSec=15s\nRebootWatchdogSec=2min\n' >/etc/systemd/system.conf.d/gridgate-watchdog.conf
  [ "$booted" -eq 0 ] || systemctl daemon-reexec
  say "hardware watchdog on"
fi
[ "$booted" -eq 0 ] || systemctl daemon-reload
systemctl enable gridgate.service >/dev/null 2>&1

say "checking the config"
set +e
(
  set -a
  # shellcheck disable=SC1091
  . "$ETC/gridgate.env"
  set +a
  export GRIDGATE_PROFILES_DIR="$APP/device-profiles" GRIDGATE_DATA_DIR="${data_dir:-/var/lib/gridgate}"
  runuser -u gridgate -- /usr/bin/node "$APP/gateway/dist/src/cli/main.js" config validate "$ETC/gateway.yaml"
)
valid=$?
set -e
if [ "$valid" -ne 0 ]; then
  echo "install.sh: installed and enabled, not started: fix $ETC/gateway.yaml or $ETC/gridgate.env (above), then" >&2
  echo "            sudo systemctl restart gridgate" >&2
  exit 2
fi
if [ "$booted" -eq 0 ]; then
  say "enabled; not booted with systemd (an image build?), so it starts at the next boot"
elif [ "$start" -eq 1 ]; then
  systemctl restart gridgate.service
  say "running: systemctl status gridgate, journalctl -u gridgate -f, curl http://127.0.0.1:8080/healthz"
else
  say "enabled; start it with: sudo systemctl start gridgate"
fi
rm -rf "$APP.old"
