"""PyTorch parameter counts of U-Net variants, for tests/variants.rs.

Builds each variant from stock torch.nn layers the way a PyTorch user would (DoubleConv =
Conv3x3 [no bias before a norm] -> norm -> act, twice; residual 1x1 projection; attention gate
of three 1x1 convs; scSE; PixelShuffle up-sampling; 1x1 deep-supervision heads), every layer a
module as torchsummary sees one (scripts/summary_memory.py counts their outputs), counts
`sum(p.numel() for p in model.parameters())`, and writes tests/fixtures/variant_params.json.

    python3 scripts/variant_params.py
"""
import json
import pathlib

import torch
from torch import nn


def norm(kind, c):
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "instance":
        return nn.InstanceNorm2d(c, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, c)
    if kind.startswith("group"):
        return nn.GroupNorm(int(kind[6:-1]), c)
    raise ValueError(kind)


def act(kind):
    return {
        "relu": nn.ReLU(),
        "leaky_relu": nn.LeakyReLU(0.01),
        "gelu": nn.GELU(),
        "silu": nn.SiLU(),
        "prelu": nn.PReLU(),
    }[kind]


class DoubleConv(nn.Module):
    def __init__(self, cin, cout, o):
        super().__init__()
        bias = o["norm"] == "none"
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=bias), norm(o["norm"], cout), act(o["act"]),
            nn.Conv2d(cout, cout, 3, padding=1, bias=bias), norm(o["norm"], cout),
        )
        self.act = act(o["act"])
        self.residual = o["residual"]
        self.project = nn.Conv2d(cin, cout, 1) if o["residual"] and cin != cout else nn.Identity()

    def forward(self, x):
        y = self.body(x)
        if self.residual:
            y = y + self.project(x)
        return self.act(y)


class Gate(nn.Module):
    def __init__(self, g, x):
        super().__init__()
        f = max(x // 2, 1)
        self.wg, self.wx, self.psi = nn.Conv2d(g, f, 1), nn.Conv2d(x, f, 1), nn.Conv2d(f, 1, 1)
        self.relu, self.sigmoid = nn.ReLU(), nn.Sigmoid()

    def forward(self, g, x):
        return x * self.sigmoid(self.psi(self.relu(self.wg(g) + self.wx(x))))


class Scse(nn.Module):
    def __init__(self, c):
        super().__init__()
        r = max(c // 16, 1)
        self.cse = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, r, 1), nn.ReLU(), nn.Conv2d(r, c, 1), nn.Sigmoid())
        self.sse = nn.Sequential(nn.Conv2d(c, 1, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.cse(x) + x * self.sse(x)


class Up(nn.Module):
    def __init__(self, deep, out, o):
        super().__init__()
        mode = o["up"]
        if mode == "transposed":
            self.up, g = nn.ConvTranspose2d(deep, out, 2, stride=2), out
        elif mode == "bilinear":
            self.up, g = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(deep, out, 1)), out
        elif mode == "pixelshuffle":
            self.up, g = nn.Sequential(nn.Conv2d(deep, 4 * out, 3, padding=1), nn.PixelShuffle(2)), out
        else:
            raise ValueError(mode)
        self.gate = Gate(g, out) if o["attention"] == "gate" else None
        self.conv = DoubleConv(g + out, out, o)
        self.scse = Scse(out) if o["attention"] == "scse" else nn.Identity()

    def forward(self, x, skip):
        x = self.up(x)
        if self.gate is not None:
            skip = self.gate(x, skip)
        return self.scse(self.conv(torch.cat([x, skip], 1)))


class UNet(nn.Module):
    def __init__(self, depth, base, o, in_channels=1, classes=1):
        super().__init__()
        c = [base * 2**k for k in range(depth + 1)]
        self.downs = nn.ModuleList(DoubleConv(in_channels if k == 0 else c[k - 1], c[k], o) for k in range(depth))
        self.bottleneck = DoubleConv(c[depth - 1], c[depth], o)
        self.ups = nn.ModuleList(Up(c[k + 1], c[k], o) for k in reversed(range(depth)))
        self.aux = nn.ModuleList(nn.Conv2d(c[j], classes, 1) for j in range(1, o["deep_supervision"] + 1))
        self.out = nn.Conv2d(c[0], classes, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        skips = []
        for d in self.downs:
            x = d(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        self.aux_outputs = []
        for i, (up, skip) in enumerate(zip(self.ups, reversed(skips))):
            x = up(x, skip)
            level = len(self.ups) - 1 - i
            if 1 <= level <= len(self.aux):
                self.aux_outputs.append(self.aux[level - 1](x))
        return self.out(x)


DEFAULT = dict(norm="none", act="relu", residual=False, attention="none", up="transposed", deep_supervision=0)

# name -> (depth, base, options, in_channels, classes); tests/variants.rs declares the same.
VARIANTS = {
    "BatchClassic": (4, 64, dict(norm="batch"), 1, 1),
    "GroupResidualGate": (3, 16, dict(norm="group(8)", act="prelu", residual=True, attention="gate", up="bilinear"), 3, 2),
    "InstanceScseShuffle": (3, 32, dict(norm="instance", act="leaky_relu", attention="scse", up="pixelshuffle", deep_supervision=2), 1, 4),
}


def main():
    counts = {}
    for name, (depth, base, options, cin, classes) in VARIANTS.items():
        model = UNet(depth, base, {**DEFAULT, **options}, cin, classes)
        y = model(torch.zeros(2, cin, 32, 32))
        assert y.shape == (2, classes, 32, 32), y.shape
        counts[name] = sum(p.numel() for p in model.parameters())
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "variant_params.json"
    out.write_text(json.dumps(counts, indent=2) + "\n")
    print(json.dumps(counts, indent=2))


if __name__ == "__main__":
    main()
