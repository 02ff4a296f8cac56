#!/usr/bin/env bash
# `make airflow`: Airflow on the embedded default, for a user who does not run the compose
# stack. SQLite metadata and LocalExecutor under $TRADEWIND_HOME/airflow, the project's dags/,
# the UI on 127.0.0.1:${AIRFLOW_PORT:-8080}. The api-server, scheduler, dag-processor and
# triggerer run side by side until Ctrl-C; their log servers stay off (they would listen on
# every interface, and on one machine the UI reads the log files directly). The admin password is generated on the first start,
# printed once, and kept in $TRADEWIND_HOME/airflow/simple_auth_manager_passwords.json.generated.
# The API's JWT secret and the Fernet key are generated once into $TRADEWIND_HOME/airflow/secrets
# (mode 600) and reach Airflow through the environment, never a command line.
set -euo pipefail
umask 077  # the password file, secrets and metadata DB are the user's alone

repo="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${VENV_BIN:-$repo/.venv/bin}"
home="$(mkdir -p "${TRADEWIND_HOME:-$repo/.tradewind}" && cd "${TRADEWIND_HOME:-$repo/.tradewind}" && pwd)"
port="${AIRFLOW_PORT:-8080}"
secrets="$home/airflow/secrets"

mkdir -p "$secrets"
chmod 700 "$secrets"
for name in jwt_secret fernet_key; do
  if [[ ! -s "$secrets/$name" ]]; then
    (umask 077 && "$bin/python" -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())' > "$secrets/$name")
  fi
done

export PATH="$bin:$PATH"
export TRADEWIND_HOME="$home"
export AIRFLOW_HOME="$home/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$repo/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$port"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$port/execution/"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$secrets/jwt_secret")"
AIRFLOW__CORE__FERNET_KEY="$(cat "$secrets/fernet_key")"
export AIRFLOW__API_AUTH__JWT_SECRET AIRFLOW__CORE__FERNET_KEY

# The security master the DAGs use by default (the `tradewind_db` connection overrides it).
"$bin/tradewind" init > /dev/null

"$bin/airflow" db migrate > "$AIRFLOW_HOME/migrate.log" 2>&1 || { tail -20 "$AIRFLOW_HOME/migrate.log"; exit 1; }

pids=()
stop() { kill "${pids[@]}" 2> /dev/null || true; wait 2> /dev/null || true; }
trap stop EXIT INT TERM
"$bin/airflow" api-server & pids+=($!)
"$bin/airflow" scheduler --skip-serve-logs & pids+=($!)
"$bin/airflow" dag-processor & pids+=($!)
"$bin/airflow" triggerer --skip-serve-logs & pids+=($!)
echo "Airflow UI: http://127.0.0.1:$port  (user admin; the password is printed on the first start"
echo "and kept in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated)"
wait -n  # the first component to stop stops them all
