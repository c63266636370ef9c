//! The layers behind [`NormKind`] and [`ActKind`]: the options themselves, and the
//! [`BlockOptions`] every convolution block of one network shares, are `unet-vocab`'s.

use burn::module::Module;
use burn::nn::activation::{Gelu, LeakyRelu, LeakyReluConfig, PRelu, PReluConfig, Relu};
use burn::nn::norm::{BatchNormConfig, GroupNormConfig, InstanceNormConfig, Normalization};
use burn::tensor::activation::{mish, silu};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

pub use unet_vocab::{ActKind, BlockOptions, NormKind};

/// The norm layer of `kind` for `channels` channels, or `None` for [`NormKind::None`].
pub fn norm_layer<B: Backend>(
    kind: NormKind,
    channels: usize,
    device: &B::Device,
) -> Option<Normalization<B>> {
    let group = |groups| GroupNormConfig::new(groups, channels).init(device).into();
    match kind {
        NormKind::None => None,
        NormKind::Batch => Some(BatchNormConfig::new(channels).init(device).into()),
        NormKind::Instance => Some(InstanceNormConfig::new(channels).init(device).into()),
        NormKind::Group(g) => Some(group(g)),
        NormKind::Layer => Some(group(1)),
    }
}

/// `x * sigmoid(x)` as a module (burn-nn has the function only).
#[derive(Module, Clone, Debug, Default)]
pub struct Silu;

/// `x * tanh(softplus(x))` as a module (burn-nn has the function only).
#[derive(Module, Clone, Debug, Default)]
pub struct Mish;

/// An activation layer, chosen by [`ActKind`].
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Act<B: Backend> {
    /// ReLU.
    Relu(Relu),
    /// Leaky ReLU.
    LeakyRelu(LeakyRelu),
    /// GELU.
    Gelu(Gelu),
    /// SiLU.
    Silu(Silu),
    /// PReLU (one learned slope).
    PRelu(PRelu<B>),
    /// Mish.
    Mish(Mish),
}

impl<B: Backend> Act<B> {
    /// The activation layer of `kind`.
    pub fn new(kind: ActKind, device: &B::Device) -> Self {
        match kind {
            ActKind::Relu => Act::Relu(Relu),
            ActKind::LeakyRelu(slope) => {
                Act::LeakyRelu(LeakyReluConfig::new().with_negative_slope(slope).init())
            }
            ActKind::Gelu => Act::Gelu(Gelu::new()),
            ActKind::Silu => Act::Silu(Silu),
            ActKind::PRelu => Act::PRelu(PReluConfig::new().init(device)),
            ActKind::Mish => Act::Mish(Mish),
        }
    }

    /// Applies the activation.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Act::Relu(a) => a.forward(x),
            Act::LeakyRelu(a) => a.forward(x),
            Act::Gelu(a) => a.forward(x),
            Act::Silu(_) => silu(x),
            Act::PRelu(a) => a.forward(x),
            Act::Mish(_) => mish(x),
        }
    }
}
