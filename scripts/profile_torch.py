#!/usr/bin/env python3
"""Where PyTorch's time goes on the benchmark rows: torch.profiler over timed train steps
(forward, BCE-with-logits, backward, Adam) of `bench_torch.py`'s U-Net, its operators' self
CPU time summed into the categories `scripts/profile_unet.sh` uses for the Rust side.

    python3 scripts/profile_torch.py --only small --threads 2 --steps 10
"""

import argparse
import collections
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import CASES, UNet  # noqa: E402

# First match wins: (category, operator-name fragments).
CATEGORIES = [
    ("conv forward", ["mkldnn_convolution", "_convolution", "conv2d", "convolution"]),
    ("conv backward", ["convolution_backward", "mkldnn_convolution_backward"]),
    ("transposed conv", ["conv_transpose", "slow_conv_transpose"]),
    ("pooling", ["max_pool", "pool2d"]),
    ("concatenation", ["cat"]),
    ("relu", ["relu", "threshold"]),
    ("loss", ["binary_cross_entropy", "sigmoid", "log_sigmoid"]),
    ("optimizer", ["_foreach", "adam", "lerp", "addcdiv", "addcmul", "sqrt", "zero_"]),
    ("copies / allocation", ["copy_", "empty", "zeros", "clone", "contiguous", "fill_"]),
]


def category(name):
    name = name.lower()
    if "backward" in name and "conv" in name:
        return "conv backward"
    for cat, fragments in CATEGORIES:
        if any(f in name for f in fragments):
            return cat
    return "other element-wise and bookkeeping"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(CASES), default="small")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=15, help="operators listed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch, cin, size, base, depth = CASES[args.only]
    model = UNet(cin, 1, base, depth)
    x = torch.randn(batch, cin, size, size)
    y = (torch.rand(batch, 1, size, size) > 0.5).float()
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()

    def step():
        optim.zero_grad()
        loss_fn(model(x), y).backward()
        optim.step()

    for _ in range(2):
        step()
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(args.steps):
            step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    sums = collections.Counter()
    for e in events:
        sums[category(e.key)] += e.self_cpu_time_total
    print(f"PyTorch {torch.__version__}, {args.only} train step, {args.threads} threads, "
          f"{args.steps} steps: {total / args.steps / 1e3:.1f} ms of operator self time a step")
    print(f"{'category':40} {'ms/step':>8} {'share':>6}")
    for cat, t in sums.most_common():
        print(f"{cat:40} {t / args.steps / 1e3:8.2f} {t / total:6.1%}")
    print("\ntop operators by self CPU time:")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]:
        t = e.self_cpu_time_total
        print(f"  {e.key:45} {t / args.steps / 1e3:8.2f} ms  {t / total:6.1%}  -> {category(e.key)}")


if __name__ == "__main__":
    main()
