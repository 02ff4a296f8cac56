#!/bin/sh
# Entrypoint of the superset image (superset-init runs provision.py, superset serve.sh):
#  1. refuses to start when a secret this service needs (TRADEWIND_REQUIRES, names separated
#     by spaces) is missing or a placeholder (the message names the variable, not its value);
#  2. waits for the services it needs (TRADEWIND_WAIT_FOR, host:port separated by spaces);
# then execs the command. Both tools are standard library only (tradewind.stack).
set -eu
if [ -n "${TRADEWIND_REQUIRES:-}" ]; then
  # shellcheck disable=SC2086  # a list of names
  python -m tradewind.stack.secrets check --env --only "$(echo $TRADEWIND_REQUIRES | tr ' ' ',')"
fi
if [ -n "${TRADEWIND_WAIT_FOR:-}" ]; then
  python -m tradewind.stack.wait --timeout "${TRADEWIND_WAIT_TIMEOUT:-300}"
fi
exec "$@"
