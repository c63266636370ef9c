//! Builds three U-Net variants side by side, prints their summaries and runs each on a random
//! image. `cargo run --release --example variants`
use std::time::Instant;

use unet::backend::Cpu;
use unet::prelude::*;

unet!(
    /// The classic U-Net of the tutorials: padding 1, transposed-conv up-sampling.
    pub CellNet<depth: 4, base: 64, up: transposed>
);
unet!(
    /// The paper's network: valid convolutions, center-cropped skips, 572 -> 388.
    pub PaperNet<depth: 4, base: 64, up: transposed, padding: valid, in_channels: 1, classes: 2, input: (572, 572)>
);
unet!(pub Tiny<depth: 2, base: 8, up: bilinear, in_channels: 3, classes: 4>);

fn run<B: Backend>(
    name: &str,
    summary: unet::Summary,
    shape: [usize; 4],
    forward: impl Fn(Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError>,
    device: &B::Device,
) -> Result<(), ShapeError> {
    println!("{summary}\n");
    let x = Tensor::<B, 4>::random(shape, Distribution::Normal(0.0, 1.0), device);
    let start = Instant::now();
    let y = forward(x)?;
    println!(
        "{name}: input {shape:?} -> output {:?} in {:.2?}\n",
        y.dims(),
        start.elapsed()
    );
    Ok(())
}

fn main() -> Result<(), ShapeError> {
    let device = Default::default();
    let tiny = Tiny::<Cpu>::new(&device);
    run::<Cpu>(
        "Tiny",
        Tiny::<Cpu>::summary(),
        [1, 3, 64, 64],
        |x| tiny.forward(x),
        &device,
    )?;
    let cell = CellNet::<Cpu>::new(&device);
    run::<Cpu>(
        "CellNet",
        CellNet::<Cpu>::summary(),
        [1, 1, 256, 256],
        |x| cell.forward(x),
        &device,
    )?;
    let paper = PaperNet::<Cpu>::new(&device);
    run::<Cpu>(
        "PaperNet",
        PaperNet::<Cpu>::summary(),
        [1, 1, 572, 572],
        |x| paper.forward(x),
        &device,
    )?;

    // A shape the network cannot take is an error, not a panic.
    let bad = Tensor::<Cpu, 4>::zeros([1, 1, 250, 250], &device);
    match cell.forward(bad) {
        Err(e) => println!("CellNet on 250x250: {e}"),
        Ok(_) => unreachable!("250 is not a multiple of 16"),
    }
    Ok(())
}
