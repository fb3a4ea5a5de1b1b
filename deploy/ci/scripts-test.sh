#!/usr/bin/env bash
# Runs the pod scripts (deploy/k8s/base/*.sh, which the image and the
# ConfigMap carry) against real strata-server processes on loopback:
#   - strata-start as ordinal 0 starts a master; with EXTERNAL_MASTER_HOST
#     it starts a replica of that master (the cross-datacenter case);
#   - strata-probe: live and ready on the master, ready on the replica only
#     once it is in sync, not ready when its master is gone;
#   - strata-prestop on the master hands over with FAILOVER: afterwards the
#     old master is a replica and the replica is master.
#   deploy/ci/scripts-test.sh /path/to/strata-server
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
server=${1:?usage: scripts-test.sh /path/to/strata-server}
base=deploy/k8s/base
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "scripts-test: FAILED: $*" >&2
    tail -n 5 "$work"/*.log >&2
    exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS WHAT COMMAND...
    local s=$1 what=$2
    shift 2
    for _ in $(seq $((s * 5))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    fail "timed out after ${s}s: $what"
}
# strata-start execs "strata-server": put the binary on PATH under that name.
mkdir -p "$work/bin"
ln -s "$(realpath "$server")" "$work/bin/strata-server"
export PATH="$work/bin:$PATH"
printf 'bind 127.0.0.1\nrepl-diskless-sync-delay 0\n' >"$work/strata.conf"

start_pod() { # start_pod NAME PORT [VAR=value ...]: runs strata-start like a pod
    local name=$1 port=$2
    shift 2
    env POD_NAME="$name" POD_NAMESPACE=test STRATA_HEADLESS_SERVICE=h STRATA_ANNOUNCE_HOST=127.0.0.1 \
        STRATA_PORT="$port" STRATA_CONF="$work/strata.conf" STRATA_DATA="$work/$name" "$@" \
        sh "$base/strata-start.sh" >"$work/$name.log" 2>&1 &
    pids+=($!)
}
probe() { STRATA_PORT=$1 sh "$base/strata-probe.sh" "$2"; }
role() { redis-cli -p "$1" ROLE | head -n 1; }

m=$(free_port)
start_pod s-0 "$m"
wait_for 20 "s-0 answers" probe "$m" live
probe "$m" ready || fail "a master is ready"
[ "$(role "$m")" = master ] || fail "ordinal 0 starts as master"
grep -q "starts as master" "$work/s-0.log" || fail "strata-start says master"
redis-cli -p "$m" SET k v >/dev/null

r=$(free_port)
start_pod s-1 "$r" EXTERNAL_MASTER_HOST=127.0.0.1 EXTERNAL_MASTER_PORT="$m"
wait_for 20 "s-1 answers" probe "$r" live
[ "$(role "$r")" = slave ] || fail "with an external master, s-1 starts as a replica"
wait_for 30 "the replica is ready (in sync)" probe "$r" ready
[ "$(redis-cli -p "$r" GET k)" = v ] || fail "the replica has the master's data"

echo "strata-prestop on the master (FAILOVER hand-over)"
STRATA_PORT=$m STRATA_HANDOVER_SECONDS=20 sh "$base/strata-prestop.sh" || fail "prestop exits 0"
[ "$(role "$r")" = master ] || fail "after preStop the replica is master"
[ "$(role "$m")" = slave ] || fail "after preStop the old master is a replica"
wait_for 30 "the old master is ready as a replica" probe "$m" ready

echo "strata-prestop on a replica does nothing"
STRATA_PORT=$m sh "$base/strata-prestop.sh" | grep -q "nothing to hand over" ||
    fail "prestop of a replica"

kill "${pids[1]}"
wait "${pids[1]}" 2>/dev/null
wait_for 30 "a replica whose master is gone is not ready" sh -c "! STRATA_PORT=$m sh $base/strata-probe.sh ready"
probe "$m" live || fail "it is still live"
echo "scripts-test: ok"
