//! Speed of the `unet!` networks, side by side with the same U-Net written by hand on burn
//! (`benches/handwritten/`) and, optionally, with PyTorch (`scripts/bench_torch.py`).
//!
//! ```sh
//! cargo bench --bench unet                                   # 10 forward / 5 train runs per row
//! UNET_BENCH_REPEATS=1 cargo bench --bench unet              # smoke run
//! python3 scripts/bench_torch.py --json /tmp/torch.json
//! UNET_TORCH_JSON=/tmp/torch.json cargo bench --bench unet   # adds the ratio to PyTorch
//! ```
//!
//! Environment: `UNET_BENCH_REPEATS` (timed runs of every row), `UNET_BENCH_WARMUP` (untimed
//! runs first, default 1), `UNET_BENCH_ONLY` (`classic` or `small`), `UNET_TORCH_JSON`.
//! The timing, FLOP counts and table are `unet_bench`, shared with `unet bench`.

mod handwritten;

use unet::backend::{Cpu, CpuAutodiff};
use unet::burn::module::Module;
use unet::burn::tensor::backend::Backend;
use unet::unet;
use unet_bench::{self as bench, Arch, Case, Contender, Report, TorchReference, CLASSIC, SMALL};

use handwritten::UNetConfig;

unet!(
    /// The `classic` row: the classic U-Net (depth 4, base 64, transposed up-sampling).
    BenchClassic<depth: 4, base: 64, up: transposed>
);
unet!(
    /// The `small` row, on RGB input.
    BenchSmall<depth: 4, base: 16, up: transposed, in_channels: 3>
);

type A = CpuAutodiff;

/// The macro network and the hand-written one of the same architecture, for `case`: each
/// with the flex kernels of `unet::kernels`, then on burn's own convolution ops.
fn contenders(case: &Case, hand: UNetConfig, macro_params: usize) -> Vec<Contender> {
    let device = Default::default();
    let macro_net = |label: &str| {
        if case.name == CLASSIC.name {
            Contender::network::<A, BenchClassic<A>>(label, case, &device)
        } else {
            Contender::network::<A, BenchSmall<A>>(label, case, &device)
        }
    };
    let hand_net = |label: &str| {
        <A as Backend>::seed(&device, 1);
        let infer = hand.init::<Cpu>(&device);
        let train = hand.init::<A>(&device);
        assert_eq!(
            train.num_params(),
            macro_params,
            "the hand-written {} U-Net has another parameter count than the macro's",
            case.name
        );
        Contender::new::<A, _, _>(
            label,
            case,
            &device,
            7,
            infer,
            |m: &handwritten::UNet<Cpu>, x| m.forward(x),
            train,
            |m: &handwritten::UNet<A>, x| m.forward(x),
        )
    };
    vec![
        macro_net(MACRO),
        hand_net(HAND),
        macro_net(MACRO_BURN).with_fast_conv(false),
        hand_net(HAND_BURN).with_fast_conv(false),
    ]
}

/// The generated network with the flex kernels (the default).
const MACRO: &str = "macro";
/// The hand-written network with the same kernels.
const HAND: &str = "hand";
/// The generated network on burn's convolution ops.
const MACRO_BURN: &str = "macro-burnconv";
/// The hand-written network on burn's convolution ops: plain burn.
const HAND_BURN: &str = "hand-burnconv";

fn main() {
    let options = bench::Options::from_env().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    let torch = std::env::var_os("UNET_TORCH_JSON").map(|path| {
        TorchReference::load(path.as_ref()).unwrap_or_else(|e| {
            eprintln!("error: UNET_TORCH_JSON: {e}");
            std::process::exit(2)
        })
    });
    let only = std::env::var("UNET_BENCH_ONLY").ok();
    let device = Default::default();

    let classic = Arch::new(
        BenchClassic::<Cpu>::IN_CHANNELS,
        BenchClassic::<Cpu>::CLASSES,
        &BenchClassic::<Cpu>::CHANNELS,
        BenchClassic::<Cpu>::UP,
        BenchClassic::<Cpu>::PADDING,
    );
    let small = Arch::new(
        BenchSmall::<Cpu>::IN_CHANNELS,
        BenchSmall::<Cpu>::CLASSES,
        &BenchSmall::<Cpu>::CHANNELS,
        BenchSmall::<Cpu>::UP,
        BenchSmall::<Cpu>::PADDING,
    );
    let cases = [
        (
            CLASSIC,
            classic,
            UNetConfig {
                in_channels: 1,
                classes: 1,
                base: 64,
                depth: 4,
            },
            BenchClassic::<Cpu>::PARAMS,
        ),
        (
            SMALL,
            small,
            UNetConfig {
                in_channels: 3,
                classes: 1,
                base: 16,
                depth: 4,
            },
            BenchSmall::<Cpu>::PARAMS,
        ),
    ];

    println!(
        "unet bench: warm-up {}, {} forward / {} train timed runs per contender, alternating {MACRO}, {HAND}, {MACRO_BURN}, {HAND_BURN}",
        options.warmup, options.forward_repeats, options.train_repeats
    );
    for (case, arch, _, _) in &cases {
        if only.as_deref().is_none_or(|o| o == case.name) {
            println!("{}", arch.describe(case));
        }
    }

    let matmul = (options.matmul_size > 0).then(|| {
        bench::matmul_peak::<Cpu>(
            &device,
            options.matmul_size,
            options.warmup,
            options.forward_repeats,
        )
    });
    let mut rows = Vec::new();
    for (case, arch, hand, params) in cases {
        if only.as_deref().is_some_and(|o| o != case.name) {
            continue;
        }
        let mut contenders = contenders(&case, hand, params);
        rows.extend(bench::measure_case(&case, &arch, &options, &mut contenders));
    }
    let report = Report {
        backend: format!("{} (cpu)", <Cpu as Backend>::name(&device)),
        threads: bench::cpu_threads(),
        matmul,
        rows,
        torch,
        even: vec![
            (MACRO.into(), HAND.into()),
            (MACRO_BURN.into(), HAND_BURN.into()),
        ],
    };
    println!("\n{report}");
}
