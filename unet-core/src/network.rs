//! What every `unet!` network implements, so training, prediction and I/O can be generic.

use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

use crate::error::ShapeError;
use crate::geometry::{self, PaddingKind};
use crate::summary::{ShapedSummary, Summary};
use crate::InputRules;

/// A generated U-Net: its configuration as consts, construction and the checked forward.
///
/// `unet!` implements it for every network; the training loop, overlap-tile inference and
/// the weight importers need nothing else. `D` is the rank of its tensors: 4 for
/// `[N, C, H, W]` images, 5 for `[N, C, D, H, W]` volumes (`dims: 3`).
pub trait Network<B: Backend, const D: usize = 4>:
    Module<B> + core::fmt::Display + 'static
{
    /// The network's type name.
    const NAME: &'static str;
    /// One line describing the configuration (`depth 4, base 16, transposed, ...`), for
    /// listings; empty unless the network says otherwise.
    const DESCRIPTION: &'static str = "";
    /// Number of 2x down-samplings.
    const DEPTH: usize;
    /// Input channels.
    const IN_CHANNELS: usize;
    /// Output channels (class logits; 1 means binary with a sigmoid).
    const CLASSES: usize;
    /// Trainable parameters.
    const PARAMS: usize;
    /// Border handling of the 3x3 convolutions.
    const PADDING: PaddingKind;
    /// Pixels lost between input and output along each axis.
    const MARGIN: usize;
    /// Spatial dimensions: 2 for images, 3 for volumes.
    const DIMS: usize = D - 2;
    /// Declared spatial input size (`[height, width]`, or `[depth, height, width]`), if any.
    const INPUT: Option<&'static [usize]>;
    /// Whether the network pads any input size itself (`pad_input: true`).
    const PAD_INPUT: bool = false;

    /// Initialises all weights on `device`.
    fn init(device: &B::Device) -> Self;

    /// The checked forward pass on an untyped `[N, C, H, W]` (or `[N, C, D, H, W]`) tensor.
    fn forward_checked(&self, x: Tensor<B, D>) -> Result<Tensor<B, D>, ShapeError>;

    /// The checked forward pass with the deep-supervision outputs: the main logits and, for
    /// `deep_supervision: k`, the logits of decoder levels 1..=k (level `j` at 1/2^j size).
    #[allow(clippy::type_complexity)]
    fn forward_deep(
        &self,
        x: Tensor<B, D>,
    ) -> Result<(Tensor<B, D>, Vec<Tensor<B, D>>), ShapeError> {
        Ok((self.forward_checked(x)?, Vec::new()))
    }

    /// The per-layer table.
    fn layer_summary() -> Summary;

    /// What an input must satisfy, as the forward pass checks it.
    fn input_rules() -> InputRules<'static> {
        InputRules {
            dims: Self::DIMS,
            in_channels: Self::IN_CHANNELS,
            depth: Self::DEPTH,
            padding: Self::PADDING,
            declared: Self::INPUT,
            pad_input: Self::PAD_INPUT,
        }
    }

    /// The layer table for an `[N, C, spatial...]` input: every layer's output shape and
    /// torchsummary's memory figures, or the [`ShapeError`] the forward pass would give.
    fn summary_for(shape: [usize; D]) -> Result<ShapedSummary, ShapeError> {
        Self::input_rules().check(&shape)?;
        Ok(Self::layer_summary().for_input(&shape))
    }

    /// Whether an input side of `size` pixels fits (ignoring a declared `input`).
    fn fits(size: usize) -> bool {
        (Self::PAD_INPUT && size > 0)
            || geometry::output_size(Self::DEPTH, Self::PADDING, size).is_ok()
    }

    /// The smallest input side at or above `at_least` that fits (ignoring a declared `input`).
    /// `at_least` itself when no size fits there (near `usize::MAX`, or valid padding's sizes
    /// past `i64::MAX`), for the caller's bound to refuse.
    fn fitting_size(at_least: usize) -> usize {
        if Self::fits(at_least) {
            return at_least;
        }
        if Self::PAD_INPUT {
            return at_least.max(1);
        }
        // Sizes that fit recur within a short window: the search is bounded, not a scan.
        match geometry::nearest_valid(Self::DEPTH, Self::PADDING, at_least).1 {
            usize::MAX => at_least,
            above => above,
        }
    }
}

/// A [`Network`] on an autodiff backend whose inner (inference) module is the same network:
/// what the training loop needs. Every generated network is one, on every autodiff backend.
pub trait TrainableNetwork<B: AutodiffBackend, const D: usize = 4>:
    Network<B, D> + AutodiffModule<B, InnerModule = Self::Inner>
{
    /// The same network on the inner backend.
    type Inner: Network<B::InnerBackend, D>;
}

impl<B, N, const D: usize> TrainableNetwork<B, D> for N
where
    B: AutodiffBackend,
    N: Network<B, D> + AutodiffModule<B>,
    N::InnerModule: Network<B::InnerBackend, D>,
{
    type Inner = N::InnerModule;
}

/// A declared size as the slice [`Network::INPUT`] holds, so a network's typed
/// `INPUT: Option<[usize; 2]>` is written once: `const INPUT = sizes(&Self::INPUT)`.
pub const fn sizes<const S: usize>(
    declared: &'static Option<[usize; S]>,
) -> Option<&'static [usize]> {
    match declared {
        Some(sizes) => Some(sizes),
        None => None,
    }
}
