#!/bin/sh
# strata-probe: the health check of a Strata node, shared by the Docker
# HEALTHCHECK and the Kubernetes probes (it is in the image and in the
# ConfigMap). It asks the server itself (redis-cli INFO), so it knows what a
# TCP check cannot: whether the node is still loading a dataset and whether a
# replica is in sync with its master.
#
#   strata-probe live    the process answers (PONG, or LOADING / MASTERDOWN /
#                        NOAUTH-free errors that prove it is alive): exit 0
#   strata-probe ready   alive, not loading, and either a master or a replica
#                        whose link is up and whose initial sync is done
#
# Environment: STRATA_PORT (6379), STRATA_HOST (127.0.0.1), REDISCLI_AUTH
# (password, read by redis-cli itself), STRATA_PROBE_TIMEOUT (seconds, 3).
set -u
if [ -n "${STRATA_PASSWORD_FILE:-}" ] && [ -r "$STRATA_PASSWORD_FILE" ]; then
    REDISCLI_AUTH=$(cat "$STRATA_PASSWORD_FILE")
    export REDISCLI_AUTH
fi
host=${STRATA_HOST:-127.0.0.1}
port=${STRATA_PORT:-6379}
timeout=${STRATA_PROBE_TIMEOUT:-3}

cli() {
    timeout "$timeout" redis-cli --no-auth-warning -h "$host" -p "$port" "$@" 2>&1
}

field() {
    # field NAME: the value of "NAME:value" in $info (CRLF stripped).
    printf '%s\n' "$info" | tr -d '\r' | sed -n "s/^$1://p" | head -n 1
}

case "${1:-ready}" in
live)
    reply=$(cli PING) || { echo "no answer on $host:$port"; exit 1; }
    case "$reply" in
    PONG | LOADING* | MASTERDOWN* | BUSY*) exit 0 ;;
    *) echo "unexpected PING reply: $reply"; exit 1 ;;
    esac
    ;;
ready)
    info=$(cli INFO) || { echo "no answer on $host:$port"; exit 1; }
    case "$info" in
    *"# Server"*) ;;
    *) echo "INFO failed: $info"; exit 1 ;;
    esac
    if [ "$(field loading)" != "0" ]; then
        echo "loading"
        exit 1
    fi
    role=$(field role)
    case "$role" in
    master) exit 0 ;;
    slave)
        link=$(field master_link_status)
        syncing=$(field master_sync_in_progress)
        if [ "$link" = "up" ] && [ "$syncing" = "0" ]; then
            exit 0
        fi
        echo "replica not in sync (master_link_status:$link master_sync_in_progress:$syncing)"
        exit 1
        ;;
    *) echo "unknown role: $role"; exit 1 ;;
    esac
    ;;
*)
    echo "usage: strata-probe live|ready" >&2
    exit 2
    ;;
esac
