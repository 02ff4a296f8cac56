#!/usr/bin/env bash
# `make images`: builds the stack's two Python images from the repository root, with docker if a
# Docker engine answers (`docker info`), else with podman.
#
#   services/stack/images.sh [tradewind] [superset]     (default: both)
#
#   ENGINE                     docker or podman (default: docker if an engine answers)
#   TRADEWIND_IMAGE            tag of the tradewind image   (localhost/tradewind:0.1.0)
#   TRADEWIND_SUPERSET_IMAGE   tag of the superset image    (localhost/tradewind-superset:0.1.0)
#   TRADEWIND_BASE_IMAGE       the Python 3.11 base image (--build-arg BASE_IMAGE; the
#                              Dockerfiles' default is python:3.11-slim-bookworm)
#   TRADEWIND_BUILD_CA         CA bundle for an intercepting HTTPS proxy, passed as the build
#                              secret `ca` (never stored in an image). Default: the file named by
#                              SSL_CERT_FILE, REQUESTS_CA_BUNDLE or PIP_CERT if one exists; set it
#                              empty for none.
#   TRADEWIND_BUILD_WHEELS     directories of local wheels (':'-separated), the build context
#                              `wheels` (a CPU torch wheel there is used first). Default:
#                              /opt/wheels if it exists; set it empty for none.
#   TRADEWIND_IMAGES_FORCE=1   rebuild even if the image's inputs are unchanged
#   TRADEWIND_BUILD_FLAGS      more flags for the build command (e.g. --no-cache)
#
# An image is labelled with a hash of its inputs (Dockerfile, the files it copies, the base image,
# the local wheels); when the tagged image carries the same hash the build is skipped.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
label=org.tradewind.inputs

die() {
  echo "images: $*" >&2
  exit 1
}

if [[ -n ${ENGINE:-} ]]; then # chosen by the caller (services/stack/engine.sh)
  command -v "$ENGINE" > /dev/null 2>&1 || die "ENGINE=$ENGINE: no such command"
  engine="$ENGINE"
  [[ $engine != docker ]] || export DOCKER_BUILDKIT=1
elif command -v docker > /dev/null 2>&1 && docker info > /dev/null 2>&1; then
  engine=docker
  export DOCKER_BUILDKIT=1 # RUN --mount, --secret and --build-context need BuildKit
elif command -v podman > /dev/null 2>&1; then
  engine=podman
else
  die "neither a Docker engine (docker info failed) nor podman is available"
fi

# -- inputs ---------------------------------------------------------------------------------
ca=""
if [[ -n "${TRADEWIND_BUILD_CA+set}" ]]; then
  ca="$TRADEWIND_BUILD_CA"
  [[ -z "$ca" || -f "$ca" ]] || die "TRADEWIND_BUILD_CA=$ca is not a file"
else
  for var in SSL_CERT_FILE REQUESTS_CA_BUNDLE PIP_CERT; do
    if [[ -n "${!var:-}" && -f "${!var}" ]]; then
      ca="${!var}"
      break
    fi
  done
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/tradewind-images.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT

wheel_dirs=()
if [[ -n "${TRADEWIND_BUILD_WHEELS+set}" ]]; then
  IFS=: read -r -a wheel_dirs <<< "$TRADEWIND_BUILD_WHEELS"
elif [[ -d /opt/wheels ]]; then
  wheel_dirs=(/opt/wheels)
fi
wheels=""
for dir in ${wheel_dirs[@]+"${wheel_dirs[@]}"}; do
  [[ -n "$dir" ]] || continue
  [[ -d "$dir" ]] || die "TRADEWIND_BUILD_WHEELS: $dir is not a directory"
  if [[ -z "$wheels" ]]; then
    wheels="$dir"
  else # several directories: one build context of hard links (copies across filesystems)
    if [[ "$wheels" != "$workdir/wheels" ]]; then
      mkdir "$workdir/wheels"
      cp -a --link "$wheels"/. "$workdir/wheels"/ 2> /dev/null || cp -a "$wheels"/. "$workdir/wheels"/
      wheels="$workdir/wheels"
    fi
    cp -a --link "$dir"/. "$wheels"/ 2> /dev/null || cp -a "$dir"/. "$wheels"/
  fi
