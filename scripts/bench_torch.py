#!/usr/bin/env python3
"""PyTorch reference for `cargo bench --bench unet`.

Times a plain PyTorch U-Net (DoubleConv levels, max-pool down, ConvTranspose2d up, cat
[up, skip]) on the same configurations as the Rust benchmark:

  classic: depth 4, base 64, transposed up-sampling, 1 class, input 1x1x256x256
  small:   depth 4, base 16, transposed up-sampling, 1 class, input 4x3x128x128

Forward passes run under torch.inference_mode(); a train step is forward, BCEWithLogits,
backward and an Adam step (eps 1e-8, PyTorch's default). Each row gets warm-up runs, then
timed runs; the median and minimum are reported. The FLOPs and the fp32 matmul peak are
counted the same way as the Rust side (2 x multiply-adds of every conv / transposed conv;
2 n^3 for an n x n matmul, best run).

    python3 scripts/bench_torch.py --json /tmp/torch.json
    UNET_TORCH_JSON=/tmp/torch.json cargo bench --bench unet
    python3 scripts/bench_torch.py --device cuda --json /tmp/torch-cuda.json   # PyTorch + cuDNN

The JSON holds the median seconds per row (classic_forward, classic_train, small_forward,
small_train) plus threads, torch_version, max_rss_mb (peak resident memory of this process)
and matmul_gflops.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
from torch import nn

CASES = {
    # name: (batch, in_channels, size, base, depth)
    "classic": (1, 1, 256, 64, 4),
    "small": (4, 3, 128, 16, 4),
}


class DoubleConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.ReLU(inplace=True),
        )


class Down(nn.Module):
    """DoubleConv, then 2x2 max-pool; returns (skip, pooled)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = DoubleConv(cin, cout)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        skip = self.conv(x)
        return skip, self.pool(skip)


class Up(nn.Module):
    """ConvTranspose2d 2x2 stride 2, cat([up, skip]), DoubleConv."""

    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        self.conv = DoubleConv(2 * cout, cout)

    def forward(self, x, skip):
        return self.conv(torch.cat([self.up(x), skip], dim=1))


class UNet(nn.Module):
    def __init__(self, in_channels=1, classes=1, base=64, depth=4):
        super().__init__()
        widths = [base * 2**k for k in range(depth + 1)]
        self.downs = nn.ModuleList(
            Down(in_channels if k == 0 else widths[k - 1], widths[k]) for k in range(depth)
        )
        self.bottleneck = DoubleConv(widths[depth - 1], widths[depth])
        self.ups = nn.ModuleList(Up(widths[k + 1], widths[k]) for k in reversed(range(depth)))
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        skips = []
        for down in self.downs:
            skip, x = down(x)
            skips.append(skip)
        x = self.bottleneck(x)
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)


def conv_macs(batch, in_channels, size, base, depth):
    """Multiply-adds of every conv / transposed conv of a forward pass (same padding)."""
    widths = [base * 2**k for k in range(depth + 1)]
    macs, s, cin = [], size, in_channels
    for k in range(depth):
        macs += [cin * widths[k] * 9 * s * s, widths[k] * widths[k] * 9 * s * s]
        cin, s = widths[k], s // 2
    macs += [cin * widths[depth] * 9 * s * s, widths[depth] ** 2 * 9 * s * s]
    for k in reversed(range(depth)):
        deep, c = widths[k + 1], widths[k]
        macs.append(deep * c * 4 * s * s)  # transposed conv, per input pixel
        s *= 2
        macs += [2 * c * c * 9 * s * s, c * c * 9 * s * s]
    macs.append(base * 1 * s * s)
    return [batch * m for m in macs]


def flops(name, kind):
    macs = conv_macs(*CASES[name])
    forward = 2 * sum(macs)
    if kind == "forward":
        return forward
    # forward + weight gradients + input gradients of every conv but the first
    return forward + 2 * sum(macs) + 2 * sum(macs[1:])


def timed(fn, warmup, repeats, sync=lambda: None):
    """Seconds per run of fn; sync() waits for queued device work (CUDA) before each clock."""
    for _ in range(warmup):
        fn()
    sync()
    out = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - start)
    return out


def max_rss_mb():
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10, help="timed forward passes")
    parser.add_argument("--train-repeats", type=int, default=5, help="timed train steps")
    parser.add_argument("--matmul", type=int, default=2048, help="matmul side (0: skip)")
    parser.add_argument("--only", choices=sorted(CASES), help="one configuration only")
    parser.add_argument("--quick", action="store_true", help="1 warm-up and 1 timed run each")
    parser.add_argument("--json", metavar="FILE", help="write the medians here")
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="cuda: the GPU with cuDNN (autotuned), the CUDA reference",
    )
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: PyTorch sees no CUDA device")
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    torch.backends.cudnn.benchmark = True
    if args.quick:
        args.warmup, args.repeats, args.train_repeats = 1, 1, 1

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(
        f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"warm-up {args.warmup}, {args.repeats} forward / {args.train_repeats} train timed runs"
    )

    result = {"threads": torch.get_num_threads(), "torch_version": torch.__version__}
    if args.device == "cuda":
        result["device"] = torch.cuda.get_device_name()
        print(f"device: {result['device']}, cuDNN {torch.backends.cudnn.version()}")
    peak = None
    if args.matmul > 0:
        n = args.matmul
        a = torch.rand(n, n, device=device) * 2 - 1
        b = torch.rand(n, n, device=device) * 2 - 1
        with torch.inference_mode():
            runs = timed(lambda: torch.mm(a, b), args.warmup, args.repeats, sync)
        peak = 2 * n**3 / min(runs) / 1e9
        result["matmul_gflops"] = peak
        print(f"fp32 matmul {n}x{n}: {peak:.1f} GFLOP/s peak (best of {len(runs)})")

    rows = []
    for name, (batch, cin, size, base, depth) in CASES.items():
        if args.only and args.only != name:
            continue
        model = UNet(cin, 1, base, depth).to(device)
        x = torch.randn(batch, cin, size, size, device=device)
        y = (torch.rand(batch, 1, size, size, device=device) > 0.5).float()

        model.eval()

        def forward():
            with torch.inference_mode():
                model(x)

        rows.append((name, "forward", timed(forward, args.warmup, args.repeats, sync)))

        model.train()
        optim = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-8)
        loss_fn = nn.BCEWithLogitsLoss()

        def train():
            optim.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optim.step()

        rows.append((name, "train", timed(train, args.warmup, args.train_repeats, sync)))
        del model, optim

    result["max_rss_mb"] = max_rss_mb()
    header = ["run", "GFLOP", "median s", "min s", "GFLOP/s", "% peak"]
    lines = [header]
    for name, kind, runs in rows:
        median = statistics.median(runs)
        result[f"{name}_{kind}"] = median
        g = flops(name, kind) / 1e9
        lines.append(
            [
                f"{name} {kind}",
                f"{g:.2f}",
                f"{median:.4f}",
                f"{min(runs):.4f}",
                f"{g / median:.1f}",
                f"{100 * g / median / peak:.1f}%" if peak else "-",
            ]
        )
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    for i, line in enumerate(lines):
        cells = [
            cell.ljust(w) if c == 0 else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(line, widths))
        ]
        print("| " + " | ".join(cells) + " |")
        if i == 0:
            print("| " + " | ".join("-" * w if c == 0 else "-" * (w - 1) + ":" for c, w in enumerate(widths)) + " |")
    print(f"max RSS: {result['max_rss_mb']:.0f} MiB")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
