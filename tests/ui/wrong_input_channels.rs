//! `forward_typed` takes exactly `IN_CHANNELS` channels at level 0.
use unet::backend::Cpu;
use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, in_channels: 1>);

fn main() {
    let device = Default::default();
    let net = Net::<Cpu>::new(&device);
    let rgb: Feature<Cpu, 3, L0> = Feature::try_new(Tensor::zeros([1, 3, 16, 16], &device)).unwrap();
    let _ = net.forward_typed(rgb);
}
