//! A decoder level: up-sample, concatenate with the skip, DoubleConv.

use burn::module::Module;
use burn::tensor::backend::Backend;

use super::double_conv::{DoubleConvConfig, MergeConv};
use super::up::{UpMode, UpSample, UpSampleConfig};
use crate::feature::{Concat, Feature};
use crate::geometry::PaddingKind;
use crate::level::{Down, Level};

/// Configuration of [`UpBlock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpBlockConfig {
    /// The up-sampling method.
    pub mode: UpMode,
    /// Border handling of the 3x3 convolutions.
    pub padding: PaddingKind,
}

impl UpBlockConfig {
    /// A configuration with the given up-sampling and border handling.
    pub fn new(mode: UpMode, padding: PaddingKind) -> Self {
        Self { mode, padding }
    }

    /// An [`UpBlock`]; channel counts come from the type.
    pub fn init<
        B: Backend,
        const CDEEP: usize,
        const UP: usize,
        const SKIP: usize,
        const COUT: usize,
    >(
        &self,
        device: &B::Device,
    ) -> UpBlock<B, CDEEP, UP, SKIP, COUT> {
        UpBlock {
            up: UpSampleConfig::new(self.mode).init(device),
            conv: DoubleConvConfig::new(self.padding).init_merge(device),
        }
    }
}

/// One decoder level (the tutorials' `Up`): `CDEEP` channels one level down are up-sampled to
/// `UP` channels (`UP == CDEEP` for the `*_concat` modes), concatenated with a `SKIP`-channel
/// skip of this level (up-sampled first), and convolved to `COUT` channels.
#[derive(Module, Debug)]
pub struct UpBlock<
    B: Backend,
    const CDEEP: usize,
    const UP: usize,
    const SKIP: usize,
    const COUT: usize,
> {
    /// The 2x up-sampling.
    pub up: UpSample<B, CDEEP, UP>,
    /// The two 3x3 convolutions over the concatenation.
    pub conv: MergeConv<B, UP, SKIP, COUT>,
}

impl<B: Backend, const CDEEP: usize, const UP: usize, const SKIP: usize, const COUT: usize>
    UpBlock<B, CDEEP, UP, SKIP, COUT>
{
    /// Up-samples `x`, concatenates `[up, skip]` (center-cropping the skip), convolves.
    pub fn forward<L: Level>(
        &self,
        x: Feature<B, CDEEP, Down<L>>,
        skip: Feature<B, SKIP, L>,
    ) -> Feature<B, COUT, L> {
        self.conv.forward(Concat::new(self.up.forward(x), skip))
    }
}
