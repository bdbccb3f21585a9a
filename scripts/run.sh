#!/usr/bin/env bash
# Sets up and runs Lookout on this machine (Debian) with the embedded SQLite store:
# installs the packages, builds, and runs store, correlate and ingest under supervisord in
# the foreground (Ctrl-C stops everything).
#
# Configuration: .env in the repository root when present, else env.example's defaults.
# Variables already set in the calling environment win over both.
set -euo pipefail

cd "$(dirname "$0")/.."
root="$PWD"

# Reads KEY=VALUE lines (comments, blank lines and surrounding quotes allowed) and exports
# each variable the caller has not set already.
load_env_file() {
  local file="$1" line key value
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line#export }"
    [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key="${BASH_REMATCH[1]}"
    value="${BASH_REMATCH[2]}"
    if [[ "$value" =~ ^\"([^\"]*)\" ]] || [[ "$value" =~ ^\'([^\']*)\' ]]; then
      value="${BASH_REMATCH[1]}"
    else
      value="${value%%[[:space:]]#*}"
      value="${value%"${value##*[![:space:]]}"}"
    fi
    if [ -z "${!key+set}" ]; then
      export "$key=$value"
    fi
  done <"$file"
}

if [ -f .env ]; then
  load_env_file .env
  env_source=".env"
elif [ -f env.example ]; then
  load_env_file env.example
  env_source="env.example"
else
  env_source="built-in defaults"
fi

url="http://localhost:${LOOKOUT_HTTP_PORT:-18013}"
echo "Lookout: $url (configuration from $env_source)"

scripts/deps.sh
# Build just the programs supervisord.conf runs (and lookout-tap for watching them); the
# tests and benchmarks are scripts/test.sh's business.
targets=(lookout-tap)
while read -r program; do
  targets+=("$program")
done < <(sed -n 's#^command=%(ENV_LOOKOUT_BIN_DIR)s/[^/]*/\([^ ]*\).*#\1#p' supervisord.conf)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)" --target "${targets[@]}"

export LOOKOUT_BIN_DIR="${LOOKOUT_BIN_DIR:-$root/build}"
export LOOKOUT_VAR_DIR="${LOOKOUT_VAR_DIR:-$root/var}"
mkdir -p "$LOOKOUT_VAR_DIR/log"

echo "Lookout: starting on $url — logs in $LOOKOUT_VAR_DIR/log, status: supervisorctl -c supervisord.conf status"
exec supervisord -n -c supervisord.conf
