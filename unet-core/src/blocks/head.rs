//! The 1x1 convolution that maps the last decoder level to class logits.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::backend::Backend;

use crate::feature::Feature;
use crate::kernels::conv2d;
use crate::level::Level;

/// Configuration of [`Head`]; channel counts come from the type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadConfig;

impl HeadConfig {
    /// The (only) configuration.
    pub fn new() -> Self {
        Self
    }

    /// A [`Head`] taking `CIN` channels to `CLASSES` logits.
    pub fn init<B: Backend, const CIN: usize, const CLASSES: usize>(
        &self,
        device: &B::Device,
    ) -> Head<B, CIN, CLASSES> {
        Head {
            conv: Conv2dConfig::new([CIN, CLASSES], [1, 1]).init(device),
        }
    }
}

/// 1x1 conv, `CIN -> CLASSES`, no activation (logits).
#[derive(Module, Debug)]
pub struct Head<B: Backend, const CIN: usize, const CLASSES: usize> {
    /// The 1x1 convolution.
    pub conv: Conv2d<B>,
}

impl<B: Backend, const CIN: usize, const CLASSES: usize> Head<B, CIN, CLASSES> {
    /// Per-pixel logits.
    pub fn forward<L: Level>(&self, x: Feature<B, CIN, L>) -> Feature<B, CLASSES, L> {
        Feature::trusted(conv2d(&self.conv, x.into_tensor()))
    }
}
