#!/bin/sh
# The stack's Superset: gunicorn on 0.0.0.0:8088 inside the container (compose publishes it on
# 127.0.0.1 only). superset-init has migrated the metadata DB and imported the dashboards.
set -eu
exec gunicorn --bind 0.0.0.0:8088 --workers "${SUPERSET_WORKERS:-2}" --worker-class gthread \
  --threads 4 --timeout 120 --no-control-socket --access-logfile - "superset.app:create_app()"
