#!/bin/sh
# sentinel-start: entry point of a redis-sentinel pod watching the Strata
# group. A sentinel that restarts keeps its rewritten config (emptyDir that
# survives container restarts); a new one learns the current master from its
# peers (the strata-sentinel Service), else from the master-only Service,
# else assumes pod 0 of the group, and monitors it by DNS name.
set -eu
conf=/sentinel/sentinel.conf
ns=${POD_NAMESPACE:?}
domain=${CLUSTER_DOMAIN:-cluster.local}
name=${STRATA_MASTER_NAME:-strata}
quorum=${SENTINEL_QUORUM:-2}
self="${POD_NAME:?}.${SENTINEL_HEADLESS_SERVICE:-strata-sentinel}.$ns.svc.$domain"
if [ -n "${STRATA_PASSWORD_FILE:-}" ] && [ -r "$STRATA_PASSWORD_FILE" ]; then
    STRATA_PASSWORD=$(cat "$STRATA_PASSWORD_FILE")
fi
if [ -s "$conf" ]; then
    exec redis-sentinel "$conf"
fi
ask() {
    h=$1 p=$2
    shift 2
    timeout 3 redis-cli --no-auth-warning -h "$h" -p "$p" "$@" 2>/dev/null || true
}
master=""
reply=$(ask "${SENTINEL_HEADLESS_SERVICE:-strata-sentinel}" 26379 SENTINEL get-master-addr-by-name "$name" | head -n 1)
[ -n "$reply" ] && master=$reply
if [ -z "$master" ]; then
    if [ "$(REDISCLI_AUTH="${STRATA_PASSWORD:-}" ask "${STRATA_MASTER_SERVICE:-strata-master}" 6379 ROLE | head -n 1)" = master ]; then
        master=$(REDISCLI_AUTH="${STRATA_PASSWORD:-}" ask "${STRATA_MASTER_SERVICE:-strata-master}" 6379 \
            CONFIG GET replica-announce-ip | sed -n 2p)
    fi
fi
[ -n "$master" ] || master="${STRATA_STATEFULSET:-strata}-0.${STRATA_HEADLESS_SERVICE:-strata-headless}.$ns.svc.$domain"
{
    echo "port 26379"
    echo "dir /sentinel"
    echo "sentinel resolve-hostnames yes"
    echo "sentinel announce-hostnames yes"
    echo "sentinel announce-ip $self"
    echo "sentinel monitor $name $master 6379 $quorum"
    echo "sentinel down-after-milliseconds $name ${SENTINEL_DOWN_AFTER_MS:-5000}"
    echo "sentinel failover-timeout $name ${SENTINEL_FAILOVER_TIMEOUT_MS:-60000}"
    echo "sentinel parallel-syncs $name 1"
    [ -n "${STRATA_PASSWORD:-}" ] && echo "sentinel auth-pass $name $STRATA_PASSWORD"
} >"$conf"
echo "sentinel-start: $self monitors $name at $master (quorum $quorum)"
exec redis-sentinel "$conf"
