//! Training your own network from code, without the command-line tool: a typed
//! configuration, the library's epoch loop, and an observer of the run's events.
//!
//! `cargo run --release --example train_your_own` trains on generated shapes into
//! `runs/train-your-own` (remove it to start over).

use unet::prelude::*;
use unet::train::{Event, Saved, TrainConfig, Training};

unet!(pub MyNet<depth: 3, base: 8>);

type B = unet::backend::CpuAutodiff;

fn main() -> Result<(), unet::train::TrainError> {
    let train = unet::data::generate(1, 256, 64, 1);
    let valid = unet::data::generate(2, 32, 64, 1);
    let config = TrainConfig::new("mynet").with_epochs(2).with_crop(64);
    let summary = Training::<B>::new(config, "runs/train-your-own")
        .observe(|event: &Event| match event {
            Event::EpochEnd { row, best } => println!(
                "epoch {}: loss {:.4}, valid Dice {:.4}{}",
                row.epoch,
                row.train_loss,
                row.dice,
                if *best { " (best)" } else { "" }
            ),
            Event::CheckpointSaved {
                kind: Saved::Best,
                path,
                ..
            } => println!("  best weights: {}", path.display()),
            _ => {}
        })
        .fit::<MyNet<B>>(train, valid)?;
    let best = summary.best().map_or(f64::NAN, |r| r.dice);
    println!(
        "best validation Dice {best:.4} in {}",
        summary.run_dir.display()
    );
    Ok(())
}
