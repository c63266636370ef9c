//! Hand-wired decoder: the deepest up block needs the level-1 skip, not level 0's.
use unet::backend::Cpu;
use unet::prelude::*;

unet!(pub Net<depth: 2, channels: [16, 16, 16]>);

fn main() {
    let device = Default::default();
    let net = Net::<Cpu>::new(&device);
    let x = Feature::try_new(Tensor::zeros([1, 1, 16, 16], &device)).unwrap();
    let (bottom, skips) = net.encoder.forward(x);
    // Same width everywhere, so only the level marker can catch this.
    let _ = net.decoder.up1.forward(bottom, skips.level0);
}
