#!/usr/bin/env python3
"""Writes tests/fixtures/milesial.{pt,safetensors,io.safetensors}: milesial/Pytorch-UNet's
model (https://github.com/milesial/Pytorch-UNet, `unet/unet_parts.py`, `bilinear=False`),
copied module for module, at depth 2 and base 8 to keep the fixture small. Its state-dict keys
are the real model's: `inc.double_conv.{0,1,3,4}.*`, `down{k}.maxpool_conv.1.double_conv.*`,
`up{k}.up.*`, `up{k}.conv.double_conv.*`, `outc.conv.*`. BatchNorm statistics are randomised
(as after training) and the output is taken in eval mode.

    python3 scripts/make_milesial_fixture.py     # CPU only; needs torch and safetensors
"""

import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn


class DoubleConv(nn.Module):
    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        diff_y = x2.size()[2] - x1.size()[2]
        diff_x = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        x = torch.cat([x2, x1], dim=1)
        return self.conv(x)


class OutConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    """milesial's UNet, two levels instead of four: inc, down1, down2 (the bottleneck), up1, up2."""

    def __init__(self, n_channels, n_classes, base=8):
        super().__init__()
        self.inc = DoubleConv(n_channels, base)
        self.down1 = Down(base, base * 2)
        self.down2 = Down(base * 2, base * 4)
        self.up1 = Up(base * 4, base * 2)
        self.up2 = Up(base * 2, base)
        self.outc = OutConv(base, n_classes)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        return self.outc(x)


def main():
    torch.manual_seed(2012)
    model = UNet(n_channels=3, n_classes=2)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.num_batches_tracked.fill_(100)
    model.eval()
    x = torch.randn(2, 3, 16, 24)
    with torch.no_grad():
        y = model(x)
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    torch.save(state, out / "milesial.pt")
    save_file(state, str(out / "milesial.safetensors"), metadata={"format": "pt"})
    save_file({"input": x.contiguous(), "output": y.contiguous()}, str(out / "milesial.io.safetensors"))
    print(f"milesial: {sum(p.numel() for p in model.parameters())} parameters, keys: {list(state)[:6]} ...")


if __name__ == "__main__":
    main()
