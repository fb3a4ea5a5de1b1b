#!/usr/bin/env bash
# Runs Strata's whole test suite: unit tests, then the integration tests,
# which start real strata-server processes and compare them with a real
# redis-server. Installs what it needs with apt-get when missing.
# Extra arguments are passed to both `cargo test` runs (e.g. a test filter).
set -uo pipefail
cd "$(dirname "$0")/.."

. scripts/lib.sh
ensure_packages test.sh clang libclang-dev redis-server redis-tools redis-sentinel iproute2 || exit 1
# The Debian package starts a redis-server service on port 6379, which would
# keep ./scripts/run.sh from binding it. The tests start their own servers on
# free ports, so a service this script just installed is stopped.
if [[ " ${installed[*]} " == *" redis-server "* ]] && command -v systemctl >/dev/null 2>&1; then
    as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
ensure_cargo test.sh || exit 1
# redis-py, for tests/py/sentinel_client.py (a client that asks sentinel for
# the master, run by the integration tests; in CI they fail without it).
if ! python3 -c 'import redis' >/dev/null 2>&1; then
    command -v python3 >/dev/null 2>&1 || ensure_packages test.sh python3 || exit 1
    echo "test.sh: installing redis-py" >&2
    python3 -m pip install --quiet redis >/dev/null 2>&1 ||
        python3 -m pip install --quiet --break-system-packages redis >/dev/null 2>&1 ||
        ensure_packages test.sh python3-redis || true
    if ! python3 -c 'import redis' >/dev/null 2>&1; then
        echo "SUMMARY: FAILED: could not install redis-py for python3"
        exit 1
    fi
fi

color=auto
[ "${CI:-}" = "true" ] && color=never

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

echo "== build (cargo test --release --workspace --no-run)"
if ! cargo test --release --workspace --color "$color" --no-run; then
    echo "SUMMARY: FAILED: the build did not succeed"
    exit 1
fi

status=0
run() {
    local name=$1
    shift
    echo "== $name"
    cargo test --release --color "$color" "$@" 2>&1 | tee "$log_dir/$name.log"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -ne 0 ] && status=1
    return 0
}
# The unit tests run once per storage engine the server knows: the types
# tests open their keyspace on the engine named by STRATA_TEST_ENGINE (and
# the engine conformance suite covers every engine in each run anyway).
engines=$(cargo run --release --quiet --bin strata-server -- --list-engines)
if [ -z "$engines" ]; then
    echo "SUMMARY: FAILED: strata-server --list-engines printed nothing"
    exit 1
fi
first=1
for engine in $engines; do
    if [ "$first" = 1 ]; then
        STRATA_TEST_ENGINE=$engine run "unit-$engine" --workspace --lib --bins "$@"
        first=0
    else
        # Later engines: the library's tests only (the types tests among them).
        STRATA_TEST_ENGINE=$engine run "unit-$engine" --lib "$@"
    fi
done
run integration --test it "$@"
# The integration tests of storage, durability (kill -9) and replication run
# a second time on the pmem engine: every Strata they start gets `--engine
# pmem` (tests/it/common.rs reads STRATA_IT_ENGINE). About 2 minutes on 2
# cores. Skipped when a filter was given (it would not apply to both runs).
pmem_filters=(differential durability strings keys hashes lists sets zsets pipeline hot_key replica master_sync pmem_crash)
pmem_run=0
if [ $# -eq 0 ] && printf '%s\n' $engines | grep -qx pmem; then
    STRATA_IT_ENGINE=pmem run integration-pmem --test it -- "${pmem_filters[@]}"
    pmem_run=1
fi
# The Kubernetes operator, a workspace of its own (see Cargo.toml): its
# decisions, API requests (mock client) and node actions against the
# strata-server built above.
run operator --manifest-path deploy/operator/Cargo.toml "$@"
# Deployment artefacts (manifests, CRD and samples, Dockerfiles, dashboard),
# checked offline.
echo "== deploy"
scripts/test-deploy.sh 2>&1 | tee "$log_dir/deploy.log"
deploy_rc=${PIPESTATUS[0]}
deploy_verdict=ok
if [ "$deploy_rc" -ne 0 ]; then
    status=1
    deploy_verdict=FAILED
fi

# "test result: ok. 12 passed; 0 failed; ..." lines, summed per run.
count() {
    grep -h '^test result:' "$log_dir/$1.log" 2>/dev/null |
        sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed; ([0-9]+) ignored.*/\1 \2 \3/' |
        awk '{p+=$1; f+=$2; i+=$3} END {printf "%d passed, %d failed, %d ignored", p, f, i}'
}
verdict=ok
[ "$status" -ne 0 ] && verdict=FAILED
unit_summary=""
for engine in $engines; do
    unit_summary+="unit tests ($engine): $(count "unit-$engine"); "
done
pmem_summary=""
[ "$pmem_run" = 1 ] && pmem_summary="; integration tests on pmem: $(count integration-pmem)"
echo "SUMMARY: $verdict: ${unit_summary}integration tests: $(count integration)${pmem_summary}; operator tests: $(count operator); deploy checks: $deploy_verdict"
exit "$status"
