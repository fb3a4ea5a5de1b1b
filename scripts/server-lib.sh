# Shared by the measuring scripts that start servers themselves (callgrind.sh,
# perf-lib.sh, large-get-instr.sh, replica-instr.sh): wait for a server to
# answer, and stop one so that a profiler writes its output.

# wait_for_ping PORT [TENTHS]: waits until PORT answers PING, TENTHS tenths
# of a second at most (default 600: a server under valgrind starts slowly);
# returns 1 if it never did.
wait_for_ping() {
    local port=$1 tries=${2:-600}
    for _ in $(seq "$tries"); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# stop_server PORT PID: SHUTDOWN NOSAVE, then waits up to 60 s for PID to
# exit (callgrind writes its profile on exit) before killing it.
stop_server() {
    local port=$1 pid=$2
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 600); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
