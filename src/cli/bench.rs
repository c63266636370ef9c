//! `unet bench`: forward and training-step speed of the benchmark networks on the chosen
//! backend, printed as the same table as `cargo bench --bench unet` (from `unet::bench`),
//! without the hand-written comparison.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use unet::bench::{self, Arch, Case, Contender, Report, TorchReference, CLASSIC, SMALL};
use unet::burn::backend::Autodiff;
use unet::burn::tensor::backend::Backend;
use unet::unet;

use super::{with_backend, BackendArgs, CliError};

unet!(
    /// The `classic` row: depth 4, base 64, transposed (as the `classic` model).
    pub BenchClassic<depth: 4, base: 64, up: transposed>
);
unet!(
    /// The `small` row: depth 4, base 16, transposed, on RGB input.
    pub BenchSmall<depth: 4, base: 16, up: transposed, in_channels: 3>
);

/// Which configurations to time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Only {
    /// depth 4, base 64, input 1x1x256x256.
    Classic,
    /// depth 4, base 16, input 4x3x128x128.
    Small,
}

/// Options of `unet bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Timed forward passes per configuration.
    #[arg(long, default_value_t = 10)]
    pub repeats: usize,
    /// Timed training steps per configuration.
    #[arg(long, default_value_t = 5)]
    pub train_repeats: usize,
    /// Untimed runs before timing (the first also initialises lazily).
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// One warm-up and one timed run of everything: checks the setup, measures nothing.
    #[arg(long)]
    pub quick: bool,
    /// Time one configuration only.
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Side of the square fp32 matmul that measures the peak (0: skip).
    #[arg(long, default_value_t = 2048)]
    pub matmul: usize,
    /// JSON from `scripts/bench_torch.py --json`: adds the ratio to PyTorch.
    #[arg(long, value_name = "FILE")]
    pub torch_json: Option<PathBuf>,
}

impl BenchArgs {
    fn options(&self) -> bench::Options {
        if self.quick {
            return bench::Options {
                matmul_size: self.matmul,
                ..bench::Options::quick()
            };
        }
        bench::Options {
            warmup: self.warmup,
            forward_repeats: self.repeats.max(1),
            train_repeats: self.train_repeats.max(1),
            matmul_size: self.matmul,
        }
    }
}

fn arch_classic() -> Arch {
    type N = BenchClassic<unet::backend::Cpu>;
    Arch::new(N::IN_CHANNELS, N::CLASSES, &N::CHANNELS, N::UP, N::PADDING)
}

fn arch_small() -> Arch {
    type N = BenchSmall<unet::backend::Cpu>;
    Arch::new(N::IN_CHANNELS, N::CLASSES, &N::CHANNELS, N::UP, N::PADDING)
}

/// Times the selected cases on the autodiff backend `A` (its inner backend for forwards).
fn measure<A: unet::burn::tensor::backend::AutodiffBackend>(
    args: &BenchArgs,
    device: &A::Device,
    torch: Option<TorchReference>,
) -> Report {
    let options = args.options();
    let cases: [(Case, Arch); 2] = [(CLASSIC, arch_classic()), (SMALL, arch_small())];
    let wanted = |case: &Case| match args.only {
        None => true,
        Some(Only::Classic) => case.name == CLASSIC.name,
        Some(Only::Small) => case.name == SMALL.name,
    };
    println!(
        "unet bench: warm-up {}, {} forward / {} train timed runs",
        options.warmup, options.forward_repeats, options.train_repeats
    );
    let matmul = (options.matmul_size > 0).then(|| {
        bench::matmul_peak::<A::InnerBackend>(
            device,
            options.matmul_size,
            options.warmup,
            options.forward_repeats,
        )
    });
    for (case, arch) in cases.iter().filter(|(c, _)| wanted(c)) {
        println!("{}", arch.describe(case));
    }
    let mut rows = Vec::new();
    for (case, arch) in cases.iter().filter(|(c, _)| wanted(c)) {
        let contender = if case.name == CLASSIC.name {
            Contender::network::<A, BenchClassic<A>>("macro", case, device)
        } else {
            Contender::network::<A, BenchSmall<A>>("macro", case, device)
        };
        rows.extend(bench::measure_case(case, arch, &options, &mut [contender]));
    }
    let name = <A::InnerBackend as Backend>::name(device);
    let threads = match args.backend.backend {
        super::BackendKind::Cpu => bench::cpu_threads(),
        super::BackendKind::Cuda => None,
    };
    Report {
        backend: format!("{name} ({device:?})"),
        threads,
        matmul,
        rows,
        torch,
        even: Vec::new(),
    }
}

/// Runs `unet bench`.
pub fn run(args: &BenchArgs) -> Result<(), CliError> {
    let torch = args
        .torch_json
        .as_deref()
        .map(TorchReference::load)
        .transpose()
        .map_err(|e| CliError(format!("--torch-json {e}")))?;
    with_backend!(&args.backend, B, devices => {
        let report = measure::<Autodiff<B>>(args, &devices[0], torch);
        println!("\n{report}");
        Ok(())
    })
}
