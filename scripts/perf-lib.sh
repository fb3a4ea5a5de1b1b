# Shared by scripts/flamegraph.sh, scripts/cpu-split.sh and scripts/replica-cpu.sh: run a server,
# preload it, and sample it with perf (cpu-clock, DWARF call stacks) while
# redis-benchmark runs one test against it.

# shellcheck source=scripts/server-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/server-lib.sh"

# All three fold perf's stacks with inferno: install it (from crates.io)
# when missing, as the README's scripts install their apt packages.
if ! command -v inferno-collapse-perf >/dev/null; then
    echo "perf-lib.sh: installing inferno (cargo install inferno)" >&2
    cargo install --quiet --locked inferno >&2 || { echo "perf-lib.sh: inferno is needed" >&2; exit 1; }
fi

# start_server BINARY PORT DIR LOG
# Starts BINARY on PORT with its data in DIR, as Redis (appendonly yes,
# everysec: the report's Redis) when it is named redis-server, else as
# Strata on its defaults; waits until it answers PING (10 s at most, then
# returns 1). Leaves its pid in SERVER_PID.
start_server() {
    local bin=$1 port=$2 dir=$3 log=$4
    mkdir -p "$dir"
    if [[ $(basename "$bin") == redis-server ]]; then
        "$bin" --port "$port" --save '' --appendonly yes --appendfsync everysec --dir "$dir" \
            --daemonize no >"$log" 2>&1 &
    else
        # SERVER_ARGS (environment) adds directives, e.g. --worker-threads 2.
        # shellcheck disable=SC2086
        "$bin" --port "$port" --dir "$dir" ${SERVER_ARGS:-} >"$log" 2>&1 &
    fi
    SERVER_PID=$!
    wait_for_ping "$port" 100
}

# profile_under_load BINARY TEST PIPELINE REQUESTS PRELOAD_TESTS WORK
# PRELOAD_REQUESTS (default 100000) sets the preload's size per test.
# Leaves the samples in WORK/perf.data and, in WORK/cpu, the server
# process's CPU time during the load (all threads, user + system, in clock
# ticks), the ticks per second, and redis-benchmark's own CPU time and the
# load's wall time in seconds ("TICKS TICKS_PER_SECOND CLIENT_S WALL_S"):
# the client shares the machine's cores with the server, so its CPU per
# request is part of what a row's throughput is bounded by. The server is
# stopped on return.
profile_under_load() {
    local bin=$1 test=$2 pipeline=$3 requests=$4 preload=$5 work=$6
    local port=${PORT:-26410} pid perfpid
    start_server "$bin" "$port" "$work/data" "$work/server.log" || true
    pid=$SERVER_PID
    redis-benchmark -p "$port" -t "$preload" -n "${PRELOAD_REQUESTS:-100000}" -c 50 -r 100000 -d 16 -P 16 -q >/dev/null 2>&1
    perf record -F 499 -e cpu-clock --call-graph dwarf,16384 -p "$pid" -o "$work/perf.data" \
        >/dev/null 2>&1 &
    perfpid=$!
    sleep 0.5
    local before after
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    local TIMEFORMAT='%U %S %R' client user sys wall
    client=$({ time redis-benchmark -p "$port" -t "$test" -n "$requests" -c 50 -r 100000 -d 16 \
        -P "$pipeline" -q >/dev/null 2>&1; } 2>&1)
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    read -r user sys wall <<<"$client"
    echo "$((after - before)) $(getconf CLK_TCK) $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $wall" \
        >"$work/cpu"
    kill -INT "$perfpid"
    wait "$perfpid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
