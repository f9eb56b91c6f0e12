#!/bin/sh
# Entry point of the GridGate images (tini runs it as PID 1's child; `exec` hands signals to node).
#
# Which config runs, first match wins:
#   1. GRIDGATE_CONFIG_B64   a whole config file, base64 (balena: a device variable). Written to
#                            $GRIDGATE_RUN_DIR/gateway.yaml; GRIDGATE_UPLINK_{CA,CERT,KEY}_B64 become
#                            uplink-ca.pem, uplink-cert.pem, uplink-key.pem beside it.
#   2. GRIDGATE_CONFIG       a path (default /etc/gridgate/gateway.yaml, when that file exists: a mounted file).
#   3. GRIDGATE_TEMPLATE     rpi4 | rpi5 | jetson-orin-nano: the baked template firmware-configs/<name>.yaml;
#                            on balena it is picked from BALENA_DEVICE_TYPE when unset.
# Secrets never go into the config: it holds ${ENV} references, the values come from the environment.
#
# Arguments: none or `run` runs the gateway; `validate` checks the chosen config and exits; anything else is
# passed to the gridgate CLI (e.g. `decode --profile ... --hex ...`).
set -eu
umask 027

app=${GRIDGATE_HOME:-/opt/gridgate}
run_dir=${GRIDGATE_RUN_DIR:-/tmp/gridgate}
cli="$app/gateway/dist/src/cli/main.js"

die() {
  echo "gridgate entrypoint: $*" >&2
  exit 2
}

# decode NAME VALUE FILE: a base64 VALUE (of the variable NAME) into FILE; nothing when VALUE is empty.
decode() {
  [ -n "$2" ] || return 0
  if ! (umask 077 && printf '%s' "$2" | base64 -d >"$3" 2>/dev/null); then
    rm -f "$3"
    die "$1 is not valid base64 (make it with: base64 -w0 FILE)"
  fi
}

template_for_device_type() {
  case "$1" in
    raspberrypi4-64 | raspberrypi400-64 | raspberrypicm4-ioboard) echo rpi4 ;;
    raspberrypi5 | raspberrypi5-*) echo rpi5 ;;
    jetson-orin-nano*) echo jetson-orin-nano ;;
    *) echo "" ;;
  esac
}

# Sets `config` and `source` from the rules at the top.
choose_config() {
  if [ -n "${GRIDGATE_CONFIG_B64:-}" ]; then
    mkdir -p "$run_dir"
    chmod 0700 "$run_dir"
    decode GRIDGATE_CONFIG_B64 "${GRIDGATE_CONFIG_B64:-}" "$run_dir/gateway.yaml"
    decode GRIDGATE_UPLINK_CA_B64 "${GRIDGATE_UPLINK_CA_B64:-}" "$run_dir/uplink-ca.pem"
    decode GRIDGATE_UPLINK_CERT_B64 "${GRIDGATE_UPLINK_CERT_B64:-}" "$run_dir/uplink-cert.pem"
    decode GRIDGATE_UPLINK_KEY_B64 "${GRIDGATE_UPLINK_KEY_B64:-}" "$run_dir/uplink-key.pem"
    config="$run_dir/gateway.yaml"
    source="GRIDGATE_CONFIG_B64"
  elif [ -n "${GRIDGATE_CONFIG:-}" ]; then
    config=$GRIDGATE_CONFIG
    source="GRIDGATE_CONFIG"
    [ -f "$config" ] || die "GRIDGATE_CONFIG=$config: no such file (mount it, e.g. -v ./site.yaml:$config:ro)"
  elif [ -f /etc/gridgate/gateway.yaml ]; then
    config=/etc/gridgate/gateway.yaml
    source="mounted file"
  else
    template=${GRIDGATE_TEMPLATE:-}
    if [ -z "$template" ] && [ -n "${BALENA_DEVICE_TYPE:-}" ]; then
      template=$(template_for_device_type "$BALENA_DEVICE_TYPE")
      [ -n "$template" ] || die "no template for balena device type $BALENA_DEVICE_TYPE: set GRIDGATE_TEMPLATE (rpi4, rpi5, jetson-orin-nano) or GRIDGATE_CONFIG_B64"
    fi
    [ -n "$template" ] || die "no config: mount one at /etc/gridgate/gateway.yaml, or set GRIDGATE_CONFIG, GRIDGATE_CONFIG_B64 or GRIDGATE_TEMPLATE (rpi4, rpi5, jetson-orin-nano)"
    config="$app/firmware-configs/$template.yaml"
    [ -f "$config" ] || die "GRIDGATE_TEMPLATE=$template: no such template ($config)"
    source="template $template"
  fi
}

cmd=${1:-run}
case "$cmd" in
  run)
    choose_config
    echo "gridgate entrypoint: config $config ($source)" >&2
    # V8 collects on the main thread only (gateway/src/runtime/node-flags.ts); GRIDGATE_NODE_FLAGS= (empty) drops it.
    # shellcheck disable=SC2086 # several flags, split on purpose
    exec node ${GRIDGATE_NODE_FLAGS-"--single-threaded-gc"} "$cli" run --config "$config"
    ;;
  validate)
    choose_config
    exec node "$cli" config validate "$config"
    ;;
  *) exec node "$cli" "$@" ;;
esac
