#!/usr/bin/env python3
"""PyTorch reference for `unet predict` on a large image (issue 15, part 3).

Runs the overlap-tile loop of `unet predict` in PyTorch on the `small` model's architecture
(depth 4, base 16, transposed up-sampling, 1 input channel, 1 class; `bench_torch.UNet`):
tiles of `--tile` pixels whose outputs overlap by `--overlap`, the last tile flush with the
image's edge, mirror padding where a tile passes it, nnU-Net's Gaussian importance weights
(sigma = tile / 8, accumulated in float64 and divided by their sum), then the threshold 0. One
tile per forward pass, as `unet predict` runs them, under torch.inference_mode() on
`--threads` threads.

    python3 scripts/predict_torch.py --write-image /tmp/pred/in/big.png    # the test image
    python3 scripts/predict_torch.py --repeats 3 --json /tmp/pred/torch.json

It prints and writes (JSON) the median and fastest seconds per image of the tile loop (the
image already in memory, the mask left in memory: no file is read or written), images per
second, the tile count, and the process's peak resident memory (ru_maxrss) in MiB.
`--write-image` writes the deterministic test image as an 8-bit gray PNG (no PIL needed) for
`unet predict` to read.
"""

import argparse
import json
import math
import resource
import statistics
import struct
import sys
import time
import zlib

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench_torch import UNet  # noqa: E402


def test_image(size):
    """A deterministic gray image in [0, 1]: smooth stripes and rings, so every tile differs."""
    y = torch.arange(size, dtype=torch.float64).unsqueeze(1)
    x = torch.arange(size, dtype=torch.float64).unsqueeze(0)
    v = 0.5 + 0.25 * torch.sin(x / 37.0) + 0.25 * torch.cos(torch.sqrt(x * x + y * y) / 23.0)
    return (v.clamp(0, 1) * 255).round().to(torch.uint8)


def write_png(path, pixels):
    """An 8-bit gray PNG of a 2-D uint8 tensor."""
    h, w = pixels.shape
    raw = b"".join(b"\x00" + bytes(pixels[r].tolist()) for r in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def tile_starts(length, out, stride):
    """`unet`'s tile starts: every `stride` pixels, the last flush with the edge."""
    if length <= out:
        return [-((out - length) // 2)]
    last = length - out
    return list(range(0, last, stride)) + [last]


def reflect(i, n):
    if n == 1:
        return 0
    period = 2 * (n - 1)
    r = i % period
    return r if r < n else period - r


def importance(n):
    centre, sigma = (n - 1) / 2.0, n / 8.0
    return torch.tensor(
        [math.exp(-((j - centre) ** 2) / (2 * sigma * sigma)) for j in range(n)],
        dtype=torch.float64,
    )


def axis_weight_sum(length, starts, ramp):
    total = torch.zeros(length, dtype=torch.float64)
    for s in starts:
        for j, w in enumerate(ramp.tolist()):
            if 0 <= s + j < length:
                total[s + j] += w
    return total


def predict(net, image, tile, overlap, classes):
    """The overlap-tile logits of `image` ([C, H, W]), blended, then the class per pixel."""
    c, h, w = image.shape
    out = tile  # same padding: no margin
    stride = out - overlap
    ys, xs = tile_starts(h, out, stride), tile_starts(w, out, stride)
    ramp = importance(out)
    weight = ramp.unsqueeze(1) * ramp.unsqueeze(0)
    total = axis_weight_sum(h, ys, ramp).unsqueeze(1) * axis_weight_sum(w, xs, ramp).unsqueeze(0)
    acc = torch.zeros(classes, h, w, dtype=torch.float64)
    for y0 in ys:
        rows = torch.tensor([reflect(y0 + j, h) for j in range(tile)])
        jy0, jy1 = max(-y0, 0), max(min(h - y0, out), 0)
        for x0 in xs:
            cols = torch.tensor([reflect(x0 + j, w) for j in range(tile)])
            window = image[:, rows][:, :, cols].unsqueeze(0)
            logits = net(window)[0].double()
            jx0, jx1 = max(-x0, 0), max(min(w - x0, out), 0)
            acc[:, y0 + jy0 : y0 + jy1, x0 + jx0 : x0 + jx1] += (
                logits[:, jy0:jy1, jx0:jx1] * weight[jy0:jy1, jx0:jx1]
            )
    blended = acc / total
    if classes == 1:
        return (blended[0] > 0).to(torch.uint8)
    return blended.argmax(0).to(torch.uint8)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--tile", type=int, default=256)
    p.add_argument("--overlap", type=int, default=32)
    p.add_argument("--base", type=int, default=16)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--write-image", help="write the test image as PNG here and exit")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()

    pixels = test_image(args.size)
    if args.write_image:
        write_png(args.write_image, pixels)
        print(f"wrote {args.write_image} ({args.size}x{args.size})")
        return

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = UNet(in_channels=1, classes=1, base=args.base, depth=args.depth).eval()
    image = (pixels.float() / 255.0).unsqueeze(0)
    tiles = len(tile_starts(args.size, args.tile, args.tile - args.overlap)) ** 2
    seconds = []
    with torch.inference_mode():
        predict(net, image, args.tile, args.overlap, 1)  # warm-up
        for _ in range(max(1, args.repeats)):
            start = time.perf_counter()
            predict(net, image, args.tile, args.overlap, 1)
            seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    result = {
        "size": args.size,
        "tile": args.tile,
        "overlap": args.overlap,
        "tiles": tiles,
        "threads": args.threads,
        "seconds_median": median,
        "seconds_min": min(seconds),
        "images_per_second": 1.0 / median,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "torch_version": torch.__version__,
    }
    print(
        f"PyTorch {torch.__version__}, {args.threads} threads: {args.size}x{args.size}, "
        f"{tiles} tiles of {args.tile} (overlap {args.overlap}): median {median:.3f} s "
        f"(min {min(seconds):.3f}), {1.0 / median:.3f} images/s, "
        f"peak RSS {result['max_rss_mb']:.0f} MiB"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
