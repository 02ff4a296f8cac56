#!/usr/bin/env bash
# `make stack-test` (run by .ci/run after `make test`): builds the images, really starts the
# whole stack under its own project name and ports, runs tests/stack against it, and takes it
# down with its volumes, whatever happened. On Docker it uses Docker; without a Docker engine,
# podman (see engine.sh), with local stand-ins for the official images when no registry answers.
#
#   STACK_TEST_KEEP=1 leaves the stack running after the tests (take it down with
#   `ENV_FILE=.tradewind/stack-test/.env services/stack/down.sh ARGS=-v`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/engine.sh"
cd "$REPO"
started=$(date +%s)
work="$REPO/.tradewind/stack-test"
mkdir -p "$work"
export ENV_FILE="$work/.env"
project=tradewind-stacktest

# fresh secrets every run; ports apart from a user's own `make up`
rm -f "$ENV_FILE"
(umask 077 && cat > "$ENV_FILE" << EOF2
COMPOSE_PROJECT_NAME=$project
AIRFLOW_PORT=18080
MLFLOW_PORT=15000
SUPERSET_PORT=18088
VENUE_PORT=18081
LIVE_HEALTH_PORT=18788
EOF2
)
"$VENV_BIN/python" -m tradewind.stack.secrets env --file "$ENV_FILE" > /dev/null

select_engine
select_images
log "engine $ENGINE, stand-ins $STANDINS"
[[ $STANDINS == 0 ]] || "$STACK_DIR/standins.sh"
"$STACK_DIR/images.sh"

compose() { "${COMPOSE[@]}" --env-file "$ENV_FILE" -p "$project" "$@"; }
loop_pid=""
if [[ $ENGINE == podman ]]; then
  PARENT_PID=$$ "$STACK_DIR/healthchecks.sh" "$project" > "$work/healthchecks.log" 2>&1 &
  loop_pid=$!
fi
finish() {
  local rc=$?
  if ((rc != 0)); then
    log "failed: the services' state and the last lines of their logs follow"
    compose ps -a >&2 || true
    compose logs --no-color --tail 60 >&2 || true
  fi
  if [[ ${STACK_TEST_KEEP:-0} != 1 ]]; then
    compose down -v --remove-orphans -t 20 > /dev/null 2>&1 || true
    [[ -z $loop_pid ]] || kill "$loop_pid" 2> /dev/null || true
  fi
  log "stack test $( ((rc == 0)) && echo passed || echo FAILED) in $(($(date +%s) - started)) s"
  exit $rc
}
trap finish EXIT

compose down -v --remove-orphans > /dev/null 2>&1 || true  # what a killed earlier run left
t0=$(date +%s)
log "starting the stack"
compose up -d --wait --wait-timeout "${WAIT_TIMEOUT:-1200}"
log "every service healthy after $(($(date +%s) - t0)) s"

TRADEWIND_STACK_ENV_FILE="$ENV_FILE" TRADEWIND_STACK_PROJECT="$project" \
  TRADEWIND_STACK_COMPOSE="${COMPOSE[*]}" TRADEWIND_STACK_ENGINE="$ENGINE" \
  "$VENV_BIN/pytest" tests/stack -p no:cacheprovider -o addopts="" -ra -v
