#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds the CUDA backend once (release), runs tests/gpu.rs on
# it (seven variants' forward passes against flex, relative L2 below 1e-4; `unet train` for an
# epoch with `--devices` naming every GPU found), times the classic U-Net (1x1x256x256, depth 4,
# base 64) forward and training step against PyTorch + cuDNN on the same GPU, and prints one
# summary table. Meant to finish within 10 minutes after a cold build on a 16-core machine.
#
#   bash scripts/gpu_check.sh [OUT_DIR]      # logs and the PyTorch JSON land in OUT_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
out=${1:-$(mktemp -d)}
mkdir -p "$out"

if ! gpus=$(nvidia-smi -L 2>/dev/null) || [ -z "$gpus" ]; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi -L lists none); nothing to check" >&2
  exit 1
fi
echo "$gpus"
started=$(date +%s)

# One build: `cargo test --release` builds the tool too, and the tests run that binary.
UNET_REQUIRE_CUDA=1 cargo test --release --features cuda --test gpu -- --nocapture \
  --test-threads 1 >"$out/tests.log" 2>&1
tests=$?
built=$(( $(date +%s) - started ))
tail -n 20 "$out/tests.log"

./target/release/unet bench --backend cuda --model classic --size 256 --batch 1 \
  >"$out/bench.log" 2>&1
bench=$?
cat "$out/bench.log"

torch=1
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  python3 scripts/bench_torch.py --device cuda --only classic --matmul 0 \
    --json "$out/torch.json" >"$out/torch.log" 2>&1
  torch=$?
  cat "$out/torch.log"
else
  echo "gpu_check: PyTorch with CUDA is not installed: no reference timings" >&2
fi

# The summary: the tests' outcome and figures, then unet against PyTorch (median seconds).
median() { awk -v row="$1" '$1 == row || ($1" "$2) == row { for (i = 1; i <= NF; i++) if ($i == "median") print $(i + 1) / 1000 }' "$out/bench.log"; }
worst=$(grep -o 'worst relative L2, cuda against flex: [0-9.e+-]*' "$out/tests.log" | awk '{print $NF}')
python3 - "$out" "$tests" "$bench" "$torch" "${worst:-n/a}" "$(median forward)" \
  "$(median 'train step')" "$built" <<'PY'
import json, os, sys
out, tests, bench, torch, worst, fwd, step, built = sys.argv[1:]
ref = {}
if torch == "0" and os.path.exists(f"{out}/torch.json"):
    ref = json.load(open(f"{out}/torch.json"))
def row(name, mine, theirs):
    if not mine:
        return f"| {name} | failed | {theirs or '-'} | - |"
    if not theirs:
        return f"| {name} | {float(mine):.4f} s | - | - |"
    return f"| {name} | {float(mine):.4f} s | {theirs:.4f} s | {float(mine) / theirs:.2f}x |"
print()
print(f"| check | result |\n|---|---|")
print(f"| tests/gpu.rs (CUDA) | {'passed' if tests == '0' else 'FAILED'} |")
print(f"| worst forward relative L2 against flex | {worst} |")
print(f"| build and tests | {built} s |")
print()
print("| classic, 1x1x256x256 | unet (burn-cuda) | PyTorch + cuDNN | ratio |\n|---|---:|---:|---:|")
print(row("forward", fwd, ref.get("classic_forward")))
print(row("train step", step, ref.get("classic_train")))
sys.exit(0 if tests == "0" and bench == "0" else 1)
PY
