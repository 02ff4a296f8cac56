#!/usr/bin/env bash
# Entrypoint of the postgres:15 stand-in (Debian's postgresql-15).
#
# `postgres [args]` (the default, also when the first argument is a flag): as root, make $PGDATA
# the postgres user's and re-run this script as that user. On an empty $PGDATA: initdb with the
# POSTGRES_* settings, then run /docker-entrypoint-initdb.d/* against a temporary server that
# listens only on the local socket. Finally exec postgres (listening on all addresses) as PID 1.
# Any other command is run as given.
set -Eeuo pipefail

readonly SOCKET_DIR=/var/run/postgresql
readonly INIT_SOCKET_DIR=/tmp/postgres-init-socket
readonly INITDB_DIR=/docker-entrypoint-initdb.d

log() { printf '%s [postgres-standin] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# VAR or VAR_FILE (a file holding the value, e.g. a compose secret), never both.
file_env() {
	local var=$1 default=${2-}
	local fvar="${var}_FILE"
	local value=$default
	if [[ -n ${!var-} && -n ${!fvar-} ]]; then
		die "both $var and $fvar are set; set only one of them"
	fi
	if [[ -n ${!var-} ]]; then
		value=${!var}
	elif [[ -n ${!fvar-} ]]; then
		[[ -r ${!fvar} ]] || die "$fvar=${!fvar}: no such readable file"
		value=$(<"${!fvar}")
	fi
	export "$var=$value"
	unset "$fvar"
}

wants_help() {
	local arg
	for arg in "$@"; do
		case $arg in
		'-?' | --help | --describe-config | -V | --version) return 0 ;;
		esac
	done
	return 1
}

# As root: own the data and socket directories, then re-run this script as postgres.
drop_privileges() {
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
	mkdir -p "$SOCKET_DIR"
	chown postgres:postgres "$SOCKET_DIR"
	chmod 03775 "$SOCKET_DIR"
	export HOME=/var/lib/postgresql USER=postgres
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
}

psql_init() {
	psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" "$@"
}

init_database_dir() {
	local -a extra_args=()
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
	if [[ -z $POSTGRES_PASSWORD && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
		die "the database is uninitialized and POSTGRES_PASSWORD is not set: set" \
			"POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust" \
			"to allow every connection without a password"
	fi
	if [[ $POSTGRES_HOST_AUTH_METHOD == trust ]]; then
		log "WARNING: POSTGRES_HOST_AUTH_METHOD=trust: every connection is allowed without a password"
	fi
	# Split on whitespace (no quoting): e.g. POSTGRES_INITDB_ARGS="--data-checksums".
	read -r -a extra_args <<<"$POSTGRES_INITDB_ARGS"

	log "initializing $PGDATA for user $POSTGRES_USER"
	local -a initdb_args=(
		--pgdata="$PGDATA" --username="$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8
		--auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD"
	)
	if [[ -n $POSTGRES_PASSWORD ]]; then
		# The password reaches initdb through a pipe, never a command line.
		initdb "${initdb_args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") "${extra_args[@]}"
	else
		initdb "${initdb_args[@]}" "${extra_args[@]}"
	fi
	printf '\n# tradewind stand-in: reachable from other containers, with a password\n' \
		>>"$PGDATA/pg_hba.conf"
	printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
	printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
}

run_init_files() {
	local f
	shopt -s nullglob
	for f in "$INITDB_DIR"/*; do
		case $f in
		*.sh)
			if [[ -x $f ]]; then
				log "running $f"
				"$f"
			else
				log "sourcing $f"
				set +u
				# shellcheck disable=SC1090
				. "$f"
				set -u
			fi
			;;
		*.sql)
			log "running $f"
			psql_init --dbname "$POSTGRES_DB" -f "$f"
			;;
		*.sql.gz)
			log "running $f"
			gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB"
			;;
		*.sql.xz)
			log "running $f"
			xzcat "$f" | psql_init --dbname "$POSTGRES_DB"
			;;
		*) log "ignoring $f (not *.sh, *.sql, *.sql.gz or *.sql.xz)" ;;
		esac
	done
	shopt -u nullglob
}

# Temporary server for the init files, with the same extra arguments. It listens only on a
# socket in a private directory, so health checks (pg_isready on the usual socket) fail until
# the real server runs.
with_temporary_server() {
	local pid i
	export PGHOST=$INIT_SOCKET_DIR PGPORT=${PGPORT:-5432}
	rm -rf "$INIT_SOCKET_DIR"
	mkdir -m 0700 "$INIT_SOCKET_DIR"
	postgres -D "$PGDATA" "$@" -c listen_addresses='' -c unix_socket_directories="$PGHOST" \
		-c port="$PGPORT" &
	pid=$!
	for ((i = 0; i < 120; i++)); do
		if pg_isready --quiet --username="$POSTGRES_USER" --dbname=postgres; then break; fi
		kill -0 "$pid" 2>/dev/null || die "the temporary server exited during initialization"
		sleep 0.5
	done
	pg_isready --quiet --username="$POSTGRES_USER" --dbname=postgres ||
		die "the temporary server did not accept connections within 60 s"

	if [[ $POSTGRES_DB != postgres ]]; then
		log "creating database $POSTGRES_DB"
		psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
	fi
	(
		export PGUSER=$POSTGRES_USER PGDATABASE=$POSTGRES_DB
		run_init_files
	)
	pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	wait "$pid" || :
	rm -rf "$INIT_SOCKET_DIR"
	unset PGHOST
}

main() {
	if [[ $# -eq 0 || ${1:0:1} == - ]]; then
		set -- postgres "$@"
	fi
	if [[ $1 != postgres ]] || wants_help "$@"; then
		exec "$@"
	fi
	: "${PGDATA:=/var/lib/postgresql/data}"
	export PGDATA
	if [[ $(id -u) == 0 ]]; then
		drop_privileges "$@"
	fi
	if [[ ! -s $PGDATA/PG_VERSION ]]; then
		init_database_dir
		with_temporary_server "${@:2}"
		log "initialization complete"
	else
		log "$PGDATA holds a database: skipping initialization"
	fi
	unset POSTGRES_PASSWORD PGPASSWORD
	exec "$@"
}

main "$@"
