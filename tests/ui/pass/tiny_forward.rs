//! Tiny networks build and run; hand wiring with the generated skips and core blocks works.
use unet::backend::Cpu;
use unet::prelude::*;

unet!(
    /// A doc comment carried over to the struct.
    pub Tiny<depth: 2, base: 8, up: bilinear, in_channels: 3, classes: 4>
);
unet! { pub(crate) struct Valid<depth: 1, base: 4, padding: valid, input: (20, 20)> }
unet![Bracketed<depth: 1, base: 2>];

fn main() {
    let device = Default::default();
    let net = Tiny::<Cpu>::new(&device);
    let x = Tensor::<Cpu, 4>::random([2, 3, 16, 16], Distribution::Normal(0.0, 1.0), &device);
    let y = net.forward(x.clone()).unwrap();
    assert_eq!(y.dims(), [2, 4, 16, 16]);

    // The same network wired by hand through its public fields.
    let (bottom, skips) = net.encoder.forward(Feature::try_new(x).unwrap());
    let x1: Feature<Cpu, 16, L1> = net.decoder.up1.forward(bottom, skips.level1);
    let x0: Feature<Cpu, 8, L0> = net.decoder.up2.forward(x1, skips.level0);
    let logits: Feature<Cpu, 4, L0> = net.decoder.out.forward(x0);
    let diff = (logits.into_tensor() - y).abs().max().into_scalar();
    assert!(diff < 1e-6, "hand wiring differs by {diff}");

    let valid = Valid::<Cpu>::new(&device);
    let out = valid.forward(Tensor::zeros([1, 1, 20, 20], &device)).unwrap();
    assert_eq!(out.dims(), [1, 1, 4, 4]);
    assert_eq!(Valid::<Cpu>::OUTPUT, Some([4, 4]));
    assert_eq!(Bracketed::<Cpu>::CHANNELS, [2, 4]);
}
