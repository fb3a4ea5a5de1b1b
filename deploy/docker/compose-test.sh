#!/usr/bin/env bash
# Builds Strata's image and runs a replicated group as containers: a master,
# a replica and three redis-sentinels (from the same image) on one Docker
# network, then checks that a write reaches the replica and that sentinel
# fails the group over to the replica when the master container is killed.
# Needs a running Docker engine; without one it says so and exits 2.
#   deploy/docker/compose-test.sh [image-tag]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
tag=${1:-strata:compose-test}
net=strata-compose-test
prefix=strata-ct

if ! command -v docker >/dev/null 2>&1; then
    echo "compose-test: no docker CLI on PATH; install Docker to run this test" >&2
    exit 2
fi
if ! docker info >/dev/null 2>&1; then
    echo "compose-test: no Docker engine is reachable (docker info failed);" \
        "this test needs a running Docker daemon and was NOT run" >&2
    exit 2
fi

cleanup() {
    docker rm -f "$prefix-master" "$prefix-replica" "$prefix-s1" "$prefix-s2" "$prefix-s3" >/dev/null 2>&1
    docker network rm "$net" >/dev/null 2>&1
}
trap cleanup EXIT
fail() {
    echo "compose-test: FAILED: $*" >&2
    for c in master replica s1; do
        echo "--- logs of $prefix-$c" >&2
        docker logs --tail 30 "$prefix-$c" >&2 2>&1
    done
    exit 1
}
cli() { # cli CONTAINER ARGS...
    local c=$1
    shift
    docker exec "$prefix-$c" redis-cli "$@" | tr -d '\r'
}
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local s=$1 what=$2
    shift 2
    for _ in $(seq "$s"); do
        "$@" && return 0
        sleep 1
    done
    fail "timed out after ${s}s waiting for $what"
}

echo "== docker build -t $tag ."
docker build -t "$tag" . || fail "docker build"
cleanup
docker network create "$net" >/dev/null || fail "docker network create"

echo "== master and replica"
docker run -d --name "$prefix-master" --network "$net" "$tag" \
    --replica-announce-ip "$prefix-master" >/dev/null || fail "start master"
docker run -d --name "$prefix-replica" --network "$net" "$tag" \
    --replicaof "$prefix-master" 6379 --replica-announce-ip "$prefix-replica" >/dev/null ||
    fail "start replica"
healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$prefix-$1")" = healthy ]; }
wait_for 90 "the master's health check" healthy master
wait_for 90 "the replica's health check (in sync)" healthy replica

cli master SET compose-key hello >/dev/null
in_replica() { [ "$(cli replica GET compose-key)" = hello ]; }
wait_for 30 "the write to reach the replica" in_replica
echo "replication: ok"

echo "== three sentinels"
for s in s1 s2 s3; do
    docker run -d --name "$prefix-$s" --network "$net" --entrypoint sh "$tag" -c "
        printf '%s\n' 'port 26379' 'dir /tmp' \
            'sentinel resolve-hostnames yes' 'sentinel announce-hostnames yes' \
            'sentinel announce-ip $prefix-$s' \
            'sentinel monitor mymaster $prefix-master 6379 2' \
            'sentinel down-after-milliseconds mymaster 2000' \
            'sentinel failover-timeout mymaster 20000' > /tmp/sentinel.conf
        exec redis-sentinel /tmp/sentinel.conf" >/dev/null || fail "start sentinel $s"
done
knows_all() {
    [ "$(cli s1 -p 26379 SENTINEL master mymaster | sed -n '/^num-other-sentinels$/{n;p}')" = 2 ] &&
        [ "$(cli s1 -p 26379 SENTINEL master mymaster | sed -n '/^num-slaves$/{n;p}')" = 1 ]
}
wait_for 60 "sentinels to find each other and the replica" knows_all

echo "== kill the master"
docker kill "$prefix-master" >/dev/null
promoted() {
    cli s1 -p 26379 SENTINEL get-master-addr-by-name mymaster | head -n 1 | grep -qx "$prefix-replica"
}
wait_for 60 "sentinel to promote the replica" promoted
is_master() { [ "$(cli replica ROLE | head -n 1)" = master ]; }
wait_for 30 "the replica to report role master" is_master
[ "$(cli replica GET compose-key)" = hello ] || fail "the promoted replica lost the write"
cli replica SET after-failover yes >/dev/null || fail "write on the new master"
echo "compose-test: ok (replication and sentinel failover)"
