//! Two 3x3 conv + ReLU: the body of every U-Net level.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::backend::Backend;

use super::{conv3x3, conv_relu_twice};
use crate::feature::{Concat, Feature};
use crate::geometry::PaddingKind;
use crate::level::Level;

/// Configuration of [`DoubleConv`] and [`MergeConv`]; channel counts come from the type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoubleConvConfig {
    /// Border handling of both 3x3 convolutions.
    pub padding: PaddingKind,
}

impl DoubleConvConfig {
    /// A configuration with the given border handling.
    pub fn new(padding: PaddingKind) -> Self {
        Self { padding }
    }

    /// A [`DoubleConv`] taking `CIN` channels to `COUT`.
    pub fn init<B: Backend, const CIN: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> DoubleConv<B, CIN, COUT> {
        DoubleConv {
            conv1: conv3x3(CIN, COUT, self.padding, device),
            conv2: conv3x3(COUT, COUT, self.padding, device),
        }
    }

    /// A [`MergeConv`] taking a `[UP, SKIP]` concatenation to `COUT` channels.
    pub fn init_merge<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> MergeConv<B, UP, SKIP, COUT> {
        MergeConv {
            conv1: conv3x3(UP + SKIP, COUT, self.padding, device),
            conv2: conv3x3(COUT, COUT, self.padding, device),
        }
    }
}

/// conv3x3(`CIN` -> `COUT`) + ReLU, conv3x3(`COUT` -> `COUT`) + ReLU, at any level.
#[derive(Module, Debug)]
pub struct DoubleConv<B: Backend, const CIN: usize, const COUT: usize> {
    /// First convolution, `CIN -> COUT`.
    pub conv1: Conv2d<B>,
    /// Second convolution, `COUT -> COUT`.
    pub conv2: Conv2d<B>,
}

impl<B: Backend, const CIN: usize, const COUT: usize> DoubleConv<B, CIN, COUT> {
    /// Applies both convolutions; the level is unchanged.
    pub fn forward<L: Level>(&self, x: Feature<B, CIN, L>) -> Feature<B, COUT, L> {
        Feature::trusted(conv_relu_twice(&self.conv1, &self.conv2, x.into_tensor()))
    }
}

/// A [`DoubleConv`] whose input is a decoder concatenation: it accepts only a
/// [`Concat`] of an up-sampled map (`UP` channels) and a skip (`SKIP` channels).
#[derive(Module, Debug)]
pub struct MergeConv<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize> {
    /// First convolution, `UP + SKIP -> COUT`.
    pub conv1: Conv2d<B>,
    /// Second convolution, `COUT -> COUT`.
    pub conv2: Conv2d<B>,
}

impl<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize>
    MergeConv<B, UP, SKIP, COUT>
{
    /// Applies both convolutions to the concatenation.
    pub fn forward<L: Level>(&self, x: Concat<B, UP, SKIP, L>) -> Feature<B, COUT, L> {
        Feature::trusted(conv_relu_twice(&self.conv1, &self.conv2, x.into_tensor()))
    }
}