done

base_id=""
if [[ -n "${TRADEWIND_BASE_IMAGE:-}" ]]; then
  base_id="$("$engine" image inspect --format '{{.Id}}' "$TRADEWIND_BASE_IMAGE" 2> /dev/null || true)"
fi

sha=(sha256sum)
command -v sha256sum > /dev/null 2>&1 || sha=(shasum -a 256)

inputs_hash() { # inputs_hash PATH...: what the build of one image depends on, as one hash
  {
    echo "base ${TRADEWIND_BASE_IMAGE:-default} $base_id"
    [[ -z "$wheels" ]] || (cd "$wheels" && LC_ALL=C ls -lnR .) # names, sizes, times
    find "$@" -type f ! -path '*/__pycache__/*' ! -name '*.py[cod]' ! -path '*.egg-info/*' \
      -print0 | LC_ALL=C sort -z | xargs -0 "${sha[@]}"
  } | "${sha[@]}" | cut -d' ' -f1
}

# -- build ----------------------------------------------------------------------------------
build() { # build NAME TAG INPUT-PATH...
  local name="$1" tag="$2"
  shift 2
  local hash current start size
  hash="$(inputs_hash "$@")"
  current="$("$engine" image inspect --format "{{ index .Config.Labels \"$label\" }}" "$tag" \
    2> /dev/null || true)"
  if [[ "$current" == "$hash" && "${TRADEWIND_IMAGES_FORCE:-0}" != 1 ]]; then
    echo "images: $tag is up to date (inputs unchanged; TRADEWIND_IMAGES_FORCE=1 rebuilds)"
    return
  fi

  local args=(build -f "services/$name/Dockerfile" -t "$tag" --label "$label=$hash")
  [[ -z "${TRADEWIND_BASE_IMAGE:-}" ]] || args+=(--build-arg "BASE_IMAGE=$TRADEWIND_BASE_IMAGE")
  [[ -z "$ca" ]] || args+=(--secret "id=ca,src=$ca")
  [[ -z "$wheels" ]] || args+=(--build-context "wheels=$wheels")
  # shellcheck disable=SC2206  # extra flags are meant to split into words
  [[ -z "${TRADEWIND_BUILD_FLAGS:-}" ]] || args+=(${TRADEWIND_BUILD_FLAGS})

  echo "images: building $tag with $engine (base ${TRADEWIND_BASE_IMAGE:-default}," \
    "CA ${ca:-none}, wheels ${wheels:-none})"
  start=$SECONDS
  "$engine" "${args[@]}" . || die "building $tag failed (services/$name/Dockerfile)"
  size="$("$engine" image inspect --format '{{.Size}}' "$tag")"
  printf 'images: %s built in %d s, %s MB\n' "$tag" $((SECONDS - start)) $((size / 1000000))
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(tradewind superset)
for target in "${targets[@]}"; do
  case "$target" in
    tradewind)
      build tradewind "${TRADEWIND_IMAGE:-localhost/tradewind:0.1.0}" \
        services/tradewind services/stack/build-pip.sh services/stack/build-torch.sh \
        .dockerignore pyproject.toml constraints.txt README.md src dags configs strategies models
      ;;
    superset)
      build superset "${TRADEWIND_SUPERSET_IMAGE:-localhost/tradewind-superset:0.1.0}" \
        services/superset services/stack/build-pip.sh .dockerignore superset \
        src/tradewind/__init__.py src/tradewind/dashboards
      ;;
    *) die "unknown image $target (tradewind or superset)" ;;
  esac
done
