#!/bin/sh
# strata-start: the entry point of a Strata pod in a replicated group. It
# decides the node's role at start from what the group already knows, so a
# restarted pod never comes back as a second master:
#   1. sentinel (SENTINEL_HOST set): the master sentinel names for
#      STRATA_MASTER_NAME; this pod is master only if sentinel says so;
#   2. else, or when sentinel does not know the group yet: whoever answers as
#      master behind the master-only Service (STRATA_MASTER_SERVICE);
#   3. else pod ordinal 0 bootstraps as master, the others replicate from it.
# EXTERNAL_MASTER_HOST (cross-datacenter group) overrides all three: every
# pod, ordinal 0 included, replicates from the external master.
# Hostnames, never pod IPs: each pod announces its stable DNS name
# (POD_NAME.HEADLESS_SERVICE.NAMESPACE.svc) to its master and to sentinel.
# The ConfigMap's strata.conf is copied to /data so CONFIG REWRITE works.
set -eu
port=${STRATA_PORT:-6379}
conf_src=${STRATA_CONF:-/etc/strata/strata.conf}
data=${STRATA_DATA:-/data}
pod=${POD_NAME:?POD_NAME must be set (downward API)}
ns=${POD_NAMESPACE:?POD_NAMESPACE must be set (downward API)}
headless=${STRATA_HEADLESS_SERVICE:?STRATA_HEADLESS_SERVICE must be set}
domain=${CLUSTER_DOMAIN:-cluster.local}
# STRATA_ANNOUNCE_HOST overrides the announced name (host networking, tests).
self=${STRATA_ANNOUNCE_HOST:-"$pod.$headless.$ns.svc.$domain"}
ordinal=${pod##*-}
set_name=${pod%-*}

# Passwords come from mounted Secret files (not environment variables) when
# STRATA_PASSWORD_FILE / EXTERNAL_MASTER_PASSWORD_FILE name them.
if [ -n "${STRATA_PASSWORD_FILE:-}" ] && [ -r "$STRATA_PASSWORD_FILE" ]; then
    STRATA_PASSWORD=$(cat "$STRATA_PASSWORD_FILE")
fi
if [ -n "${EXTERNAL_MASTER_PASSWORD_FILE:-}" ] && [ -r "$EXTERNAL_MASTER_PASSWORD_FILE" ]; then
    EXTERNAL_MASTER_PASSWORD=$(cat "$EXTERNAL_MASTER_PASSWORD_FILE")
fi
mkdir -p "$data"
cp "$conf_src" "$data/strata.conf"
set -- "$data/strata.conf" --dir "$data" --port "$port" \
    --replica-announce-ip "$self" --replica-announce-port "$port"
if [ -n "${STRATA_PASSWORD:-}" ]; then
    set -- "$@" --requirepass "$STRATA_PASSWORD" --masterauth "$STRATA_PASSWORD"
fi

ask() {
    # ask HOST PORT CMD...: one redis-cli call with a short timeout.
    h=$1 p=$2
    shift 2
    timeout 3 redis-cli --no-auth-warning -h "$h" -p "$p" "$@" 2>/dev/null || true
}

master=""
if [ -n "${EXTERNAL_MASTER_HOST:-}" ]; then
    master="$EXTERNAL_MASTER_HOST ${EXTERNAL_MASTER_PORT:-6379}"
    if [ -n "${EXTERNAL_MASTER_PASSWORD:-}" ]; then
        set -- "$@" --masterauth "$EXTERNAL_MASTER_PASSWORD"
    fi
elif [ -n "${SENTINEL_HOST:-}" ]; then
    reply=$(REDISCLI_AUTH="${SENTINEL_PASSWORD:-}" ask "$SENTINEL_HOST" "${SENTINEL_PORT:-26379}" \
        SENTINEL get-master-addr-by-name "${STRATA_MASTER_NAME:?}" | tr '\n' ' ')
    mhost="" mport=""
    read -r mhost mport _rest <<REPLY || true
$reply
REPLY
    case "$mport" in
    '' | *[!0-9]*) ;; # no answer, or an error: sentinel does not know the group
    *) master="$mhost $mport" ;;
    esac
fi
if [ -z "$master" ] && [ -n "${STRATA_MASTER_SERVICE:-}" ]; then
    role=$(REDISCLI_AUTH="${STRATA_PASSWORD:-}" ask "$STRATA_MASTER_SERVICE" "$port" ROLE | head -n 1)
    if [ "$role" = master ]; then
        mhost=$(REDISCLI_AUTH="${STRATA_PASSWORD:-}" ask "$STRATA_MASTER_SERVICE" "$port" \
            CONFIG GET replica-announce-ip | sed -n 2p)
        [ -n "$mhost" ] && master="$mhost $port"
    fi
fi
if [ -z "$master" ] && [ "$ordinal" != 0 ]; then
    master="$set_name-0.$headless.$ns.svc.$domain $port"
fi
case "$master" in
"" | "$self $port") echo "strata-start: $self starts as master" ;;
*)
    echo "strata-start: $self starts as a replica of $master"
    # shellcheck disable=SC2086 # "host port" is two arguments
    set -- "$@" --replicaof $master
    ;;
esac
# shellcheck disable=SC2086 # extra "--directive value" words split on purpose
exec strata-server "$@" ${STRATA_EXTRA_ARGS:-}
