//! What every convolution block of one network shares: border handling, normalization,
//! activation, residual wiring and dropout. `unet!` writes one [`BlockOptions`] per network.

use burn::module::Module;
use burn::nn::activation::{Gelu, LeakyRelu, LeakyReluConfig, PRelu, PReluConfig, Relu};
use burn::nn::norm::{BatchNormConfig, GroupNormConfig, InstanceNormConfig, Normalization};
use burn::tensor::activation::silu;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::geometry::PaddingKind;

/// Normalization after each 3x3 convolution.
///
/// Every norm is affine (a scale and a shift per channel, `2 * C` parameters), and the
/// convolution before a norm has no bias, since the norm's shift makes it redundant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormKind {
    /// No normalization; the convolutions keep their bias.
    None,
    /// `BatchNorm2d` (momentum 0.1, eps 1e-5, as PyTorch).
    Batch,
    /// `InstanceNorm2d(affine=True)`, as nnU-Net.
    Instance,
    /// `GroupNorm(G, C)`; `G` divides every width (checked at expansion).
    Group(usize),
    /// Layer norm over `(C, H, W)` per sample: `GroupNorm(1, C)`, PyTorch's equivalent for
    /// feature maps.
    Layer,
}

impl NormKind {
    /// The norm layer for `channels` channels, or `None`.
    pub fn init<B: Backend>(self, channels: usize, device: &B::Device) -> Option<Normalization<B>> {
        let group = |groups| GroupNormConfig::new(groups, channels).init(device).into();
        match self {
            NormKind::None => None,
            NormKind::Batch => Some(BatchNormConfig::new(channels).init(device).into()),
            NormKind::Instance => Some(InstanceNormConfig::new(channels).init(device).into()),
            NormKind::Group(g) => Some(group(g)),
            NormKind::Layer => Some(group(1)),
        }
    }

    /// Whether a convolution followed by this norm carries a bias.
    pub fn conv_bias(self) -> bool {
        self == NormKind::None
    }
}

/// The activation after each norm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ActKind {
    /// `max(x, 0)`.
    Relu,
    /// `max(x, slope * x)`.
    LeakyRelu(f64),
    /// Exact (erf) GELU, PyTorch's default.
    Gelu,
    /// `x * sigmoid(x)`.
    Silu,
    /// PReLU with one learned slope per layer (PyTorch's default, initialised to 0.25).
    PRelu,
}

impl ActKind {
    /// The activation module.
    pub fn init<B: Backend>(self, device: &B::Device) -> Act<B> {
        match self {
            ActKind::Relu => Act::Relu(Relu),
            ActKind::LeakyRelu(slope) => {
                Act::LeakyRelu(LeakyReluConfig::new().with_negative_slope(slope).init())
            }
            ActKind::Gelu => Act::Gelu(Gelu::new()),
            ActKind::Silu => Act::Silu(Silu),
            ActKind::PRelu => Act::PRelu(PReluConfig::new().init(device)),
        }
    }
}

/// `x * sigmoid(x)` as a module (burn-nn has the function only).
#[derive(Module, Clone, Debug, Default)]
pub struct Silu;

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
}

impl<B: Backend> Act<B> {
    /// Applies the activation.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Act::Relu(a) => a.forward(x),
            Act::LeakyRelu(a) => a.forward(x),
            Act::Gelu(a) => a.forward(x),
            Act::Silu(_) => silu(x),
            Act::PRelu(a) => a.forward(x),
        }
    }
}

/// Options shared by every convolution block of a network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockOptions {
    /// Border handling of the 3x3 convolutions.
    pub padding: PaddingKind,
    /// Normalization after each 3x3 convolution.
    pub norm: NormKind,
    /// Activation after each norm.
    pub act: ActKind,
    /// Residual DoubleConv: adds the input (through a 1x1 projection when widths differ)
    /// before the second activation.
    pub residual: bool,
    /// Dropout probability at the end of the block (0 = none).
    pub dropout: f64,
}

impl BlockOptions {
    /// The classic block: the given padding, no norm, ReLU, plain, no dropout.
    pub const fn new(padding: PaddingKind) -> Self {
        Self {
            padding,
            norm: NormKind::None,
            act: ActKind::Relu,
            residual: false,
            dropout: 0.0,
        }
    }

    /// The same options with another dropout probability.
    pub const fn with_dropout(self, dropout: f64) -> Self {
        Self { dropout, ..self }
    }
}

impl From<PaddingKind> for BlockOptions {
    fn from(padding: PaddingKind) -> Self {
        Self::new(padding)
    }
}
