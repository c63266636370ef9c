//! An encoder level: DoubleConv, then a 2x2 max-pool.

use burn::module::Module;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::backend::Backend;

use super::double_conv::{DoubleConv, DoubleConvConfig};
use super::options::BlockOptions;
use crate::feature::Feature;
use crate::level::{Down, Level};

/// Configuration of [`DownBlock`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DownBlockConfig {
    /// Options of the level's DoubleConv.
    pub options: BlockOptions,
}

impl DownBlockConfig {
    /// A configuration from a padding (the classic block) or full [`BlockOptions`].
    pub fn new(options: impl Into<BlockOptions>) -> Self {
        Self {
            options: options.into(),
        }
    }

    /// A [`DownBlock`] taking `CIN` channels to `COUT`.
    pub fn init<B: Backend, const CIN: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> DownBlock<B, CIN, COUT> {
        DownBlock {
            conv: DoubleConvConfig::new(self.options).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
        }
    }
}

/// One encoder level (the tutorials' `Down`): the DoubleConv's output is the skip for the
/// decoder, its 2x2 max-pool the input of the next level.
#[derive(Module, Debug)]
pub struct DownBlock<B: Backend, const CIN: usize, const COUT: usize> {
    /// The level's two convolutions.
    pub conv: DoubleConv<B, CIN, COUT>,
    /// 2x2 max-pool, stride 2.
    pub pool: MaxPool2d,
}

impl<B: Backend, const CIN: usize, const COUT: usize> DownBlock<B, CIN, COUT> {
    /// Returns `(skip, pooled)`: the skip at level `L`, the pooled map one level down.
    pub fn forward<L: Level>(
        &self,
        x: Feature<B, CIN, L>,
    ) -> (Feature<B, COUT, L>, Feature<B, COUT, Down<L>>) {
        let skip = self.conv.forward(x);
        let pooled = Feature::trusted(crate::kernels::max_pool2d(
            &self.pool,
            skip.tensor().clone(),
        ));
        (skip, pooled)
    }
}
