#!/bin/sh
# Entrypoint of the tradewind image (every Tradewind service, MLflow and every Airflow role).
#  1. Refuses to start when a secret this service needs (TRADEWIND_REQUIRES, names separated by
#     spaces) is missing or a placeholder: the message names the variable, never its value.
#  2. Waits for the services it needs (TRADEWIND_WAIT_FOR, host:port separated by spaces):
#     compose orders the start, but not every compose tool honours depends_on conditions.
#  3. Maps the stack's secrets onto the names the programs read (Airflow's Fernet key, JWT
#     secret and admin password file), so none is written in docker-compose.yml twice.
# Then it execs the command.
set -eu

if [ -n "${TRADEWIND_REQUIRES:-}" ]; then
  # shellcheck disable=SC2086  # a list of names
  python -m tradewind.stack.secrets check --env --only "$(echo $TRADEWIND_REQUIRES | tr ' ' ',')"
fi
if [ -n "${TRADEWIND_WAIT_FOR:-}" ]; then
  python -m tradewind.stack.wait --timeout "${TRADEWIND_WAIT_TIMEOUT:-300}"
fi

if [ -n "${AIRFLOW_FERNET_KEY:-}" ]; then export AIRFLOW__CORE__FERNET_KEY="$AIRFLOW_FERNET_KEY"; fi
if [ -n "${AIRFLOW_JWT_SECRET:-}" ]; then export AIRFLOW__API_AUTH__JWT_SECRET="$AIRFLOW_JWT_SECRET"; fi
if [ -n "${AIRFLOW_API_SECRET_KEY:-}" ]; then export AIRFLOW__API__SECRET_KEY="$AIRFLOW_API_SECRET_KEY"; fi
if [ -n "${AIRFLOW_ADMIN_PASSWORD:-}" ] && [ -n "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}" ]; then
  # Airflow's simple auth manager reads its users' passwords from this file (mode 600)
  mkdir -p "$(dirname "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")"
  (umask 077 && python -c 'import json, os, sys; json.dump({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}, sys.stdout)' \
    > "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
fi

# A one-shot (idempotent by design) sets TRADEWIND_ATTEMPTS: a transient failure at start (a name
# not yet resolvable, a server still starting) is tried again, 10 s apart, before it counts.
attempts="${TRADEWIND_ATTEMPTS:-1}"
if [ "$attempts" -gt 1 ]; then
  n=1
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      echo "entrypoint: $1 failed $n times: giving up" >&2
      exit 1
    fi
    echo "entrypoint: $1 failed (attempt $n of $attempts): trying again in 10 s" >&2
    n=$((n + 1))
    sleep 10
  done
  exit 0
fi
exec "$@"
