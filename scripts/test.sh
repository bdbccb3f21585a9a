#!/usr/bin/env bash
# Sets up and runs every Lookout test: installs the packages, builds, starts a private
# PostgreSQL for the integration tests, runs ctest, and always stops PostgreSQL again.
#
#   scripts/test.sh                      build in build/, run everything
#   LOOKOUT_SANITIZE=1 scripts/test.sh   ASan+UBSan build in build-asan/, run everything
#   scripts/test.sh -L integration       extra arguments go to ctest
#   LOOKOUT_BUILD_DIR=DIR scripts/test.sh build and test in DIR instead
#
# Exits with ctest's status.
set -euo pipefail

cd "$(dirname "$0")/.."
root="$PWD"

scripts/deps.sh

if [ "${LOOKOUT_SANITIZE:-0}" = "1" ]; then
  build_dir="${LOOKOUT_BUILD_DIR:-$root/build-asan}"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOKOUT_SANITIZE=ON
  # Stop at the first error with its report; leaks are reported (and fail) at exit.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  # Leaks inside system libraries that are not Lookout's to fix, each with its reason.
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/scripts/lsan.supp:print_suppressions=0}"
else
  build_dir="${LOOKOUT_BUILD_DIR:-$root/build}"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOKOUT_SANITIZE=OFF
fi
cmake --build "$build_dir" -j2

# ---- a private PostgreSQL for the tests ------------------------------------------------------

pg_bin=""
for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$dir/initdb" ]; then
    pg_bin="$dir"
    break
  fi
done
if [ -z "$pg_bin" ]; then
  echo "test.sh: PostgreSQL server binaries not found under /usr/lib/postgresql" >&2
  exit 1
fi

pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/lookout-pg.XXXXXX")"
pg_data="$pg_dir/data"
pg_port=""

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$pg_dir"
  as_pg=(runuser -u postgres --)
fi

stop_postgres() {
  local status=$?
  if [ -f "$pg_data/postmaster.pid" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$pg_dir"
  exit "$status"
}
trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port nobody listens on, starting at 55432.
pg_port="$(python3 - <<'PY'
import socket
for port in range(55432, 55632):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
PY
)"
if [ -z "$pg_port" ]; then
  echo "test.sh: no free port for PostgreSQL in 55432..55631" >&2
  exit 1
fi

"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust -E UTF8 --no-sync \
  >"$pg_dir/initdb.log" 2>&1 || {
  cat "$pg_dir/initdb.log" >&2
  exit 1
}
# Durability of the test cluster itself is not under test (processes are killed, never the
# machine), so skip fsync for speed.
if ! "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_dir/postgresql.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$pg_dir -c fsync=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null; then
  cat "$pg_dir/postgresql.log" >&2
  exit 1
fi
export LOOKOUT_TEST_PG_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"
echo "test.sh: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"

# ---- the tests -------------------------------------------------------------------------------

# A test that fails is run once more before it counts as failed: on a loaded 2-core machine a
# timing-sensitive integration test can lose a race once. ctest prints every such retry, and a
# test that fails twice fails the run.
status=0
ctest --test-dir "$build_dir" --output-on-failure -j2 --repeat until-pass:2 "$@" || status=$?
exit "$status"
