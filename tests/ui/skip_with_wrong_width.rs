//! Core blocks used directly: an up block expecting a 16-channel skip gets 8 channels.
use unet::backend::Cpu;
use unet::blocks::{UpBlock, UpBlockConfig, UpMode};
use unet::prelude::*;
use unet::PaddingKind;

fn main() {
    let device = Default::default();
    let up: UpBlock<Cpu, 32, 16, 16, 16> = UpBlockConfig::new(UpMode::Transposed, PaddingKind::Same).init(&device);
    let deep: Feature<Cpu, 32, L1> = Feature::try_new(Tensor::zeros([1, 32, 8, 8], &device)).unwrap();
    let skip: Feature<Cpu, 8, L0> = Feature::try_new(Tensor::zeros([1, 8, 16, 16], &device)).unwrap();
    let _ = up.forward(deep, skip);
}
