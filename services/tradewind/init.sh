#!/bin/sh
# The stack's one-shot tradewind-init: migrate the security master (Alembic, as its owner
# role `tradewind`), load the default universe, then create or update the read-only reporting
# role the dashboards connect as. Creating a role needs the superuser, so only that step
# connects as `postgres`. Idempotent: every start of the stack runs it again.
set -eu

tradewind init
TRADEWIND_DATABASE_URL=postgresql+psycopg://postgres@postgres:5432/tradewind \
PGPASSWORD="$POSTGRES_PASSWORD" \
  tradewind db reporting-role --role tradewind_reporting
echo "tradewind-init: done"
