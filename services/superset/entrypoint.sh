#!/bin/sh
# Entrypoint of the superset image (superset-init runs provision.py, superset serve.sh): the
# secrets this service needs checked, the services it needs waited for, a one-shot tried again
# on a transient failure, then the command (tradewind.stack.start: standard library only).
set -eu
exec python -m tradewind.stack.start -- "$@"
