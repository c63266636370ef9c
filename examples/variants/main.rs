//! Ten U-Net variants generated side by side, one `unet!` line each: their summaries and one
//! forward pass each on a random input. `cargo run --release --example variants`
//!
//! `examples/variants_by_hand` writes the same ten networks out by hand from the same blocks;
//! `scripts/check_time.sh` compares their `cargo check` times.
use std::time::Instant;

use unet::backend::Cpu;
use unet::prelude::*;
use unet::Network;

unet!(
    /// The classic U-Net of the tutorials: padding 1, transposed-conv up-sampling.
    pub Classic<depth: 4, base: 16, up: transposed>
);
unet!(
    /// The paper's wiring: valid convolutions, center-cropped skips, two classes.
    pub Paper<depth: 2, base: 8, padding: valid, classes: 2, input: (92, 92)>
);
unet!(
    /// BatchNorm after every convolution (milesial/Pytorch-UNet's block).
    pub Batch<depth: 3, base: 8, norm: batch>
);
unet!(
    /// GroupNorm(4) and GELU.
    pub GroupGelu<depth: 3, base: 8, norm: group(4), act: gelu>
);
unet!(
    /// InstanceNorm and leaky ReLU, nnU-Net's block.
    pub InstanceLeaky<depth: 3, base: 8, norm: instance, act: leaky_relu(0.01), in_channels: 3>
);
unet!(
    /// Residual DoubleConvs with BatchNorm and SiLU.
    pub Residual<depth: 3, base: 8, residual: true, norm: batch, act: silu>
);
unet!(
    /// Attention U-Net: gates on the skips, bilinear up-sampling.
    pub Attention<depth: 3, base: 8, attention: gate, up: bilinear>
);
unet!(
    /// scSE on decoder blocks and sub-pixel up-sampling.
    pub ScseShuffle<depth: 3, base: 16, attention: scse, up: pixelshuffle, classes: 3>
);
unet!(
    /// Deep supervision on two decoder levels, and the paper's dropout.
    pub DeepSup<depth: 4, base: 8, deep_supervision: 2, dropout: { bottleneck: 0.5, blocks: 0.1 }>
);
unet!(
    /// Any input size (reflect-padded), LayerNorm and PReLU.
    pub AnySize<depth: 3, base: 8, pad_input: true, norm: layer, act: prelu>
);

/// Prints a network's summary, then runs it once on a random `[1, C, h, w]` input.
fn run<N: Network<Cpu>>(h: usize, w: usize) -> Result<(), ShapeError> {
    let device = Default::default();
    let net = N::init(&device);
    println!("{}\n", N::layer_summary());
    let shape = [1, N::IN_CHANNELS, h, w];
    let x = Tensor::<Cpu, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let start = Instant::now();
    let (y, aux) = net.forward_deep(x)?;
    let aux: Vec<_> = aux.iter().map(|t| t.dims()).collect();
    println!(
        "{}: input {shape:?} -> output {:?}{} in {:.2?}\n",
        N::NAME,
        y.dims(),
        if aux.is_empty() {
            String::new()
        } else {
            format!(" and deep-supervision outputs {aux:?}")
        },
        start.elapsed()
    );
    Ok(())
}

fn main() -> Result<(), ShapeError> {
    run::<Classic<Cpu>>(128, 128)?;
    run::<Paper<Cpu>>(92, 92)?;
    run::<Batch<Cpu>>(64, 64)?;
    run::<GroupGelu<Cpu>>(64, 64)?;
    run::<InstanceLeaky<Cpu>>(64, 64)?;
    run::<Residual<Cpu>>(64, 64)?;
    run::<Attention<Cpu>>(64, 64)?;
    run::<ScseShuffle<Cpu>>(64, 64)?;
    run::<DeepSup<Cpu>>(64, 64)?;
    run::<AnySize<Cpu>>(61, 37)?;

    // A shape a network cannot take is an error, not a panic.
    let device = Default::default();
    let bad = Tensor::<Cpu, 4>::zeros([1, 1, 100, 100], &device);
    match Classic::<Cpu>::new(&device).forward(bad) {
        Err(e) => println!("Classic on 100x100: {e}"),
        Ok(_) => unreachable!("100 is not a multiple of 16"),
    }
    Ok(())
}
