//! Typed U-Net blocks, one per file, each `Config` + `init` + `forward` like burn-nn.
//!
//! Every block carries its channel counts as const generics and its `forward` maps a
//! [`Feature`](crate::Feature) of one level to another, so wiring mistakes are type errors.

mod attention;
mod attention3d;
mod double_conv;
mod down;
mod head;
mod options;
mod up;
mod up_block;
mod volume;

pub use attention::{AttentionGate, AttentionGateConfig, Scse, ScseConfig};
pub use attention3d::{AttentionGate3d, AttentionGate3dConfig, Scse3d, Scse3dConfig};
pub use double_conv::{DoubleConv, DoubleConvConfig, MergeConv, Shortcut};
pub use down::{DownBlock, DownBlockConfig};
pub use head::{Head, HeadConfig};
pub use options::{norm_layer, Act, ActKind, BlockOptions, Mish, NormKind, Silu};
pub use up::{pixel_shuffle, UpMode, UpSample, UpSampleConfig};
pub use up_block::{Attention, UpBlock, UpBlockConfig};
pub use volume::{
    max_pool3d_2x, upsample_nearest3d_2x, upsample_trilinear3d_2x, voxel_shuffle, DoubleConv3d,
    DoubleConv3dConfig, DownBlock3d, DownBlock3dConfig, Head3d, Head3dConfig, MergeConv3d,
    Shortcut3d, UpBlock3d, UpBlock3dConfig, UpSample3d, UpSample3dConfig,
};

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::backend::Backend;

pub use unet_vocab::PaddingKind;

/// A 3x3 convolution from `cin` to `cout` channels with the given border handling.
fn conv3x3<B: Backend>(
    cin: usize,
    cout: usize,
    padding: PaddingKind,
    bias: bool,
    device: &B::Device,
) -> Conv2d<B> {
    let padding = match padding {
        PaddingKind::Same => PaddingConfig2d::Explicit(1, 1, 1, 1),
        PaddingKind::Valid => PaddingConfig2d::Valid,
    };
    Conv2dConfig::new([cin, cout], [3, 3])
        .with_padding(padding)
        .with_bias(bias)
        .init(device)
}
