//! The same `unet!` networks on every CPU backend compiled in, rated against flex (the default
//! `cpu` backend) in one process: forward and train step of `classic` and `small`.
//!
//! ```sh
//! sudo apt-get install libopenblas-dev     # for ndarray-blas
//! cargo bench --bench backends --features ndarray-blas,candle
//! UNET_BENCH_REPEATS=3 UNET_BENCH_ONLY=small cargo bench --bench backends --features candle
//! ```
//!
//! Environment as `benches/unet.rs` (`UNET_BENCH_REPEATS`, `UNET_BENCH_WARMUP`,
//! `UNET_BENCH_ONLY`), and `UNET_BENCH_FORWARD_ONLY=1` to skip the train rows (a classic train
//! step takes minutes on ndarray). The table's ratios are flex's median over each other backend's: below 1,
//! flex is faster.

use std::panic::{catch_unwind, AssertUnwindSafe};
use unet::backend::{Cpu, CpuAutodiff};

#[cfg(any(feature = "ndarray", feature = "candle"))]
use unet::burn::backend::Autodiff;
use unet::burn::tensor::backend::Backend;
use unet::unet;
use unet_bench::{self as bench, Arch, Case, Contender, Kind, Report, Row, CLASSIC, SMALL};

unet!(
    /// The `classic` row: the classic U-Net (depth 4, base 64, transposed up-sampling).
    BenchClassic<depth: 4, base: 64, up: transposed>
);
unet!(
    /// The `small` row, on RGB input.
    BenchSmall<depth: 4, base: 16, up: transposed, in_channels: 3>
);

/// The network of `case` on the autodiff backend `A`, labelled `label`.
fn contender<A>(label: &str, case: &Case) -> Contender
where
    A: unet::burn::tensor::backend::AutodiffBackend,
{
    let device = Default::default();
    if case.name == CLASSIC.name {
        Contender::network::<A, BenchClassic<A>>(label, case, &device)
    } else {
        Contender::network::<A, BenchSmall<A>>(label, case, &device)
    }
}

/// flex with burn's own convolution ops instead of the project's im2col kernels.
const FLEX_BURN_CONV: &str = "flex-burnconv";

/// The label of the ndarray column.
#[cfg(feature = "ndarray")]
const NDARRAY: &str = if cfg!(feature = "ndarray-blas") {
    "ndarray+openblas"
} else {
    "ndarray"
};

/// flex first, then every other backend compiled in.
fn contenders(case: &Case) -> Vec<Contender> {
    #[allow(unused_mut)]
    let mut all = vec![
        contender::<CpuAutodiff>("flex", case),
        contender::<CpuAutodiff>(FLEX_BURN_CONV, case).with_fast_conv(false),
    ];
    #[cfg(feature = "ndarray")]
    all.push(contender::<Autodiff<unet::backend::NdArray>>(NDARRAY, case));
    #[cfg(feature = "candle")]
    all.push(contender::<Autodiff<unet::backend::Candle>>("candle", case));
    all
}

/// The column labels of [`contenders`].
fn labels() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut all = vec!["flex", FLEX_BURN_CONV];
    #[cfg(feature = "ndarray")]
    all.push(NDARRAY);
    #[cfg(feature = "candle")]
    all.push("candle");
    all
}

/// The forward row over every backend, then the train row over those that can train (burn
/// 0.21's candle backend cannot: its max-pool has no indices, so no gradient). One untimed
/// train step per backend finds out, and doubles as a warm-up.
fn measure(
    case: &Case,
    arch: &Arch,
    options: &bench::Options,
    mut all: Vec<Contender>,
) -> Vec<Row> {
    let row = |kind: Kind, flops: u64, contenders: &mut [&mut Contender], repeats: usize| {
        bench::measure_row(case, kind, flops, options.warmup, repeats, contenders)
    };
    let mut everyone: Vec<&mut Contender> = all.iter_mut().collect();
    let forward = row(
        Kind::Forward,
        arch.forward_flops(case.batch, case.size),
        &mut everyone,
        options.forward_repeats,
    );
    if std::env::var_os("UNET_BENCH_FORWARD_ONLY").is_some() {
        return vec![forward];
    }
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut trainers: Vec<&mut Contender> = Vec::new();
    for c in all.iter_mut() {
        match catch_unwind(AssertUnwindSafe(|| c.train_once())) {
            Ok(()) => trainers.push(c),
            Err(e) => {
                let why = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                println!("{}: no train step on this backend ({why})", c.label);
            }
        }
    }
    std::panic::set_hook(hook);
    let train = row(
        Kind::Train,
        arch.train_flops(case.batch, case.size),
        &mut trainers,
        options.train_repeats,
    );
    vec![forward, train]
}

fn arch<const N: usize>(in_channels: usize, classes: usize, channels: &[usize; N]) -> Arch {
    Arch::new(
        in_channels,
        classes,
        channels,
        BenchClassic::<Cpu>::UP,
        BenchClassic::<Cpu>::PADDING,
    )
}

fn main() {
    let options = bench::Options::from_env().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    let only = std::env::var("UNET_BENCH_ONLY").ok();
    let cases = [
        (CLASSIC, arch(1, 1, &BenchClassic::<Cpu>::CHANNELS)),
        (SMALL, arch(3, 1, &BenchSmall::<Cpu>::CHANNELS)),
    ];
    let labels = labels();
    println!(
        "unet backends: warm-up {}, {} forward / {} train timed runs per backend, alternating {}",
        options.warmup,
        options.forward_repeats,
        options.train_repeats,
        labels.join(", ")
    );
    if labels.len() == 2 {
        println!("(only flex is compiled in: add `--features ndarray-blas,candle`)");
    }
    let mut rows = Vec::new();
    for (case, arch) in &cases {
        if only.as_deref().is_some_and(|o| o != case.name) {
            continue;
        }
        println!("{}", arch.describe(case));
        rows.extend(measure(case, arch, &options, contenders(case)));
    }
    let device = Default::default();
    let report = Report {
        backend: format!(
            "{} (first) against {}",
            <Cpu as Backend>::name(&device),
            labels[1..].join(", ")
        ),
        threads: bench::cpu_threads(),
        matmul: None,
        rows,
        torch: None,
        even: Vec::new(),
    };
    println!("\n{report}");
}
