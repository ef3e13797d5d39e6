#!/usr/bin/env bash
# Scale harness: generate exports at the given scales, convert them to Parquet, and time `validate` (load + check)
# from CSV and from Parquet with peak memory (/usr/bin/time -v). Prints a Markdown table for BENCHMARKS.md.
#
#   benches/scale.sh 1            # scale 1 ≈ 1 M order lines
#   benches/scale.sh 1 10 100     # the full ladder (100 needs ~60 GB of disk for CSV)
#
# Uses the release binary; WORK (default /tmp/aftersales-scale) holds the data.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales/target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/aftersales"
WORK="${WORK:-/tmp/aftersales-scale}"
mkdir -p "$WORK"

measure() { # label, command...
  local label="$1"; shift
  local log="$WORK/time.log"
  /usr/bin/time -v "$@" >/dev/null 2>"$log"
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
  printf '| %s | %s | %.0f MB |\n' "$label" "$wall" "$((rss / 1024))"
}

echo "| step | wall (m:ss) | peak RSS |"
echo "|---|---|---|"
for s in "$@"; do
  d="$WORK/s$s"
  if [ -z "${REUSE:-}" ] || [ ! -d "$d-pq" ]; then
    rm -rf "$d" "$d-pq"
    measure "generate scale $s (CSV)" "$BIN" --quiet generate --out "$d" --scale "$s" --seed 1
    lines=$(($(wc -l < "$d/orders.csv") - 1))
    measure "validate scale $s from CSV ($lines order lines)" "$BIN" --quiet validate --data "$d" --out "$WORK/v"
    measure "convert scale $s to Parquet" "$BIN" --quiet convert --data "$d" --out "$d-pq"
    measure "validate scale $s from Parquet" "$BIN" --quiet validate --data "$d-pq" --out "$WORK/v"
  fi
  measure "run scale $s from CSV" "$BIN" --quiet run --data "$d" --out "$WORK/out-csv"
  measure "run scale $s from Parquet" "$BIN" --quiet run --data "$d-pq" --out "$WORK/out-pq"
  du -sh "$d" "$d-pq" | sed 's/^/    size: /' >&2
  # Where the time goes: run.json's stages for the Parquet run.
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('    stages (s): ' + ', '.join(f\"{x['stage']} {x['seconds']}\" for x in r['stage_seconds']))" "$WORK/out-pq/run.json" >&2
done
