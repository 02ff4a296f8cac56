#!/bin/sh
# Runs once, on an empty data directory (the postgres image's /docker-entrypoint-initdb.d), as
# the superuser: one database per part of the stack, each owned by a role of its own that can
# log in to it and nothing else. The read-only reporting role is created by tradewind-init
# once the security master's views exist (tradewind db reporting-role).
#
#   tradewind  the security master (owner tradewind)
#   mlflow, mlflow_auth  MLflow's tracking store and its basic-auth user store (owner mlflow)
#   airflow    Airflow's metadata and Celery results (owner airflow)
#   superset   Superset's metadata (owner superset)
#
# Passwords come from the environment (TRADEWIND_DB_PASSWORD, ...); psql's :'var' quotes them.
set -eu

for var in TRADEWIND_DB_PASSWORD MLFLOW_DB_PASSWORD AIRFLOW_DB_PASSWORD SUPERSET_DB_PASSWORD; do
  eval "value=\${$var:-}"
  if [ -z "$value" ]; then
    echo "initdb: $var is not set: cannot create the stack's roles" >&2
    exit 1
  fi
done

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v tradewind_pw="$TRADEWIND_DB_PASSWORD" -v mlflow_pw="$MLFLOW_DB_PASSWORD" \
  -v airflow_pw="$AIRFLOW_DB_PASSWORD" -v superset_pw="$SUPERSET_DB_PASSWORD" <<'SQL'
SET password_encryption = 'scram-sha-256';
CREATE ROLE tradewind LOGIN PASSWORD :'tradewind_pw';
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_pw';
CREATE ROLE airflow LOGIN PASSWORD :'airflow_pw';
CREATE ROLE superset LOGIN PASSWORD :'superset_pw';
CREATE DATABASE tradewind OWNER tradewind;
CREATE DATABASE mlflow OWNER mlflow;
CREATE DATABASE mlflow_auth OWNER mlflow;
CREATE DATABASE airflow OWNER airflow;
CREATE DATABASE superset OWNER superset;
REVOKE ALL ON DATABASE tradewind, mlflow, mlflow_auth, airflow, superset FROM PUBLIC;
SQL

echo "initdb: databases tradewind, mlflow, mlflow_auth, airflow, superset with their owner roles"
