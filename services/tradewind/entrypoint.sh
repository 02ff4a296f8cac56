#!/usr/bin/env bash
# Entrypoint of the tradewind image (services/tradewind/Dockerfile): runs the command it is
# given. The stack's integration replaces it with the real one.
set -euo pipefail
exec "$@"
