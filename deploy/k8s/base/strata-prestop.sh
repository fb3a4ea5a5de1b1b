#!/bin/sh
# strata-prestop: run before a Strata pod stops (Kubernetes preStop hook). A
# master hands mastership over first, so a rolling update or a drained node
# costs clients a role switch instead of a dead master:
#   - with sentinel (SENTINEL_HOST set): SENTINEL FAILOVER, so sentinel's view
#     and the group's agree;
#   - without: the server's own FAILOVER, which waits for a replica to catch
#     up, promotes it and turns this node into its replica.
# Then it waits (at most STRATA_HANDOVER_SECONDS, 30) until this node is a
# replica linked to the new master. A replica, or a master without
# replicas, stops at once. It always exits 0: the grace period, not this
# script, bounds the shutdown.
set -u
if [ -n "${STRATA_PASSWORD_FILE:-}" ] && [ -r "$STRATA_PASSWORD_FILE" ]; then
    REDISCLI_AUTH=$(cat "$STRATA_PASSWORD_FILE")
    export REDISCLI_AUTH
fi
port=${STRATA_PORT:-6379}
wait_s=${STRATA_HANDOVER_SECONDS:-30}

cli() {
    timeout 5 redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" "$@" 2>&1
}

info=$(cli INFO replication | tr -d '\r')
role=$(printf '%s\n' "$info" | sed -n 's/^role://p')
replicas=$(printf '%s\n' "$info" | sed -n 's/^connected_slaves://p')
if [ "$role" != master ] || [ "${replicas:-0}" = 0 ]; then
    echo "strata-prestop: role ${role:-unknown}, ${replicas:-0} replicas: nothing to hand over"
    exit 0
fi
if [ -n "${SENTINEL_HOST:-}" ]; then
    echo "strata-prestop: asking sentinel to fail ${STRATA_MASTER_NAME:-} over"
    REDISCLI_AUTH="${SENTINEL_PASSWORD:-}" timeout 5 redis-cli --no-auth-warning \
        -h "$SENTINEL_HOST" -p "${SENTINEL_PORT:-26379}" \
        SENTINEL FAILOVER "${STRATA_MASTER_NAME:?}" || true
else
    echo "strata-prestop: FAILOVER to an in-sync replica"
    cli FAILOVER TIMEOUT $((wait_s * 1000)) || true
fi
i=0
while [ "$i" -lt "$wait_s" ]; do
    # Handed over = a replica whose link to the new master is up (the new
    # master accepted the hand-over's PSYNC).
    now=$(cli INFO replication | tr -d '\r')
    if printf '%s\n' "$now" | grep -qx 'role:slave' &&
        printf '%s\n' "$now" | grep -qx 'master_link_status:up'; then
        echo "strata-prestop: handed over after ${i}s"
        exit 0
    fi
    sleep 1
    i=$((i + 1))
done
echo "strata-prestop: still master after ${wait_s}s; stopping anyway"
exit 0
