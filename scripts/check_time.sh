#!/usr/bin/env bash
# Compares the `cargo check` time of the ten `unet!` networks (examples/variants) with the same
# ten networks written by hand (examples/variants_by_hand).
#
# Both are checked once first, so every dependency (burn, unet-core, the unet-macros proc-macro,
# the unet library) is already checked; then 5 alternating rounds (macro, hand, macro, hand, ...)
# each `touch` the example's main.rs so that only that example is re-checked, and time it.
# Prints every time, the medians and the ratio macro/hand.
#
# The hand-written side leaves out what a user would not write by hand (TrainStep/InferenceStep,
# load_pytorch/save_safetensors, the layer table) and the macro side gets for free, so the
# comparison favours the hand-written side.
#
# Usage: scripts/check_time.sh            (on a shared machine: nice -n 19 scripts/check_time.sh)
#        ROUNDS=9 scripts/check_time.sh   CARGO=... to use another cargo
set -euo pipefail

cd "$(dirname "$0")/.."

CARGO=${CARGO:-cargo}
ROUNDS=${ROUNDS:-5}
MACRO=variants
HAND=variants_by_hand

check() {
    local out
    if ! out=$("$CARGO" check --example "$1" --message-format short -q 2>&1); then
        printf '%s\n' "$out" >&2
        echo "cargo check --example $1 failed" >&2
        exit 1
    fi
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "warm-up: checking both examples once (dependencies included)"
check "$MACRO"
check "$HAND"

macro_times=()
hand_times=()
for round in $(seq 1 "$ROUNDS"); do
    for example in "$MACRO" "$HAND"; do
        touch "examples/$example/main.rs"
        start=$(date +%s.%N)
        check "$example"
        end=$(date +%s.%N)
        t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
        printf 'round %d  %-17s %ss\n' "$round" "$example" "$t"
        if [ "$example" = "$MACRO" ]; then macro_times+=("$t"); else hand_times+=("$t"); fi
    done
done

macro_median=$(median "${macro_times[@]}")
hand_median=$(median "${hand_times[@]}")
echo
printf 'median %-17s %.3fs  (unet! macro, %d runs)\n' "$MACRO" "$macro_median" "$ROUNDS"
printf 'median %-17s %.3fs  (by hand, %d runs)\n' "$HAND" "$hand_median" "$ROUNDS"
awk -v m="$macro_median" -v h="$hand_median" 'BEGIN {
    r = m / h
    printf "ratio macro/hand: %.3f (macro adds %+.1f%%)\n", r, (r - 1) * 100
}'
