"""torchsummary's memory figures for U-Nets, for the tests of `summary_for` (tests/shapes.rs,
tests/variants.rs).

torchsummary hooks every module but `nn.Sequential`, `nn.ModuleList` and the model itself, and
reports the input, twice the sum of every hooked module's output (the activation and its
gradient) and the parameters, at 4 bytes an element, in MB of 2^20 bytes. The two networks
below are built from stock layers inside `Sequential`/`ModuleList` only, so torchsummary itself
hooks exactly their layers; the script runs torchsummary on them and checks that the same count
over the layers agrees. The variants of scripts/variant_params.py hold their own block classes
(which torchsummary would count as layers too), so for them the script counts the layers alone,
with torchsummary's formula.

    python3 -m pip install torch torchsummary numpy
    python3 scripts/summary_memory.py

writes tests/fixtures/summary_memory.json.
"""
import contextlib
import io
import json
import pathlib
import re

import torch
from torch import nn

import variant_params as vp


def block(cin, cout, valid, batch_norm, dropout):
    """Conv 3x3 (+ BatchNorm) + ReLU, twice, then dropout: the generated DoubleConv."""
    pad = 0 if valid else 1
    layers = []
    for i, o in ((cin, cout), (cout, cout)):
        layers.append(nn.Conv2d(i, o, 3, padding=pad, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(o))
        layers.append(nn.ReLU())
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def crop(x, like):
    """The centre of `x` at `like`'s spatial size (valid padding's skip crop)."""
    h, w = like.shape[2:]
    top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
    return x[:, :, top : top + h, left : left + w]


class FlatUNet(nn.Module):
    """A U-Net whose only containers are Sequential and ModuleList."""

    def __init__(self, depth, base, cin, classes, up="transposed", valid=False, batch_norm=False, dropout=(0.0, 0.0)):
        super().__init__()
        c = [base * 2**k for k in range(depth + 1)]
        bottleneck_p, blocks_p = dropout
        self.downs = nn.ModuleList(block(cin if k == 0 else c[k - 1], c[k], valid, batch_norm, blocks_p) for k in range(depth))
        self.pools = nn.ModuleList(nn.MaxPool2d(2) for _ in range(depth))
        self.bottleneck = block(c[depth - 1], c[depth], valid, batch_norm, bottleneck_p)
        if up == "transposed":
            ups = [nn.ConvTranspose2d(c[k + 1], c[k], 2, stride=2) for k in reversed(range(depth))]
        else:
            ups = [nn.Sequential(nn.Upsample(scale_factor=2, mode=up), nn.Conv2d(c[k + 1], c[k], 1)) for k in reversed(range(depth))]
        self.ups = nn.ModuleList(ups)
        self.convs = nn.ModuleList(block(2 * c[k], c[k], valid, batch_norm, blocks_p) for k in reversed(range(depth)))
        self.out = nn.Conv2d(c[0], classes, 1)

    def forward(self, x):
        skips = []
        for down, pool in zip(self.downs, self.pools):
            x = down(x)
            skips.append(x)
            x = pool(x)
        x = self.bottleneck(x)
        for up, conv, skip in zip(self.ups, self.convs, reversed(skips)):
            x = up(x)
            x = conv(torch.cat([x, crop(skip, x)], 1))
        return self.out(x)


def mb(elements):
    return elements * 4.0 / 1024**2


def layer_count(model, shape):
    """torchsummary's figures for an `[N, C, H, W]` input, counting every layer (a module
    with no children, `nn.Identity` aside) once per call."""
    outputs = []

    def hook(module, inputs, output):
        for o in output if isinstance(output, (list, tuple)) else [output]:
            outputs.append(o[0].numel())

    hooks = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if not list(m.children()) and not isinstance(m, nn.Identity)
    ]
    model.train()
    with torch.no_grad():
        model(torch.rand(2, *shape[1:]))
    for h in hooks:
        h.remove()
    batch, sample = shape[0], 1
    for s in shape[1:]:
        sample *= s
    figures = {
        "input_mb": mb(sample * batch),
        "forward_backward_mb": mb(2 * sum(outputs) * batch),
        "params_mb": mb(sum(p.numel() for p in model.parameters())),
    }
    figures["total_mb"] = sum(figures.values())
    return figures


def torchsummary_figures(model, shape):
    """The four MB lines torchsummary prints (two decimals)."""
    from torchsummary import summary

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        summary(model, tuple(shape[1:]), batch_size=shape[0], device="cpu")
    keys = {
        "Input size (MB)": "input_mb",
        "Forward/backward pass size (MB)": "forward_backward_mb",
        "Params size (MB)": "params_mb",
        "Estimated Total Size (MB)": "total_mb",
    }
    found = {}
    for line in text.getvalue().splitlines():
        m = re.match(r"(.*): ([0-9.]+)$", line)
        if m and m.group(1) in keys:
            found[keys[m.group(1)]] = float(m.group(2))
    return found


# name -> (model, [N, C, H, W]); tests/shapes.rs declares the same networks.
FLAT = {
    "Paper": (lambda: FlatUNet(4, 64, 1, 2, valid=True), [1, 1, 572, 572]),
    "BatchDropout": (
        lambda: FlatUNet(3, 16, 3, 4, up="bilinear", batch_norm=True, dropout=(0.5, 0.1)),
        [4, 3, 96, 128],
    ),
}

# tests/variants.rs declares these (scripts/variant_params.py builds them).
VARIANT_INPUTS = {
    "BatchClassic": [2, 1, 64, 64],
    "GroupResidualGate": [1, 3, 48, 32],
    "InstanceScseShuffle": [3, 1, 32, 40],
}


def main():
    torch.manual_seed(0)
    figures = {}
    for name, (build, shape) in FLAT.items():
        model = build()
        counted = layer_count(model, shape)
        printed = torchsummary_figures(model, shape)
        for key, value in printed.items():
            assert abs(counted[key] - value) <= 0.0051, (name, key, counted[key], value)
        figures[name] = {"input": shape, "source": "torchsummary", **counted}
    for name, shape in VARIANT_INPUTS.items():
        depth, base, options, cin, classes = vp.VARIANTS[name]
        model = vp.UNet(depth, base, {**vp.DEFAULT, **options}, cin, classes)
        figures[name] = {"input": shape, "source": "layer count", **layer_count(model, shape)}
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "summary_memory.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
