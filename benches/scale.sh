#!/usr/bin/env bash
# Scale harness (issue "Performance at scale"): for each scale, generate the exports, convert them once to the
# Parquet working copy, run `aftersales run` end to end (all tables, charts, report) from CSV and from Parquet,
# then the DuckDB baseline (benches/duckdb_baseline.py) on the same Parquet files, cross-checked against our
# tables. Wall time and peak memory from /usr/bin/time -v; prints Markdown rows for BENCHMARKS.md and each run's
# stage seconds (run.json) on stderr.
#
#   benches/scale.sh 1            # scale 1 ≈ 1 M order lines
#   benches/scale.sh 1 10 30      # scale 30: 5.6 GB of CSV, 29 M order lines
#   benches/scale.sh 100          # 19 GB of CSV, 97 M order lines: ≈ 27 min with SKIP_CSV=1 on 2 cores (generate 6,
#                                 # convert 7, run 10, DuckDB and its cross-check 4; BENCHMARKS.md); ≈ 35 GB of disk
#
# Env: WORK (default /tmp/aftersales-scale) holds data, outputs and the DuckDB virtual environment;
# REUSE=1 keeps already generated data; SKIP_CSV=1 skips the run from CSV; SKIP_DUCKDB=1 skips the baseline.
# Uses the release binary. Not part of `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales/target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/aftersales"
WORK="${WORK:-/tmp/aftersales-scale}"
mkdir -p "$WORK"

if [ -z "${SKIP_DUCKDB:-}" ] && [ ! -x "$WORK/venv/bin/python" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet duckdb
fi

measure() { # label, rows, command...   (set RUN_JSON=path for an aftersales run: see below)
  local label="$1" rows="$2"; shift 2
  local log="$WORK/time.log"
  /usr/bin/time -v "$@" >"$WORK/stdout.log" 2>"$log" || { cat "$log" "$WORK/stdout.log" >&2; return 1; }
  local wall rss secs
  wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
  # `aftersales run` resets the kernel's high-water mark at each stage to measure the stage's own peak, so
  # /usr/bin/time sees only the last stage's; the run's peak is run.json's `total` row.
  if [ -n "${RUN_JSON:-}" ] && [ -f "$RUN_JSON" ]; then
    rss=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print([s for s in r['stage_seconds'] if s['stage']=='total'][0]['peak_rss_mb'] * 1024)" "$RUN_JSON")
  fi
  secs=$(awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }' <<<"$wall")
  local rate="–"
  if [ "$rows" -gt 0 ]; then rate=$(awk -v r="$rows" -v s="$secs" 'BEGIN { printf "%.2f M", r / s / 1e6 }'); fi
  printf '| %s | %s | %.0f MB | %s |\n' "$label" "$wall" "$((rss / 1024))" "$rate"
}

echo "| step | wall (m:ss) | peak RSS | order lines / s |"
echo "|---|---|---|---|"
for s in "$@"; do
  d="$WORK/s$s"
  if [ -z "${REUSE:-}" ] || [ ! -d "$d-pq" ]; then
    rm -rf "$d" "$d-pq"
    measure "generate scale $s (CSV)" 0 "$BIN" --quiet generate --out "$d" --scale "$s" --seed 1
    measure "convert scale $s to Parquet" 0 "$BIN" --quiet convert --data "$d" --out "$d-pq"
  fi
  lines=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tables']['orders']['rows_read'])" \
    "$d-pq/run.json" 2>/dev/null || echo 0)
  if [ "$lines" = 0 ]; then lines=$(($(wc -l < "$d/orders.csv") - 1)); fi
  if [ -z "${SKIP_CSV:-}" ]; then
    RUN_JSON="$WORK/out-csv/run.json" measure "run scale $s from CSV ($lines order lines)" "$lines" "$BIN" --quiet run --data "$d" --out "$WORK/out-csv"
  fi
  RUN_JSON="$WORK/out-pq/run.json" measure "run scale $s from Parquet ($lines order lines)" "$lines" "$BIN" --quiet run --data "$d-pq" --out "$WORK/out-pq"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('    aftersales stages (s / peak MB): ' + ', '.join(f\"{x['stage']} {x['seconds']} / {x.get('peak_rss_mb')}\" for x in r['stage_seconds']))" "$WORK/out-pq/run.json" >&2
  if [ -z "${SKIP_DUCKDB:-}" ]; then
    # Timed: the four families computed and written as Parquet, as a user's DuckDB script would.
    measure "DuckDB baseline scale $s from Parquet (4 families)" "$lines" \
      "$WORK/venv/bin/python" benches/duckdb_baseline.py --data "$d-pq" --out "$WORK/out-duckdb"
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('    duckdb seconds: ' + json.dumps(r['seconds']))" "$WORK/stdout.log" >&2
    # Untimed: the same figures compared with ours, row by row.
    "$WORK/venv/bin/python" benches/duckdb_baseline.py --data "$d-pq" --ours "$WORK/out-pq" >"$WORK/cross_check_s$s.json" \
      && echo "    cross-check: aftersales and DuckDB agree (see $WORK/cross_check_s$s.json)" >&2 \
      || { echo "    cross-check FAILED: $WORK/cross_check_s$s.json" >&2; cat "$WORK/cross_check_s$s.json" >&2; }
  fi
  du -sh "$d" "$d-pq" | sed 's/^/    size: /' >&2
done
