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
# A one-shot (idempotent by design) sets TRADEWIND_ATTEMPTS: a transient failure at start (a name
# not yet resolvable, a server still starting) is tried again, 10 s apart, before it counts.
attempts="${TRADEWIND_ATTEMPTS:-1}"
if [ "$attempts" -gt 1 ]; then
  n=1
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      echo "entrypoint: $1 failed $n times: giving up" >&2
      exit 1
    fi
    echo "entrypoint: $1 failed (attempt $n of $attempts): trying again in 10 s" >&2
    n=$((n + 1))
    sleep 10
  done
  exit 0
fi
exec "$@"
