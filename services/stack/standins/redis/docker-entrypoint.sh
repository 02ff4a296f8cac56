#!/bin/sh
# Entrypoint of the redis:7 stand-in (Debian's redis-server).
#
# `redis-server [args | /path/redis.conf [args]]` (the default; also when the first argument is a
# flag or a *.conf file): as root, give the working directory (/data) to the redis user and re-run
# as that user. Like the official image, redis-server listens on all addresses with protected
# mode off unless the arguments or the config file say otherwise. Any other command (`sh -c ...`,
# `redis-cli ...`) is run as given.
set -eu

case ${1-} in
'' | -* | *.conf) set -- redis-server "$@" ;;
esac

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis:redis '{}' +
	HOME=/var/lib/redis
	export HOME
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "$1" = redis-server ]; then
	# Debian's redis-server defaults to protected mode (no remote clients without a password);
	# the official image defaults to off. Keep an explicit choice in the arguments or config file.
	mentioned=
	for arg in "$@"; do
		case $arg in --protected-mode | protected-mode) mentioned=1 ;; esac
	done
	case ${2-} in
	*.conf | /*)
		if [ -r "$2" ] && grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$2"; then
			mentioned=1
		fi
		;;
	esac
	if [ -z "$mentioned" ]; then
		set -- "$@" --protected-mode no
	fi
	umask 0077
fi

exec "$@"
