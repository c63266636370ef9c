//! Typed U-Net blocks, one per file, each `Config` + `init` + `forward` like burn-nn.
//!
//! Every block carries its channel counts as const generics and its `forward` maps a
//! [`Feature`](crate::Feature) of one level to another, so wiring mistakes are type errors.

mod double_conv;
mod down;
mod head;
mod up;
mod up_block;

pub use double_conv::{DoubleConv, DoubleConvConfig, MergeConv};
pub use down::{DownBlock, DownBlockConfig};
pub use head::{Head, HeadConfig};
pub use up::{UpMode, UpSample, UpSampleConfig};
pub use up_block::{UpBlock, UpBlockConfig};

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::{activation::relu, backend::Backend, Tensor};

use crate::geometry::PaddingKind;

/// A 3x3 convolution from `cin` to `cout` channels with the given border handling.
fn conv3x3<B: Backend>(
    cin: usize,
    cout: usize,
    padding: PaddingKind,
    device: &B::Device,
) -> Conv2d<B> {
    let padding = match padding {
        PaddingKind::Same => PaddingConfig2d::Explicit(1, 1, 1, 1),
        PaddingKind::Valid => PaddingConfig2d::Valid,
    };
    Conv2dConfig::new([cin, cout], [3, 3])
        .with_padding(padding)
        .init(device)
}

/// conv -> ReLU -> conv -> ReLU, shared by [`DoubleConv`] and [`MergeConv`].
fn conv_relu_twice<B: Backend>(
    conv1: &Conv2d<B>,
    conv2: &Conv2d<B>,
    x: Tensor<B, 4>,
) -> Tensor<B, 4> {
    relu(conv2.forward(relu(conv1.forward(x))))
}
