#!/bin/sh
# Entrypoint of the tradewind image (every Tradewind service, MLflow and every Airflow role).
# It maps the stack's secrets onto the names Airflow reads (its Fernet key, JWT secret, API
# secret key and the admin's password file), so none is written in docker-compose.yml twice;
# then tradewind.stack.start checks the secrets this service needs (TRADEWIND_REQUIRES: a
# missing or placeholder one stops it, naming the variable, never the value), waits for the
# services it needs (TRADEWIND_WAIT_FOR), tries a one-shot again on a transient failure
# (TRADEWIND_ATTEMPTS) and runs the command.
set -eu

if [ -n "${AIRFLOW_FERNET_KEY:-}" ]; then export AIRFLOW__CORE__FERNET_KEY="$AIRFLOW_FERNET_KEY"; fi
if [ -n "${AIRFLOW_JWT_SECRET:-}" ]; then export AIRFLOW__API_AUTH__JWT_SECRET="$AIRFLOW_JWT_SECRET"; fi
if [ -n "${AIRFLOW_API_SECRET_KEY:-}" ]; then export AIRFLOW__API__SECRET_KEY="$AIRFLOW_API_SECRET_KEY"; fi
if [ -n "${AIRFLOW_ADMIN_PASSWORD:-}" ] && [ -n "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}" ]; then
  # Airflow's simple auth manager reads its users' passwords from this file (mode 600)
  mkdir -p "$(dirname "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")"
  (umask 077 && python -c 'import json, os, sys; json.dump({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}, sys.stdout)' \
    > "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
fi

exec python -m tradewind.stack.start -- "$@"
