#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures of tests/pytorch.rs into tests/fixtures/.

A U-Net in the down/up layout, written plainly: `DoubleConv.net = Sequential(Conv2d, ReLU, Conv2d,
ReLU)`, `Down` = `conv` then a 2x2 max-pool, `Up` = `up` then concat `[up, skip]` then `conv`, a
1x1 `out` head; so the state-dict keys are `down{k}.conv.net.{0,2}.*`, `bottleneck.net.{0,2}.*`,
`up{k}.up.*` / `up{k}.up.1.*`, `up{k}.conv.net.{0,2}.*` and `out.*` (up1 is the deepest level).

For each fixture NAME: `NAME.pt` (torch.save of the state dict), for some `NAME.safetensors`
(the same tensors), and `NAME.io.safetensors` with `input` and `output` (eval mode, float32).

    python3 scripts/make_fixtures.py            # CPU only; needs torch and safetensors
"""

import argparse
import pathlib

import torch
from safetensors.torch import save_file
from torch import nn


class DoubleConv(nn.Module):
    """Two 3x3 conv + ReLU; `padding` "same" (pad 1) or "valid" (no padding)."""

    def __init__(self, cin, cout, padding):
        super().__init__()
        p = 1 if padding == "same" else 0
        self.net = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=p),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=p),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.net(x)


class Down(nn.Module):
    """An encoder level: returns (skip, pooled)."""

    def __init__(self, cin, cout, padding):
        super().__init__()
        self.conv = DoubleConv(cin, cout, padding)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        skip = self.conv(x)
        return skip, self.pool(skip)


def upsample(mode):
    # align_corners=False is PyTorch's default for bilinear; nearest takes no align_corners.
    if mode == "bilinear":
        return nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    return nn.Upsample(scale_factor=2, mode="nearest")


def center_crop(x, h, w):
    top = (x.shape[-2] - h) // 2
    left = (x.shape[-1] - w) // 2
    return x[..., top : top + h, left : left + w]


class Up(nn.Module):
    """A decoder level: up-sample the deep map, concatenate [up, skip], DoubleConv."""

    def __init__(self, cdeep, cout, up, padding):
        super().__init__()
        if up == "transposed":
            self.up = nn.ConvTranspose2d(cdeep, cout, 2, stride=2)
            cup = cout
        elif up in ("bilinear", "nearest"):
            self.up = nn.Sequential(upsample(up), nn.Conv2d(cdeep, cout, 1))
            cup = cout
        elif up in ("bilinear_concat", "nearest_concat"):
            self.up = upsample(up.removesuffix("_concat"))
            cup = cdeep
        else:
            raise ValueError(f"unknown up mode {up}")
        self.conv = DoubleConv(cup + cout, cout, padding)

    def forward(self, x, skip):
        x = self.up(x)
        skip = center_crop(skip, x.shape[-2], x.shape[-1])
        return self.conv(torch.cat([x, skip], dim=1))


class UNet(nn.Module):
    """depth D, widths base * 2^k for k = 0..D."""

    def __init__(self, depth, base, up="transposed", padding="same", in_channels=1, classes=1):
        super().__init__()
        self.depth = depth
        c = [base * 2**k for k in range(depth + 1)]
        for k in range(1, depth + 1):
            cin = in_channels if k == 1 else c[k - 2]
            setattr(self, f"down{k}", Down(cin, c[k - 1], padding))
        self.bottleneck = DoubleConv(c[depth - 1], c[depth], padding)
        for i in range(1, depth + 1):
            level = depth - i
            setattr(self, f"up{i}", Up(c[level + 1], c[level], up, padding))
        self.out = nn.Conv2d(c[0], classes, 1)

    def forward(self, x):
        skips = []
        for k in range(1, self.depth + 1):
            skip, x = getattr(self, f"down{k}")(x)
            skips.append(skip)
        x = self.bottleneck(x)
        for i in range(1, self.depth + 1):
            x = getattr(self, f"up{i}")(x, skips.pop())
        return self.out(x)


# name: (model arguments, input shape, also write NAME.safetensors)
FIXTURES = {
    "transposed": (dict(up="transposed"), (1, 1, 16, 16), True),
    "bilinear": (dict(up="bilinear"), (1, 1, 16, 16), False),
    "nearest": (dict(up="nearest"), (1, 1, 16, 16), False),
    "bilinear_concat": (dict(up="bilinear_concat"), (1, 1, 16, 16), True),
    "nearest_concat": (dict(up="nearest_concat"), (1, 1, 16, 16), False),
    # 60 -> 20 at depth 2 with valid convolutions (margin 40).
    "valid": (dict(up="transposed", padding="valid"), (1, 1, 60, 60), False),
    "rgb_classes2": (dict(up="transposed", in_channels=3, classes=2), (2, 3, 16, 16), False),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = pathlib.Path(__file__).resolve().parent.parent
    parser.add_argument("--out", type=pathlib.Path, default=root / "tests" / "fixtures")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for i, (name, (kwargs, shape, safetensors)) in enumerate(FIXTURES.items()):
        torch.manual_seed(1000 + i)
        model = UNet(depth=2, base=8, **kwargs).eval()
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        torch.save(state, args.out / f"{name}.pt")
        if safetensors:
            save_file(state, str(args.out / f"{name}.safetensors"), metadata={"format": "pt"})
        x = torch.randn(*shape, dtype=torch.float32)
        with torch.no_grad():
            y = model(x)
        save_file({"input": x.contiguous(), "output": y.contiguous()}, str(args.out / f"{name}.io.safetensors"))
        print(f"{name}: {sum(v.numel() for v in state.values())} parameters, {tuple(x.shape)} -> {tuple(y.shape)}")
    print(f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
