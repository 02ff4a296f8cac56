#!/usr/bin/env bash
# `make down`: stop the stack (ARGS=-v also deletes its volumes, i.e. all its data).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/engine.sh"
cd "$REPO"
ENV_FILE="${ENV_FILE:-$REPO/.env}"
[[ -f $ENV_FILE ]] || die "$ENV_FILE is missing: nothing was started with it"
project="$(grep -E '^COMPOSE_PROJECT_NAME=' "$ENV_FILE" | tail -1 | cut -d= -f2- || true)"
project="${project:-tradewind}"
select_engine
# shellcheck disable=SC2086  # ARGS: extra flags
"${COMPOSE[@]}" --env-file "$ENV_FILE" -p "$project" down ${ARGS:-}
pidfile="$REPO/.tradewind/stack/healthchecks-$project.pid"
if [[ -f $pidfile ]]; then
  kill "$(cat "$pidfile")" 2> /dev/null || true
  rm -f "$pidfile"
fi
