#!/bin/sh
# strata-entrypoint: starts strata-server with the mounted configuration file
# and any `--directive value` flags given to `docker run` (applied after the
# file, as redis-server does). STRATA_CONF names another file; a first
# argument that is not a flag is run as a command (e.g. `redis-sentinel ...`).
set -eu
case "${1:-}" in
"" | --*) ;;
*) exec "$@" ;;
esac
exec strata-server "${STRATA_CONF:-/etc/strata/strata.conf}" "$@"
