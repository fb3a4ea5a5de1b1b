#!/bin/sh
# strata-role-label: keeps this pod's strata.io/role label equal to the role
# the server reports (master or replica), so the master-only Service follows
# the master after a sentinel failover even when no operator runs (plain
# manifests). Runs as a sidecar; patches only its own pod, with the pod's
# service account (RBAC: get/patch pods in the namespace).
set -u
if [ -n "${STRATA_PASSWORD_FILE:-}" ] && [ -r "$STRATA_PASSWORD_FILE" ]; then
    REDISCLI_AUTH=$(cat "$STRATA_PASSWORD_FILE")
    export REDISCLI_AUTH
fi
port=${STRATA_PORT:-6379}
every=${STRATA_LABEL_SECONDS:-5}
sa=/var/run/secrets/kubernetes.io/serviceaccount
api="https://kubernetes.default.svc/api/v1/namespaces/${POD_NAMESPACE:?}/pods/${POD_NAME:?}"
last=""
while :; do
    role=$(timeout 3 redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" ROLE 2>/dev/null | head -n 1)
    case "$role" in
    master) want=master ;;
    slave) want=replica ;;
    *) want="" ;;
    esac
    if [ -n "$want" ] && [ "$want" != "$last" ]; then
        body="{\"metadata\":{\"labels\":{\"strata.io/role\":\"$want\"}}}"
        if curl -fsS --max-time 5 --cacert "$sa/ca.crt" \
            -H "Authorization: Bearer $(cat "$sa/token")" \
            -H 'Content-Type: application/merge-patch+json' \
            -X PATCH --data "$body" "$api" >/dev/null; then
            echo "strata-role-label: role=$want"
            last=$want
        fi
    fi
    sleep "$every"
done
