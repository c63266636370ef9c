//! A decoder conv accepts only the concatenation of an up-sampled map and a skip.
use unet::backend::Cpu;
use unet::blocks::{DoubleConvConfig, MergeConv};
use unet::prelude::*;
use unet::PaddingKind;

fn main() {
    let device = Default::default();
    let conv: MergeConv<Cpu, 16, 16, 16> = DoubleConvConfig::new(PaddingKind::Same).init_merge(&device);
    let up: Feature<Cpu, 16, L0> = Feature::try_new(Tensor::zeros([1, 16, 16, 16], &device)).unwrap();
    // Forgot `Concat::new(up, skip)`.
    let _ = conv.forward(up);
}
