#!/usr/bin/env bash
# Runs the healthchecks of the containers of one compose project, for podman without systemd
# (podman 4.3 schedules healthchecks only through systemd timers; without them every container
# stays "starting" and `compose up --wait` never returns). A container still starting is
# checked every FAST seconds, a healthy one every SLOW seconds. Stops when PARENT_PID (if set)
# is gone.
#
#   services/stack/healthchecks.sh PROJECT   (PARENT_PID, FAST=3, SLOW=30)
set -uo pipefail
project="${1:?compose project name}"
fast="${FAST:-3}" slow="${SLOW:-30}"
declare -A last running
while true; do
  if [[ -n ${PARENT_PID:-} ]] && ! kill -0 "$PARENT_PID" 2> /dev/null; then exit 0; fi
  now=$(date +%s)
  while read -r id status; do
    [[ -n $id ]] || continue
    every=$fast
    [[ $status == *"(healthy)"* ]] && every=$slow
    # one check at a time per container (an Airflow check takes seconds of CPU)
    if [[ -n ${running[$id]:-} ]] && kill -0 "${running[$id]}" 2> /dev/null; then continue; fi
    if ((now - ${last[$id]:-0} >= every)); then
      last[$id]=$now
      timeout 120 podman healthcheck run "$id" > /dev/null 2>&1 &
      running[$id]=$!
    fi
  done < <(podman ps --filter "label=com.docker.compose.project=$project" \
    --format '{{.ID}} {{.Status}}' 2> /dev/null | grep -E '\((starting|healthy|unhealthy)\)')
  sleep 1
done
