#!/usr/bin/env python3
"""Where unet's time goes on a benchmark row: `perf record` (DWARF call graphs) over
`unet bench`'s training steps, each sample put in the first category whose pattern matches a
frame of its call chain (the convolution passes first, so their im2col copies and buffers count
as the pass's), the same categories as `scripts/profile_torch.py`.

    cargo build --release --bin unet     # CARGO_PROFILE_RELEASE_DEBUG=line-tables-only helps
    python3 scripts/profile_unet.py --size 128 --batch 4 --steps 10

`unet bench` runs one warm-up and one timed forward pass before the steps; with 20 steps they
are about 3% of the samples (a step is about three forward passes' work).

The input gradient of a stride-1 convolution is a forward convolution (of the gradient, with the
kernel flipped), run by the same rayon tiles, whose worker threads' call chains do not reach the
caller: perf sees both as `conv2d_forward`. They are split by their multiply-adds (`bench_torch`'s
count; the first convolution has no input gradient), which `cargo bench --bench ops` supports:
its forward and input-gradient passes take the same time per layer within 10%.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import conv_macs  # noqa: E402

# The tool's networks: (in_channels, base, depth).
MODELS = {"small": (1, 16, 4), "classic": (1, 64, 4), "tiny": (1, 8, 2)}

# First match wins, over every frame of a sample's chain.
CATEGORIES = [
    ("conv weight grad", r"cpu_conv::conv2d_weight_grad"),
    ("conv input grad", r"cpu_conv::conv2d_input_grad"),
    ("conv forward", r"cpu_conv::(conv2d|im2col)_forward|kernels::winograd"),
    ("transposed conv", r"cpu_up::up_(forward|backward)"),
    ("pooling", r"max_pool|pool2d"),
    ("concatenation", r"\bcat\b|::cat|cat_with|slice_assign"),
    ("loss", r"unet_core::train::loss|sigmoid|log_sigmoid|binary_cross"),
    ("optimizer", r"burn_optim"),
    ("relu", r"relu|mask_fill|mask_where|lower_elem|greater_elem"),
    ("copies / allocation", r"memcpy|memmove|memset|malloc|free|realloc|mmap|munmap|page_fault|clear_page|_int_|alloc::"),
]


def run_perf(unet, args, data):
    command = [
        unet, "bench", "--model", args.model, "--batch", str(args.batch),
        "--size", str(args.size), "--repeats", "1", "--train-repeats", str(args.steps),
        "--warmup", "1",
    ]
    out = subprocess.run(
        ["perf", "record", "-q", "-F", str(args.frequency), "--call-graph", "dwarf,16384",
         "-o", data, "--"] + command,
        check=True, capture_output=True, text=True,
    ).stdout
    print(out, file=sys.stderr)
    step = re.search(r"train step\s+median\s+([0-9.]+) ms", out)
    return float(step.group(1)) if step else None


def samples(data):
    """(frames, innermost first) of each sample, from `perf script`."""
    out = subprocess.run(
        ["perf", "script", "-i", data, "-F", "ip,sym", "--inline"],
        check=True, capture_output=True, text=True, errors="replace",
    ).stdout
    chain = []
    for line in out.splitlines():
        line = line.strip()
        if not line:
            if chain:
                yield chain
            chain = []
            continue
        parts = line.split(None, 1)
        chain.append(parts[1] if len(parts) > 1 else parts[0])
    if chain:
        yield chain


def category(chain):
    text = "\n".join(chain)
    for name, pattern in CATEGORIES:
        if re.search(pattern, text):
            return name
    return "other element-wise and bookkeeping"


def split_input_grad(counts, args):
    """Moves the input gradients' share of the `conv2d_forward` samples to their own row."""
    cin, base, depth = MODELS[args.model]
    macs = conv_macs(args.batch, cin, args.size, base, depth)
    # Every 3x3 convolution and the head; the transposed convolutions are `cpu_up`'s.
    transposed = {2 * depth + 2 + 3 * k for k in range(depth)}
    forward = sum(m for i, m in enumerate(macs) if i not in transposed)
    backward = forward - macs[0]
    forwards, backwards = (2 + 1 + args.steps) * forward, (1 + args.steps) * backward
    moved = round(counts["conv forward"] * backwards / (forwards + backwards))
    counts["conv forward"] -= moved
    counts["conv input grad"] += moved


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unet", default="target/release/unet")
    parser.add_argument("--model", default="small")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--frequency", type=int, default=499)
    parser.add_argument("--data", help="an existing perf.data to read instead of recording")
    args = parser.parse_args()
    data, step = args.data, None
    if data is None:
        data = os.path.join(tempfile.mkdtemp(), "perf.data")
        step = run_perf(args.unet, args, data)
    counts = collections.Counter()
    for chain in samples(data):
        if re.search(r"unet|burn|gemm", "\n".join(chain)):
            counts[category(chain)] += 1
    if args.model in MODELS:
        split_input_grad(counts, args)
    total = sum(counts.values())
    print(f"unet {args.model}, {args.steps} train steps ({args.batch}x{args.size}x{args.size}), "
          f"{total} samples in unet's, burn's and gemm's code; "
          f"median step {step} ms (under perf):")
    print(f"{'category':40} {'ms/step':>8} {'share':>6}")
    for name, n in counts.most_common():
        share = n / max(total, 1)
        ms = f"{share * step:8.2f}" if step else f"{'-':>8}"
        print(f"{name:40} {ms} {share:6.1%}")


if __name__ == "__main__":
    main()
