//! `bench`: the speed of a forward pass and of a training step (forward, loss, backward,
//! Adam) of each model on the chosen backend, median and fastest of timed runs. The
//! project's comparison with hand-written networks and PyTorch is `cargo bench --bench unet`.

use std::time::Instant;

use clap::Args;

use super::{with_backend, BackendArgs, Family};
use crate::burn::backend::Autodiff;
use crate::burn::optim::{AdamConfig, GradientsParams, Optimizer};
use crate::burn::tensor::backend::{AutodiffBackend, Backend};
use crate::burn::tensor::{Distribution, Int, Tensor};
use crate::train::{train_step, LossKind, SegBatch};
use crate::Network;
use crate::TrainableNetwork;

/// Options of `bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// Model to time [default: every model].
    #[arg(long)]
    pub(super) model: Option<String>,
    /// Images per batch.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Side of the square input [default: 256, moved to the nearest size the model accepts].
    #[arg(long)]
    size: Option<usize>,
    /// Timed forward passes.
    #[arg(long, default_value_t = 10)]
    repeats: usize,
    /// Timed training steps.
    #[arg(long, default_value_t = 5)]
    train_repeats: usize,
    /// Untimed runs before timing (the first also initialises lazily).
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// One warm-up and one timed run of each: checks the setup, measures nothing.
    #[arg(long)]
    quick: bool,
}

/// The most runs of each kind one benchmark takes.
const MAX_RUNS: usize = 100_000;

/// Median and minimum of `runs` timed calls of `f`, after `warmup` untimed ones, in seconds.
fn time(warmup: usize, runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..warmup {
        f();
    }
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median = if times.len().is_multiple_of(2) {
        (times[mid - 1] + times[mid]) / 2.0
    } else {
        times[mid]
    };
    (median, times[0])
}

fn print_row(what: &str, (median, min): (f64, f64), images: usize) {
    println!(
        "  {what:<10}  median {:>9.2} ms  min {:>9.2} ms  {:>8.1} images/s",
        median * 1e3,
        min * 1e3,
        images as f64 / median
    );
}

impl BenchArgs {
    /// Warm-up runs, timed forward passes and timed training steps (one of each for `quick`).
    fn counts(&self) -> (usize, usize, usize) {
        if self.quick {
            (1, 1, 1)
        } else {
            (self.warmup, self.repeats, self.train_repeats)
        }
    }

    /// Refuses run counts past [`MAX_RUNS`], before any model is built or named.
    pub(super) fn check(&self) -> anyhow::Result<()> {
        let (warmup, repeats, train_repeats) = self.counts();
        for (flag, count) in [
            ("--warmup", warmup),
            ("--repeats", repeats),
            ("--train-repeats", train_repeats),
        ] {
            // Every timing is kept for the median: a bound keeps a typo from exhausting memory.
            if count > MAX_RUNS {
                anyhow::bail!("{flag} {count}: at most {MAX_RUNS} runs");
            }
        }
        Ok(())
    }
}

/// Runs `bench` for the network family `F`.
pub(super) fn run<F: Family>(args: &BenchArgs) -> anyhow::Result<()> {
    with_backend!(&args.backend, B, devices => {
        measure::<Autodiff<B>, F::Train<Autodiff<B>>>(args, &devices[0])
    })
}

/// `f` run `warmup` times untimed, then timed, stopping at its first error.
fn time_fallible(
    warmup: usize,
    runs: usize,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<(f64, f64)> {
    let mut result = Ok(());
    let timing = time(warmup, runs, || {
        if result.is_ok() {
            result = f();
        }
    });
    result.map(|()| timing)
}

fn measure<A: AutodiffBackend, N: TrainableNetwork<A>>(
    args: &BenchArgs,
    device: &A::Device,
) -> anyhow::Result<()> {
    let (warmup, repeats, train_repeats) = args.counts();
    let side = N::fitting_size(args.size.unwrap_or(256));
    let n = args.batch.max(1);
    super::synthetic_fits(
        n,
        side,
        N::IN_CHANNELS,
        &format!("--batch {n} at --size {side}"),
    )?;
    let shape = [n, N::IN_CHANNELS, side, side];
    println!(
        "  input {}x{}x{side}x{side} on {}, warm-up {warmup}",
        n,
        N::IN_CHANNELS,
        <A::InnerBackend as Backend>::name(device)
    );
    let net = N::init(device).valid();
    let x = Tensor::<A::InnerBackend, 4>::random(shape, Distribution::Normal(0.0, 1.0), device);
    let forward = time_fallible(warmup, repeats, || {
        net.forward_checked(x.clone())?;
        A::InnerBackend::sync(device)?;
        Ok(())
    })?;
    print_row("forward", forward, n);

    let mut model = N::init(device);
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init::<A, N>();
    let loss = LossKind::default_for(N::CLASSES);
    let images = Tensor::<A, 4>::random(shape, Distribution::Normal(0.0, 1.0), device);
    let targets = Tensor::<A, 4, Int>::zeros([n, 1, side, side], device);
    let step = time_fallible(warmup, train_repeats, || {
        let batch = SegBatch {
            images: images.clone(),
            targets: targets.clone(),
            loss: loss.into(),
            weights: None,
        };
        let (_, grads) = train_step(&model, batch)?;
        let grads = GradientsParams::from_grads(grads, &model);
        model = optim.step(1e-3, model.clone(), grads);
        A::sync(device)?;
        Ok(())
    })?;
    print_row("train step", step, n);
    Ok(())
}
