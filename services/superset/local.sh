#!/usr/bin/env bash
# `make superset`: Superset with Tradewind's dashboards, for a user who does not run the compose
# stack. The security master must be on Postgres (TRADEWIND_DATABASE_URL); Superset's own
# metadata DB is SUPERSET_DATABASE_URL (default: a SQLite file under
# $TRADEWIND_HOME/superset). Each start migrates Superset, creates the admin if missing,
# creates or updates the read-only reporting role, imports superset/bundle (overwrite, by
# uuid: nothing duplicates) and serves the UI with gunicorn on 127.0.0.1:${SUPERSET_PORT:-8088}.
# Secrets not given in the environment are generated once into $TRADEWIND_HOME/superset/secrets
# (mode 600): secret_key, reporting_password, admin_password. They reach Superset and the
# provisioner as *_FILE variables, never on a command line.
set -euo pipefail
umask 077  # secrets and the metadata DB are the user's alone

repo="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${VENV_BIN:-$repo/.venv/bin}"
sbin="${SUPERSET_VENV:-$repo/.venv-superset}/bin"
home="$(mkdir -p "${TRADEWIND_HOME:-$repo/.tradewind}" && cd "${TRADEWIND_HOME:-$repo/.tradewind}" && pwd)"
port="${SUPERSET_PORT:-8088}"
secrets="$home/superset/secrets"

case "${TRADEWIND_DATABASE_URL:-}" in
  postgresql*) ;;
  *)
    echo "make superset: the dashboards read the security master on Postgres; set" >&2
    echo "TRADEWIND_DATABASE_URL=postgresql://USER@HOST:5432/DB (password in TRADEWIND_DATABASE_PASSWORD[_FILE])" >&2
    exit 2
    ;;
esac

mkdir -p "$secrets"
chmod 700 "$home/superset" "$secrets"
generate() {  # generate NAME: a random secret in $secrets/NAME unless it is there already
  if [[ ! -s "$secrets/$1" ]]; then
    "$sbin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' > "$secrets/$1"
  fi
}
if [[ -z "${SUPERSET_SECRET_KEY:-}${SUPERSET_SECRET_KEY_FILE:-}" ]]; then
  generate secret_key
  export SUPERSET_SECRET_KEY_FILE="$secrets/secret_key"
fi
if [[ -z "${TRADEWIND_REPORTING_PASSWORD:-}${TRADEWIND_REPORTING_PASSWORD_FILE:-}" ]]; then
  generate reporting_password
  export TRADEWIND_REPORTING_PASSWORD_FILE="$secrets/reporting_password"
fi
export SUPERSET_ADMIN_PASSWORD_FILE="${SUPERSET_ADMIN_PASSWORD_FILE:-$secrets/admin_password}"

export TRADEWIND_HOME="$home"
export SUPERSET_HOME="$home/superset"
export SUPERSET_CONFIG_PATH="$repo/superset/superset_config.py"
export SUPERSET_DATABASE_URL="${SUPERSET_DATABASE_URL:-sqlite:///$SUPERSET_HOME/superset.db}"
# Where the bundle's database connects: the security master's server, as the reporting role.
eval "$("$sbin/python" - <<'EOF'
import os, shlex
from sqlalchemy.engine import make_url
u = make_url(os.environ["TRADEWIND_DATABASE_URL"])
for name, value in (("HOST", u.host or "127.0.0.1"), ("PORT", u.port or 5432), ("DB", u.database)):
    print(f"export TRADEWIND_REPORTING_{name}=${{TRADEWIND_REPORTING_{name}:-{shlex.quote(str(value))}}}")
EOF
)"
export TRADEWIND_REPORTING_USER="${TRADEWIND_REPORTING_USER:-tradewind_reporting}"

# The security master migrated (the reporting views come with it), the role that reads them.
"$bin/tradewind" init > /dev/null
if [[ -n "${TRADEWIND_REPORTING_PASSWORD:-}" ]]; then
  "$bin/tradewind" db reporting-role --role "$TRADEWIND_REPORTING_USER"
else
  "$bin/tradewind" db reporting-role --role "$TRADEWIND_REPORTING_USER" \
    --password-file "$TRADEWIND_REPORTING_PASSWORD_FILE"
fi

log="$SUPERSET_HOME/provision.log"
"$sbin/python" "$repo/superset/provision.py" > "$log" 2>&1 || { tail -30 "$log"; exit 1; }
grep -E '^(admin|imported|bundle)' "$log" || true

where="$SUPERSET_ADMIN_PASSWORD_FILE"
[[ -z "${SUPERSET_ADMIN_PASSWORD:-}" ]] || where="your SUPERSET_ADMIN_PASSWORD"
echo "Superset: http://127.0.0.1:$port  (user ${SUPERSET_ADMIN_USER:-admin}; password in $where)"
exec "$sbin/gunicorn" --bind "127.0.0.1:$port" --workers "${SUPERSET_WORKERS:-2}" \
  --worker-class gthread --threads 4 --timeout 120 --no-control-socket --access-logfile - \
  "superset.app:create_app()"
