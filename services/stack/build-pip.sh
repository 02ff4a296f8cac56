#!/bin/sh
# `pip install` inside an image build (services/*/Dockerfile copy it to /opt/build and remove it
# when done). What the build host knows reaches pip only through what the build mounts:
#
# - /run/secrets/ca, the build secret `ca` (optional): a CA bundle for an intercepting HTTPS
#   proxy. When present pip verifies TLS with it; it is never copied into a layer.
# - /wheels, the build context `wheels` (optional, empty by default): a directory of wheels or
#   sdists pip may use (--find-links), and, if it holds a `simple/` folder, a PEP 503 index
#   (--extra-index-url file:///wheels/simple).
#
# Usage: build-pip.sh PIP-INSTALL-ARGUMENTS...   (runs /opt/venv's pip)
set -eu

if [ -s /run/secrets/ca ]; then
  export PIP_CERT=/run/secrets/ca REQUESTS_CA_BUNDLE=/run/secrets/ca SSL_CERT_FILE=/run/secrets/ca
fi

# --use-pep517: an sdist (oandapyV20 has no wheel) is built in an isolated environment, the same
# way by the pip of Debian's python3-venv (23.0) and the official image's (24+).
set -- --no-cache-dir --disable-pip-version-check --no-input --use-pep517 "$@"
if [ -d /wheels ]; then
  for f in /wheels/*.whl /wheels/*.tar.gz /wheels/*.zip; do
    if [ -e "$f" ]; then
      set -- --find-links /wheels "$@"
      break
    fi
  done
  if [ -d /wheels/simple ]; then
    set -- --extra-index-url file:///wheels/simple "$@"
  fi
fi
exec /opt/venv/bin/python -m pip install "$@"
