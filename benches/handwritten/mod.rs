//! A U-Net written by hand on burn, the way the burn book builds models: `#[derive(Module)]`
//! structs of `Conv2d`, `MaxPool2d` and `ConvTranspose2d`, a config with `init`, and a
//! `forward` with `relu` and `Tensor::cat`. Nothing from `unet-core`'s blocks: this is the
//! baseline the macro-generated networks are timed against.
//!
//! Its layers run through `unet::kernels::{conv2d, conv_transpose2d, max_pool2d}` where a burn
//! user writes `layer.forward(x)`: with `unet::kernels::set_fast_conv(false)` those are exactly
//! `layer.forward(x)`, and with the kernels on, the hand-written network gets the same flex
//! kernels as the generated one, so both comparisons are like for like.
//!
//! Architecture (the classic U-Net, as `unet!` with `up: transposed, padding: same`): per
//! encoder level two 3x3 conv (padding 1) + ReLU, then a 2x2 max-pool; a bottleneck of two
//! 3x3 conv + ReLU; per decoder level a 2x2 stride-2 transposed conv halving the channels,
//! `cat([up, skip])` along channels, two 3x3 conv + ReLU; a 1x1 conv head.

use unet::burn;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use unet::kernels::{conv2d, conv_transpose2d, max_pool2d};

/// Two 3x3 convolutions, each followed by ReLU.
#[derive(Module, Debug)]
pub struct DoubleConv<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
}

impl<B: Backend> DoubleConv<B> {
    fn new(cin: usize, cout: usize, device: &B::Device) -> Self {
        let conv = |cin, cout| {
            Conv2dConfig::new([cin, cout], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device)
        };
        Self {
            conv1: conv(cin, cout),
            conv2: conv(cout, cout),
        }
    }

    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = relu(conv2d(&self.conv1, x));
        relu(conv2d(&self.conv2, x))
    }
}

/// An encoder level: its DoubleConv output is the skip, its max-pool the next level's input.
#[derive(Module, Debug)]
pub struct Down<B: Backend> {
    conv: DoubleConv<B>,
    pool: MaxPool2d,
}

impl<B: Backend> Down<B> {
    fn forward(&self, x: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let skip = self.conv.forward(x);
        let pooled = max_pool2d(&self.pool, skip.clone());
        (skip, pooled)
    }
}

/// A decoder level: transposed conv up, concatenate the skip, DoubleConv.
#[derive(Module, Debug)]
pub struct Up<B: Backend> {
    up: ConvTranspose2d<B>,
    conv: DoubleConv<B>,
}

impl<B: Backend> Up<B> {
    fn forward(&self, x: Tensor<B, 4>, skip: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = conv_transpose2d(&self.up, x);
        self.conv.forward(Tensor::cat(vec![x, skip], 1))
    }
}

/// The whole network.
#[derive(Module, Debug)]
pub struct UNet<B: Backend> {
    downs: Vec<Down<B>>,
    bottleneck: DoubleConv<B>,
    ups: Vec<Up<B>>,
    head: Conv2d<B>,
}

/// Sizes of a [`UNet`]: channels double at every level from `base`.
#[derive(Clone, Copy, Debug)]
pub struct UNetConfig {
    pub in_channels: usize,
    pub classes: usize,
    pub base: usize,
    pub depth: usize,
}

impl UNetConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> UNet<B> {
        let width = |level: usize| self.base << level;
        let downs = (0..self.depth)
            .map(|level| {
                let cin = if level == 0 {
                    self.in_channels
                } else {
                    width(level - 1)
                };
                Down {
                    conv: DoubleConv::new(cin, width(level), device),
                    pool: MaxPool2dConfig::new([2, 2]).init(),
                }
            })
            .collect();
        let bottleneck = DoubleConv::new(width(self.depth - 1), width(self.depth), device);
        // Deepest level first, as the forward pass runs them.
        let ups = (0..self.depth)
            .rev()
            .map(|level| Up {
                up: ConvTranspose2dConfig::new([width(level + 1), width(level)], [2, 2])
                    .with_stride([2, 2])
                    .init(device),
                conv: DoubleConv::new(2 * width(level), width(level), device),
            })
            .collect();
        let head = Conv2dConfig::new([self.base, self.classes], [1, 1]).init(device);
        UNet {
            downs,
            bottleneck,
            ups,
            head,
        }
    }
}

impl<B: Backend> UNet<B> {
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut x = x;
        let mut skips = Vec::with_capacity(self.downs.len());
        for down in &self.downs {
            let (skip, pooled) = down.forward(x);
            skips.push(skip);
            x = pooled;
        }
        let mut x = self.bottleneck.forward(x);
        for up in &self.ups {
            let skip = skips.pop().expect("one skip per level");
            x = up.forward(x, skip);
        }
        conv2d(&self.head, x)
    }
}
