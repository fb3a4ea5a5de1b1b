# Shared by the measuring scripts that start servers themselves (callgrind.sh,
# perf-lib.sh, large-get-instr.sh, replica-instr.sh): wait for a server to
# answer, stop one so that a profiler writes its output, and attach a replica
# and wait until it has its master's offset (replica-cpu.sh too).

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

# repl_field PORT FIELD: FIELD of PORT's INFO replication.
repl_field() {
    redis-cli -p "$1" info replication | tr -d '\r' | awk -F: -v f="$2" '$1 == f {print $2}'
}

# attach_replica REPLICA_PORT MASTER_PORT: REPLICAOF, then waits up to 60 s
# for the link to come up; returns 1 if it did not.
attach_replica() {
    local replica=$1 master=$2
    redis-cli -p "$replica" replicaof 127.0.0.1 "$master" >/dev/null
    for _ in $(seq 600); do
        [[ $(repl_field "$replica" master_link_status) == up ]] && return 0
        sleep 0.1
    done
    return 1
}

# wait_caught_up MASTER_PORT REPLICA_PORT [TENTHS]: waits until the replica
# has the master's offset (default 120 s); returns 1 if it never did.
wait_caught_up() {
    local master=$1 replica=$2 tries=${3:-1200}
    for _ in $(seq "$tries"); do
        [[ $(repl_field "$master" master_repl_offset) == "$(repl_field "$replica" slave_repl_offset)" ]] && return 0
        sleep 0.1
    done
    return 1
}
