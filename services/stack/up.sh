#!/usr/bin/env bash
# `make up`: the whole platform on Docker or podman. Writes .env with generated secrets when it
# is missing, refuses a missing or placeholder secret, builds the images, starts the stack and
# waits until every service is healthy, then prints where the UIs are.
#
#   ENV_FILE (default .env), ENGINE (docker|podman; default: docker if it answers),
#   STANDINS (auto|0|1: local stand-ins for Postgres/MinIO/Redis), WAIT_TIMEOUT (s, 1200)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/engine.sh"
cd "$REPO"
ENV_FILE="${ENV_FILE:-$REPO/.env}"

setting() {  # setting NAME DEFAULT: a non-secret setting from the env file
  local value
  value="$(grep -E "^$1=" "$ENV_FILE" | tail -1 | cut -d= -f2- || true)"
  echo "${value:-$2}"
}

[[ -f $ENV_FILE ]] || "$VENV_BIN/python" -m tradewind.stack.secrets env --file "$ENV_FILE"
"$VENV_BIN/python" -m tradewind.stack.secrets check --file "$ENV_FILE"
project="$(setting COMPOSE_PROJECT_NAME tradewind)"

select_engine
select_images
[[ $STANDINS == 0 ]] || "$STACK_DIR/standins.sh"
"$STACK_DIR/images.sh"

if [[ $ENGINE == podman ]]; then
  state="$REPO/.tradewind/stack"
  mkdir -p "$state"
  if ! { [[ -f $state/healthchecks-$project.pid ]] && kill -0 "$(cat "$state/healthchecks-$project.pid")" 2> /dev/null; }; then
    setsid "$STACK_DIR/healthchecks.sh" "$project" > "$state/healthchecks-$project.log" 2>&1 < /dev/null &
    echo $! > "$state/healthchecks-$project.pid"
  fi
fi

log "starting the stack (project $project; up to ${WAIT_TIMEOUT:-1200} s until every service is healthy)"
if ! "${COMPOSE[@]}" --env-file "$ENV_FILE" -p "$project" up -d --wait --wait-timeout "${WAIT_TIMEOUT:-1200}"; then
  "${COMPOSE[@]}" --env-file "$ENV_FILE" -p "$project" ps -a >&2 || true
  die "the stack did not come up healthy: \`${COMPOSE[*]} -p $project logs SERVICE\` tells why"
fi

cat << MSG

Tradewind is up (project $project, engine $ENGINE):
  Airflow   http://127.0.0.1:$(setting AIRFLOW_PORT 8080)   user admin, password AIRFLOW_ADMIN_PASSWORD in $ENV_FILE
  MLflow    http://127.0.0.1:$(setting MLFLOW_PORT 5000)   user admin, password MLFLOW_ADMIN_PASSWORD in $ENV_FILE
  Superset  http://127.0.0.1:$(setting SUPERSET_PORT 8088)   user admin, password SUPERSET_ADMIN_PASSWORD in $ENV_FILE
  Venue     http://127.0.0.1:$(setting VENUE_PORT 8081)   OANDA v20 REST API, token TRADEWIND_VENUE_TOKEN in $ENV_FILE
  Live      http://127.0.0.1:$(setting LIVE_HEALTH_PORT 8788)/health   the live trader's health
Stop it with \`make down\` (data kept in volumes; \`make down ARGS=-v\` deletes them).
MSG
