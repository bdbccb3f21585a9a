#!/usr/bin/env bash
# Runs one libFuzzer target of fuzz/ for a given time (fuzz/README.md).
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   scripts/fuzz.sh all SECONDS          every target, one after another
#   scripts/fuzz.sh list                 the target names
#
# Builds with clang (-fsanitize=fuzzer,address,undefined) in build-fuzz/ (or
# $LOOKOUT_FUZZ_BUILD_DIR), starts from the checked-in seeds fuzz/corpus/TARGET/ plus what
# earlier runs found (build-fuzz/fuzz-corpus/TARGET/, kept between runs, never written into
# the repository), and stops after SECONDS. A finding stops the run with the sanitizer's
# report; the input is saved as build-fuzz/fuzz-findings/TARGET/crash-* (replay it with
# build-fuzz/fuzz/fuzz_TARGET FILE, and once fixed add it to fuzz/corpus/TARGET/).
# Exits 0 when the time ran out without a finding.
set -euo pipefail

cd "$(dirname "$0")/.."
root="$PWD"
build_dir="${LOOKOUT_FUZZ_BUILD_DIR:-$root/build-fuzz}"

targets() {
  # the names of set(LOOKOUT_FUZZ_TARGETS ...) in fuzz/CMakeLists.txt, comments dropped
  sed -e 's/#.*//' fuzz/CMakeLists.txt | sed -n '/^set(LOOKOUT_FUZZ_TARGETS/,/)/p' |
    sed -e 's/set(LOOKOUT_FUZZ_TARGETS//' -e 's/)//' | tr -s ' \n' '\n' | sed '/^$/d'
}

if [ "${1:-}" = "list" ]; then
  targets
  exit 0
fi
if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer options...]" >&2
  echo "targets: $(targets | tr '\n' ' ')" >&2
  exit 2
fi
target="$1"
seconds="$2"
shift 2

if [ "$target" = "all" ]; then
  for name in $(targets); do
    "$0" "$name" "$seconds" "$@"
  done
  exit 0
fi
if ! targets | grep -qx "$target"; then
  echo "fuzz.sh: unknown target $target (scripts/fuzz.sh list)" >&2
  exit 2
fi

if ! command -v clang >/dev/null; then
  echo "fuzz.sh: clang is required (scripts/deps.sh installs it)" >&2
  exit 1
fi
mkdir -p "$build_dir"
# Several fuzzers may start at once: one build at a time in the shared build tree.
(
  flock 9
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOKOUT_FUZZ=ON >/dev/null
  fi
  cmake --build "$build_dir" --target "fuzz_$target" -j2 >/dev/null
) 9>"$build_dir/.fuzz-build.lock"

work="$build_dir/fuzz-corpus/$target"
findings="$build_dir/fuzz-findings/$target"
mkdir -p "$work" "$findings"
# The sanitizers stop at the first error; leaks count as findings too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
echo "fuzz.sh: fuzz_$target for $seconds s (corpus $work, findings $findings)"
# New inputs go to the first directory (the work corpus); the seeds are only read.
exec "$build_dir/fuzz/fuzz_$target" "$work" "$root/fuzz/corpus/$target" \
  -max_total_time="$seconds" -artifact_prefix="$findings/" -print_final_stats=1 \
  -timeout=10 -rss_limit_mb=2048 "$@"
