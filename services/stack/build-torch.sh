#!/bin/sh
# Installs the CPU build of torch into /opt/venv inside an image build, before anything else:
# on PyPI the Linux torch wheel is the CUDA build (several GB of nvidia-* packages). The version
# is constraints.txt's pin, which must carry the +cpu label, so that no later `pip install -c
# constraints.txt` can swap in a CUDA build. The wheel comes from the `wheels` build context if
# it holds one for this Python, else from PyTorch's CPU index.
#
# Usage: build-torch.sh CONSTRAINTS-FILE   (next to build-pip.sh)
set -eu

constraints="$1"
here="$(dirname "$0")"
pin="$(grep -E '^torch==' "$constraints" || true)"
case "$pin" in
  torch==*+cpu) ;;
  *)
    echo "build-torch: $constraints must pin torch to a CPU build (torch==X.Y.Z+cpu); found: ${pin:-no torch line}" >&2
    exit 1
    ;;
esac
version="${pin#torch==}"
tag="$(/opt/venv/bin/python -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"

local_wheel=""
for f in /wheels/torch-"$version"-"$tag"-*.whl; do
  if [ -e "$f" ]; then
    local_wheel="$f"
    break
  fi
done
if [ -n "$local_wheel" ]; then
  echo "build-torch: $pin from the wheels build context ($(basename "$local_wheel"))"
  sh "$here/build-pip.sh" -c "$constraints" "$pin"
else
  echo "build-torch: $pin from https://download.pytorch.org/whl/cpu"
  sh "$here/build-pip.sh" -c "$constraints" --extra-index-url https://download.pytorch.org/whl/cpu "$pin"
fi

# The installed build, from its metadata (importing torch before numpy is there only warns).
/opt/venv/bin/python - "$version" <<'PY'
import sys
from importlib.metadata import distributions, version

installed = version("torch")
assert installed == sys.argv[1], f"torch {installed} installed, {sys.argv[1]} wanted"
cuda = sorted(d.metadata["Name"] for d in distributions() if d.metadata["Name"].startswith("nvidia"))
assert not cuda, f"CUDA packages installed with torch: {cuda}"
print(f"build-torch: torch {installed} installed")
PY
