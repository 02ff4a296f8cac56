#!/bin/bash
# Entrypoint of the minio/minio stand-in: SeaweedFS (`weed mini`) serving S3 on :9000.
#
# Accepts MinIO's command line, `[minio] server DIR [options]`: DIR holds the data, options it
# cannot honour are logged and ignored. MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (or their *_FILE
# variants) become the only S3 identity, with every permission. SeaweedFS's own servers (master,
# volume, filer, admin, gRPC) listen on loopback only; socat publishes the S3 port on :9000.
# Any other command is run as given.
set -Eeuo pipefail

readonly S3_PORT=9000
readonly WEED_S3_PORT=8333
readonly RUNTIME_DIR=/tmp/minio-standin

log() { printf '%s [minio-standin] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# VAR, or VAR_FILE naming a file (absolute, or a secret's name under /run/secrets) as MinIO does.
file_env() {
	local var=$1
	local fvar="${var}_FILE" path
	if [[ -z ${!var-} && -n ${!fvar-} ]]; then
		path=${!fvar}
		[[ $path == /* ]] || path=/run/secrets/$path
		[[ -r $path ]] || die "$fvar=${!fvar}: no such readable file ($path)"
		export "$var=$(<"$path")"
	fi
	unset "$fvar"
}

# A JSON string literal; control characters are refused rather than escaped.
json_string() {
	local s=$1
	[[ $s != *[[:cntrl:]]* ]] || die "credentials must not contain control characters"
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# Sets DATA_DIR from `server DIR [options]`; logs what is ignored unless $1 is "quiet".
parse_server_args() {
	local quiet=$1
	shift
	say() { [[ $quiet == quiet ]] || log "$@"; }
	DATA_DIR=
	while (($#)); do
		case $1 in
		--console-address | --address | --certs-dir | -S | --ftp | --sftp | --config | -C)
			[[ $# -ge 2 ]] || die "$1 needs a value"
			ignored_option "$1" "$2"
			shift 2
			;;
		--*=*)
			ignored_option "${1%%=*}" "${1#*=}"
			shift
			;;
		-*)
			say "ignoring option $1: the stand-in does not implement it"
			shift
			;;
		*)
			if [[ $1 == *...* || $1 == http://* || $1 == https://* ]]; then
				die "$1: distributed or erasure-coded layouts are not supported; give one directory"
			fi
			if [[ -z $DATA_DIR ]]; then
				DATA_DIR=$1
			else
				say "ignoring data directory $1: the stand-in stores everything in $DATA_DIR"
			fi
			shift
			;;
		esac
	done
	[[ -n $DATA_DIR ]] || die "usage: server DIR [--console-address :9001] (no DIR given)"
}

ignored_option() {
	local name=$1 value=$2
	case $name in
	--console-address) say "ignoring $name $value: the stand-in has no web console" ;;
	--address)
		if [[ $value != *:"$S3_PORT" ]]; then
			say "ignoring $name $value: S3 is always served on :$S3_PORT"
		fi
		;;
	*) say "ignoring $name $value: the stand-in does not implement it" ;;
	esac
}

write_identity_config() {
	local config=$1
	file_env MINIO_ROOT_USER
	file_env MINIO_ROOT_PASSWORD
	[[ -n ${MINIO_ROOT_USER-} && -n ${MINIO_ROOT_PASSWORD-} ]] ||
		die "set MINIO_ROOT_USER and MINIO_ROOT_PASSWORD (or *_FILE): the stand-in has no" \
			"default credentials"
	((${#MINIO_ROOT_USER} >= 3)) || die "MINIO_ROOT_USER must be at least 3 characters"
	((${#MINIO_ROOT_PASSWORD} >= 8)) || die "MINIO_ROOT_PASSWORD must be at least 8 characters"
	(
		umask 077
		printf '{"identities":[{"name":"root","credentials":[{"accessKey":%s,"secretKey":%s}],' \
			"$(json_string "$MINIO_ROOT_USER")" "$(json_string "$MINIO_ROOT_PASSWORD")" >"$config"
		printf '"actions":["Admin","Read","Write","List","Tagging"]}]}\n' >>"$config"
	)
	unset MINIO_ROOT_PASSWORD
}

serve() {
	local config=$RUNTIME_DIR/s3.json weed_pid socat_pid stopping status i
	[[ -d $RUNTIME_DIR ]] || mkdir -m 0700 "$RUNTIME_DIR"
	[[ -O $RUNTIME_DIR ]] || die "$RUNTIME_DIR belongs to another user"
	write_identity_config "$config"

	weed -logtostderr mini -dir="$DATA_DIR" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
		-s3.port="$WEED_S3_PORT" -s3.config="$config" -s3.port.iceberg=0 -s3.port.lance=0 \
		-webdav=false -admin.ui=false -master.telemetry=false &
	weed_pid=$!
	socat_pid=
	stopping=0
	stop() {
		stopping=1
		kill -TERM "$weed_pid" ${socat_pid:+"$socat_pid"} 2>/dev/null || :
	}
	trap stop TERM INT

	# Publish :9000 once SeaweedFS's S3 answers, so that until then `mc ready local` fails.
	for ((i = 1; ; i++)); do
		if MINIO_STANDIN_S3_PORT=$WEED_S3_PORT mc ready local >/dev/null 2>&1; then
			break
		fi
		if ! kill -0 "$weed_pid" 2>/dev/null; then
			set +e
			wait "$weed_pid"
			status=$?
			((stopping)) && exit "$status"
			log "SeaweedFS stopped (exit status $status) before S3 was ready"
			exit $((status == 0 ? 1 : status))
		fi
		((i % 120)) || log "still waiting for SeaweedFS's S3 gateway ($((i / 2)) s)"
		sleep 0.5
	done
	socat TCP-LISTEN:"$S3_PORT",fork,reuseaddr TCP:127.0.0.1:"$WEED_S3_PORT" &
	socat_pid=$!
	log "S3 ready on :$S3_PORT for access key $MINIO_ROOT_USER, data in $DATA_DIR"

	set +e
	wait -n "$weed_pid" "$socat_pid"
	stop
	wait "$weed_pid"
	status=$?
	wait "$socat_pid"
	log "stopped (weed exit status $status)"
	exit "$status"
}

main() {
	if [[ ${1-} == minio ]]; then
		shift
	fi
	if [[ $# -eq 0 ]]; then
		set -- server /data
	fi
	if [[ ${1-} != server ]]; then
		exec "$@"
	fi
	shift
	if [[ $(id -u) == 0 ]]; then
		parse_server_args quiet "$@"
		mkdir -p "$DATA_DIR"
		find "$DATA_DIR" \! -user minio -exec chown minio:minio '{}' +
		export HOME=$DATA_DIR USER=minio
		exec setpriv --reuid=minio --regid=minio --init-groups "${BASH_SOURCE[0]}" server "$@"
	fi
	parse_server_args log "$@"
	serve
}

main "$@"
