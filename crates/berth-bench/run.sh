#!/usr/bin/env bash
# Reproduce docs/benchmarks.md: build the job-engine benchmark (release),
# start a private PostgreSQL with scripts/pg, run the benchmark against it
# (Berth on SQLite, Berth on PostgreSQL, graphile_worker on PostgreSQL), and
# stop PostgreSQL again whatever happens. Extra arguments go to the
# benchmark, e.g. `crates/berth-bench/run.sh --jobs 500 --workers 2`.
# The table goes to stdout; cargo's build progress to stderr.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

cargo build --release -q -p berth-bench --bin berth-bench-jobs

tmp=$(mktemp -d)
chmod 755 "$tmp"
cleanup() {
  scripts/pg stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

url=$(scripts/pg start "$tmp/pg")
mkdir -p "$tmp/sqlite"
cargo run --release -q -p berth-bench --bin berth-bench-jobs -- \
  --pg-url "$url" --sqlite-dir "$tmp/sqlite" "$@"
