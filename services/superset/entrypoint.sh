#!/usr/bin/env bash
# Entrypoint of the superset image (services/superset/Dockerfile): runs the command it is given.
# The stack's integration replaces it with the real one.
set -euo pipefail
exec "$@"
