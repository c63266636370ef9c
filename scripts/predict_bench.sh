#!/usr/bin/env bash
# `unet predict` on a 2048x2048 image against the same overlap-tile loop in PyTorch
# (scripts/predict_torch.py), alternating the two (A B A B), on 2 threads each.
#
#   bash scripts/predict_bench.sh [ROUNDS]      # default 3 rounds; needs torch
#
# unet is timed end to end as a user runs it (process start, PNG decode, tiles, blending, PNG
# encode and the durable write), with /usr/bin/time for the wall time and the peak resident
# memory; PyTorch's figure is its tile loop alone (the image in memory, no file written), and
# its peak memory that of the whole process. Both use the `small` architecture, tile 256,
# overlap 32 (unet's defaults). Prints each run, the medians and the ratios unet / PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
work=${PREDICT_BENCH_DIR:-/tmp/unet-predict-bench}
mkdir -p "$work/in"
cargo build --release --quiet
unet=target/release/unet
python3 -W ignore scripts/predict_torch.py --write-image "$work/in/big.png" >/dev/null
if [ ! -f "$work/run/best.mpk" ]; then
  # Weights do not change the time: one short epoch gives a checkpoint of `small`.
  "$unet" train --model small --epochs 1 --synthetic-count 16 --epoch-size 8 \
    --out "$work/run" --force >/dev/null
fi
: >"$work/unet.txt"
: >"$work/torch.txt"
for round in $(seq "$rounds"); do
  /usr/bin/time -f "%e %M" -o "$work/time.txt" \
    env RAYON_NUM_THREADS=2 "$unet" predict --checkpoint "$work/run/best" \
    --input "$work/in/big.png" --output "$work/out" --overwrite >/dev/null
  read -r wall rss_kb <"$work/time.txt"
  echo "$wall $rss_kb" >>"$work/unet.txt"
  python3 -W ignore scripts/predict_torch.py --threads 2 --repeats 1 --json "$work/torch.json" >/dev/null
  python3 - "$work/torch.json" >>"$work/torch.txt" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["seconds_median"], r["max_rss_mb"] * 1024)
EOF
  echo "round $round: unet $wall s, $((rss_kb / 1024)) MiB; PyTorch $(cut -d' ' -f1 <"$work/torch.txt" | tail -1) s"
done
python3 - "$work/unet.txt" "$work/torch.txt" <<'EOF'
import statistics, sys
def load(path):
    rows = [tuple(map(float, line.split())) for line in open(path) if line.strip()]
    return statistics.median(r[0] for r in rows), max(r[1] for r in rows) / 1024
(u, um), (t, tm) = load(sys.argv[1]), load(sys.argv[2])
print(f"2048x2048, tile 256, overlap 32 (81 tiles), 2 threads, medians:")
print(f"  unet predict (end to end): {u:.3f} s = {1/u:.3f} images/s, peak {um:.0f} MiB")
print(f"  PyTorch tile loop:         {t:.3f} s = {1/t:.3f} images/s, peak {tm:.0f} MiB")
print(f"  ratio unet / PyTorch: time {u/t:.2f}x, peak memory {um/tm:.2f}x")
EOF
