//! Skips of a wider network cannot feed this network's decoder.
use unet::backend::Cpu;
use unet::prelude::*;

unet!(pub Narrow<depth: 2, base: 8>);
unet!(pub Wide<depth: 2, base: 16>);

fn main() {
    let device = Default::default();
    let narrow = Narrow::<Cpu>::new(&device);
    let wide = Wide::<Cpu>::new(&device);
    let x = Feature::try_new(Tensor::zeros([1, 1, 16, 16], &device)).unwrap();
    let (bottom, skips) = wide.encoder.forward(x);
    let _ = narrow.decoder.forward(bottom, skips);
}
