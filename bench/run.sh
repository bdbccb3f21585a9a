#!/usr/bin/env bash
# Benchmarks Lookout against Debian's prometheus-alertmanager on this machine: builds a
# Release tree, starts a private PostgreSQL (as scripts/test.sh does), runs bench/bench.py
# (throughput, answer latency, end-to-end latency, memory, storm) and always stops
# PostgreSQL again. Prints a table; writes the figures to bench/results/<date>.json.
#
#   bench/run.sh                       everything (about 12-15 minutes on 2 cores)
#   bench/run.sh --rounds 5            more rounds per throughput figure
#   bench/run.sh --skip storm,memory   leave phases out (latency, e2e, memory, storm)
#   bench/run.sh --no-postgresql       SQLite only (no PostgreSQL server needed)
#   LOOKOUT_BENCH_BUILD_DIR=DIR bench/run.sh   build in DIR (default build-bench)
#
# Arguments go to bench/bench.py (see its --help). Benchmarks are not tests: ctest never
# runs this; tests/integration/test_bench_smoke.py only checks that the load generator works.
set -euo pipefail

cd "$(dirname "$0")/.."
root="$PWD"
build_dir="${LOOKOUT_BENCH_BUILD_DIR:-$root/build-bench}"

if [ ! -x /usr/bin/prometheus-alertmanager ]; then
  scripts/deps.sh
fi
# Release, with warnings not fatal: a benchmark build must not fail on a new compiler warning
# (CI's build catches those).
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLOOKOUT_SANITIZE=OFF \
  -DLOOKOUT_WERROR=OFF >/dev/null
cmake --build "$build_dir" -j2 --target lookout-store lookout-correlate lookout-ingest \
  lookout-escalate lookout-notify lookout-publish mock_kafka lookout-tap loadgen

pg_dir=""
pg_data=""
as_pg=()
stop_postgres() {
  local status=$?
  if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  [ -n "$pg_dir" ] && rm -rf "$pg_dir"
  exit "$status"
}
trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ " $* " != *" --no-postgresql "* ]]; then
  pg_bin=""
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ]; then
      pg_bin="$dir"
      break
    fi
  done
  if [ -z "$pg_bin" ]; then
    echo "run.sh: PostgreSQL server binaries not found (scripts/deps.sh installs them)" >&2
    exit 1
  fi
  pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/lookout-bench-pg.XXXXXX")"
  pg_data="$pg_dir/data"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$pg_dir"
    as_pg=(runuser -u postgres --)
  fi
  pg_port="$(python3 -c '
import socket
for port in range(55632, 55832):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break')"
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust -E UTF8 \
    >"$pg_dir/initdb.log" 2>&1 || {
    cat "$pg_dir/initdb.log" >&2
    exit 1
  }
  # A production-like server: fsync stays on, so a commit is as durable as SQLite's, and its
  # WAL segments are recycled (docs/operations.md, "PostgreSQL"), as in a server that has run
  # for a while. A new server has none to recycle and would create and zero-fill a 16 MB
  # segment inside a commit every ~1.4 s of new alerts at 15,600/s (a ~50 ms stall of every
  # commit); so the pool is written once before the measurements: 256 segment switches, during
  # which max_wal_size triggers a checkpoint, then one more, which leave about 135 recycled
  # segments (2.2 GB, a checkpoint cycle's WAL) ahead; ~10 s. bench.py records the count.
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_dir/postgresql.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$pg_dir -c max_connections=100 -c shared_buffers=128MB -c min_wal_size=4GB -c max_wal_size=4GB" \
    start >/dev/null || {
    cat "$pg_dir/postgresql.log" >&2
    exit 1
  }
  "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
    -c "DO \$\$ BEGIN FOR i IN 1..256 LOOP PERFORM pg_switch_wal(); PERFORM pg_logical_emit_message(false, 'lookout-bench', 'prime'); END LOOP; END \$\$" \
    -c "CHECKPOINT" >/dev/null
  export LOOKOUT_TEST_PG_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"
fi

LOOKOUT_BIN_DIR="$build_dir" LOOKOUT_SOURCE_DIR="$root" PYTHONDONTWRITEBYTECODE=1 \
  python3 bench/bench.py "$@"
