//! Speed measurements for `cargo bench --bench unet` and `--bench backends`: timing, FLOP
//! counts, the PyTorch reference and the table, in one implementation.
//!
//! - **Timing** ([`time_alternating`]): warm-up runs, then `repeats` rounds in which every
//!   contender runs once in turn (A B A B ..., so drifts in machine load hit all alike); each
//!   contender's [`Stats`] are the median and the minimum of its timed runs.
//! - **Work** ([`Arch::forward_flops`], [`Arch::train_flops`]): the floating-point operations of
//!   the convolutions, `2 x` their multiply-adds (see [`Arch::convs`] for the formula).
//! - **Peak** ([`matmul_peak`]): a large fp32 matmul on the same backend, the yardstick for
//!   the "% of peak" column.
//! - **Memory** ([`peak_rss_mib`], [`reset_peak_rss`]): the process's peak resident set
//!   (`VmHWM` in `/proc/self/status`), reset before each row where the kernel allows it.
//! - **Reference** ([`TorchReference`]): the JSON that `scripts/bench_torch.py` writes, for the
//!   ratio to PyTorch.
//! - **Table** ([`Report`]): its `Display` is the table both tools print.
//!
//! A [`Contender`] is one network to time on one [`Case`]: a forward pass on the inference
//! backend and a training step (forward, binary cross-entropy, backward, Adam with epsilon
//! 1e-8) on the autodiff backend. Every run ends with `Backend::sync`, so asynchronous
//! backends (CUDA) are timed to completion.

use core::fmt;
use std::time::Instant;

use unet::burn::module::{AutodiffModule, Module};
use unet::burn::optim::adaptor::OptimizerAdaptor;
use unet::burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use unet::burn::tensor::backend::{AutodiffBackend, Backend};
use unet::burn::tensor::{Distribution, Int, Tensor};

use unet::blocks::UpMode;
use unet::geometry::PaddingKind;
use unet::train::{segmentation_loss, LossKind};
use unet::Network;

/// Learning rate of the timed Adam steps (its value does not change the work done).
pub const LEARNING_RATE: f64 = 1e-4;

/// One benchmark configuration: the input a network is timed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    /// Row label and key prefix in the PyTorch JSON (`classic` -> `classic_forward`).
    pub name: &'static str,
    /// Images per batch.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Input `[height, width]`.
    pub size: [usize; 2],
}

impl Case {
    /// The input shape `[N, C, H, W]`.
    pub fn shape(&self) -> [usize; 4] {
        [self.batch, self.in_channels, self.size[0], self.size[1]]
    }
}

/// `classic` (depth 4, base 64, transposed up-sampling, 1 class) on one 1x256x256 image.
pub const CLASSIC: Case = Case {
    name: "classic",
    batch: 1,
    in_channels: 1,
    size: [256, 256],
};

/// `small` (depth 4, base 16, transposed, 3 input channels, 1 class) on 4 images of 3x128x128.
pub const SMALL: Case = Case {
    name: "small",
    batch: 4,
    in_channels: 3,
    size: [128, 128],
};

/// The configurations both tools time, in table order.
pub const CASES: [Case; 2] = [CLASSIC, SMALL];

/// The layer sizes of a U-Net, for counting its work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arch {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels of the 1x1 head.
    pub classes: usize,
    /// Width of each level, level 0 first, the bottleneck last (`depth + 1` entries).
    pub channels: Vec<usize>,
    /// Decoder up-sampling.
    pub up: UpMode,
    /// Border handling of the 3x3 convolutions.
    pub padding: PaddingKind,
}

/// One convolution of a forward pass and its cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvCost {
    /// Where it sits, e.g. `down1.conv1`, `up2.up`, `head`.
    pub name: String,
    /// Multiply-adds of the forward pass.
    pub macs: u64,
    /// Whether training back-propagates into its input (false only for the first
    /// convolution, whose input is the image).
    pub input_grad: bool,
}

impl Arch {
    /// The configuration of a generated network, from its consts (`Name::<B>::CHANNELS` etc.).
    pub fn new(
        in_channels: usize,
        classes: usize,
        channels: &[usize],
        up: UpMode,
        padding: PaddingKind,
    ) -> Self {
        Self {
            in_channels,
            classes,
            channels: channels.to_vec(),
            up,
            padding,
        }
    }

    /// Number of 2x down-samplings.
    pub fn depth(&self) -> usize {
        self.channels.len().saturating_sub(1)
    }

    /// Every convolution of a forward pass on `batch` images of `size`, input to output.
    ///
    /// A convolution from `Cin` to `Cout` channels with a `k x k` kernel and an output of
    /// `Hout x Wout` does `N * Cout * Hout * Wout * Cin * k * k` multiply-adds. The 2x2
    /// stride-2 transposed convolution does `N * Cin * Hin * Win * Cout * 4`, which is the same
    /// count written with its (doubled) output size. Biases, ReLU, max-pooling,
    /// interpolation, concatenation and the loss are not counted (together well under 1%).
    pub fn convs(&self, batch: usize, size: [usize; 2]) -> Vec<ConvCost> {
        let n = batch as u64;
        let ch = &self.channels;
        let depth = self.depth();
        let lost = match self.padding {
            PaddingKind::Same => 0,
            PaddingKind::Valid => 2,
        };
        let mut out = Vec::new();
        let mut push = |name: String, cin: usize, cout: usize, k: usize, [h, w]: [usize; 2]| {
            let macs = n * (cout * h * w * cin * k * k) as u64;
            let input_grad = !out.is_empty();
            out.push(ConvCost {
                name,
                macs,
                input_grad,
            });
        };
        let shrink = |[h, w]: [usize; 2]| [h.saturating_sub(lost), w.saturating_sub(lost)];

        let mut hw = size;
        let mut cin = self.in_channels;
        for (k, &c) in ch.iter().enumerate().take(depth) {
            hw = shrink(hw);
            push(format!("down{}.conv1", k + 1), cin, c, 3, hw);
            hw = shrink(hw);
            push(format!("down{}.conv2", k + 1), c, c, 3, hw);
            hw = [hw[0] / 2, hw[1] / 2];
            cin = c;
        }
        hw = shrink(hw);
        push("bottleneck.conv1".into(), cin, ch[depth], 3, hw);
        hw = shrink(hw);
        push("bottleneck.conv2".into(), ch[depth], ch[depth], 3, hw);
        for i in 1..=depth {
            let level = depth - i;
            let (deep, c) = (ch[level + 1], ch[level]);
            hw = [hw[0] * 2, hw[1] * 2];
            let up = match self.up {
                UpMode::Transposed => {
                    push(format!("up{i}.up"), deep, c, 2, [hw[0] / 2, hw[1] / 2]);
                    c
                }
                UpMode::Bilinear | UpMode::Nearest => {
                    push(format!("up{i}.up"), deep, c, 1, hw);
                    c
                }
                UpMode::PixelShuffle => {
                    push(format!("up{i}.up"), deep, 4 * c, 3, [hw[0] / 2, hw[1] / 2]);
                    c
                }
                UpMode::BilinearConcat | UpMode::NearestConcat => deep,
            };
            hw = shrink(hw);
            push(format!("up{i}.conv1"), up + c, c, 3, hw);
            hw = shrink(hw);
            push(format!("up{i}.conv2"), c, c, 3, hw);
        }
        push("head".into(), ch[0], self.classes, 1, hw);
        out
    }

    /// One line naming the case's input and its work: convolutions, multiply-adds, FLOPs.
    pub fn describe(&self, case: &Case) -> String {
        let convs = self.convs(case.batch, case.size);
        let macs: u64 = convs.iter().map(|c| c.macs).sum();
        format!(
            "{}: input {:?}, {} convolutions, {:.3} G multiply-adds; forward {:.2} GFLOP (2 x MACs), \
             train step {:.2} GFLOP (forward + weight gradients + input gradients of all but the first conv)",
            case.name,
            case.shape(),
            convs.len(),
            macs as f64 / 1e9,
            self.forward_flops(case.batch, case.size) as f64 / 1e9,
            self.train_flops(case.batch, case.size) as f64 / 1e9,
        )
    }

    /// FLOPs of a forward pass: `2 x` the multiply-adds of every convolution.
    pub fn forward_flops(&self, batch: usize, size: [usize; 2]) -> u64 {
        2 * self.convs(batch, size).iter().map(|c| c.macs).sum::<u64>()
    }

    /// FLOPs of a training step: the forward pass, the weight gradients (as many again) and
    /// the input gradients (as many again, except for the first convolution): about
    /// `3 x` [`forward_flops`](Self::forward_flops). The optimizer's element-wise update is
    /// not counted.
    pub fn train_flops(&self, batch: usize, size: [usize; 2]) -> u64 {
        let convs = self.convs(batch, size);
        let all: u64 = convs.iter().map(|c| c.macs).sum();
        let input: u64 = convs.iter().filter(|c| c.input_grad).map(|c| c.macs).sum();
        2 * (2 * all + input)
    }
}

/// Median and minimum of a set of timed runs, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Median (the mean of the middle two for an even count).
    pub median: f64,
    /// Fastest run.
    pub min: f64,
    /// Number of timed runs.
    pub runs: usize,
}

impl Stats {
    /// The statistics of `seconds`; `None` when empty.
    pub fn from_seconds(seconds: &[f64]) -> Option<Self> {
        if seconds.is_empty() {
            return None;
        }
        let mut s = seconds.to_vec();
        s.sort_by(f64::total_cmp);
        let mid = s.len() / 2;
        let median = if s.len() % 2 == 1 {
            s[mid]
        } else {
            (s[mid - 1] + s[mid]) / 2.0
        };
        Some(Self {
            median,
            min: s[0],
            runs: s.len(),
        })
    }
}

/// Runs every closure `warmup` times untimed, then `repeats` (at least 1) timed rounds of each
/// in turn (A B A B ...); returns each one's [`Stats`] in the same order.
pub fn time_alternating(
    warmup: usize,
    repeats: usize,
    runs: &mut [&mut dyn FnMut()],
) -> Vec<Stats> {
    for _ in 0..warmup {
        for run in runs.iter_mut() {
            run();
        }
    }
    let mut seconds = vec![Vec::with_capacity(repeats); runs.len()];
    for _ in 0..repeats.max(1) {
        for (run, samples) in runs.iter_mut().zip(&mut seconds) {
            let start = Instant::now();
            run();
            samples.push(start.elapsed().as_secs_f64());
        }
    }
    seconds
        .iter()
        .map(|s| Stats::from_seconds(s).expect("at least one timed run"))
        .collect()
}

/// Waits for the backend to finish queued work (a no-op on eager CPU backends).
pub fn sync<B: Backend>(device: &B::Device) {
    // An execution error would surface again on the next operation; timing goes on.
    let _ = B::sync(device);
}

/// How much to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Untimed runs per contender before timing (the first run also initialises lazily).
    pub warmup: usize,
    /// Timed forward passes per contender.
    pub forward_repeats: usize,
    /// Timed training steps per contender.
    pub train_repeats: usize,
    /// Side of the square matrices of the matmul peak (0: skip it).
    pub matmul_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            warmup: 1,
            forward_repeats: 10,
            train_repeats: 5,
            matmul_size: 2048,
        }
    }
}

impl Options {
    /// One warm-up and one timed run of everything: proves the setup works, measures nothing.
    pub fn quick() -> Self {
        Self {
            warmup: 1,
            forward_repeats: 1,
            train_repeats: 1,
            matmul_size: 2048,
        }
    }

    /// The defaults, with `UNET_BENCH_REPEATS` (timed runs of both kinds) and
    /// `UNET_BENCH_WARMUP` from the environment when set.
    pub fn from_env() -> Result<Self, String> {
        let mut options = Self::default();
        let read = |key: &str| -> Result<Option<usize>, String> {
            match std::env::var(key) {
                Ok(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{key}={v:?} is not a non-negative integer")),
                Err(_) => Ok(None),
            }
        };
        if let Some(n) = read("UNET_BENCH_REPEATS")? {
            options.forward_repeats = n.max(1);
            options.train_repeats = n.max(1);
        }
        if let Some(n) = read("UNET_BENCH_WARMUP")? {
            options.warmup = n;
        }
        Ok(options)
    }
}

/// Random inputs of a case: normal images and 0/1 targets, on `device`.
pub fn inputs<B: Backend>(case: &Case, device: &B::Device) -> (Tensor<B, 4>, Tensor<B, 4, Int>) {
    let images = Tensor::random(case.shape(), Distribution::Normal(0.0, 1.0), device);
    let [n, _, h, w] = case.shape();
    let targets = Tensor::<B, 4>::random([n, 1, h, w], Distribution::Bernoulli(0.5), device).int();
    (images, targets)
}

/// A model with its Adam state, stepping on fixed inputs.
struct Trainer<B: AutodiffBackend, M: AutodiffModule<B>, F> {
    model: Option<M>,
    optim: OptimizerAdaptor<Adam, M, B>,
    forward: F,
    images: Tensor<B, 4>,
    targets: Tensor<B, 4, Int>,
    device: B::Device,
}

impl<B, M, F> Trainer<B, M, F>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    F: Fn(&M, Tensor<B, 4>) -> Tensor<B, 4>,
{
    /// Forward, binary cross-entropy on logits, backward, Adam step, sync.
    fn step(&mut self) {
        let model = self
            .model
            .take()
            .expect("the model is put back after every step");
        let logits = (self.forward)(&model, self.images.clone());
        let loss = segmentation_loss(LossKind::Bce, logits, self.targets.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = self.optim.step(LEARNING_RATE, model, grads);
        sync::<B>(&self.device);
        self.model = Some(model);
    }
}

/// One network to time: its forward pass (inference backend) and its training step (autodiff
/// backend), each a closure that owns the model and its inputs.
pub struct Contender {
    /// Column label, e.g. `macro` or `hand`.
    pub label: String,
    /// Whether its runs use the im2col convolutions of [`unet::kernels`] (on by default).
    pub fast_conv: bool,
    forward: Box<dyn FnMut()>,
    train: Box<dyn FnMut()>,
}

impl Contender {
    /// A contender from two copies of a model and how to run each: `infer` on the inference
    /// backend, `train` on the autodiff backend `B`. Inputs come from [`inputs`] after seeding
    /// the device with `seed`, so contenders with an equal `seed` see equal inputs.
    #[allow(clippy::too_many_arguments)]
    pub fn new<B, MI, MT>(
        label: impl Into<String>,
        case: &Case,
        device: &B::Device,
        seed: u64,
        infer: MI,
        infer_forward: impl Fn(&MI, Tensor<B::InnerBackend, 4>) -> Tensor<B::InnerBackend, 4> + 'static,
        train: MT,
        train_forward: impl Fn(&MT, Tensor<B, 4>) -> Tensor<B, 4> + 'static,
    ) -> Self
    where
        B: AutodiffBackend,
        MI: Module<B::InnerBackend> + 'static,
        MT: AutodiffModule<B> + 'static,
    {
        B::seed(device, seed);
        let (x, _) = inputs::<B::InnerBackend>(case, device);
        B::seed(device, seed);
        let (images, targets) = inputs::<B>(case, device);
        let infer_device = device.clone();
        let forward = move || {
            let y = infer_forward(&infer, x.clone());
            sync::<B::InnerBackend>(&infer_device);
            drop(y);
        };
        let mut trainer = Trainer {
            model: Some(train),
            optim: AdamConfig::new().with_epsilon(1e-8).init(),
            forward: train_forward,
            images,
            targets,
            device: device.clone(),
        };
        Self {
            label: label.into(),
            fast_conv: true,
            forward: Box::new(forward),
            train: Box::new(move || trainer.step()),
        }
    }

    /// The same contender with [`unet::kernels::set_fast_conv`] set to `enabled` for each of
    /// its runs: `false` times burn's own convolution ops.
    pub fn with_fast_conv(mut self, enabled: bool) -> Self {
        self.fast_conv = enabled;
        self
    }

    /// Runs one inference forward pass.
    pub fn forward_once(&mut self) {
        unet::kernels::set_fast_conv(self.fast_conv);
        (self.forward)()
    }

    /// Runs one training step (forward, loss, backward, Adam).
    pub fn train_once(&mut self) {
        unet::kernels::set_fast_conv(self.fast_conv);
        (self.train)()
    }

    /// A contender for a generated network `N` (initialised twice: inference and training).
    pub fn network<B, N>(label: impl Into<String>, case: &Case, device: &B::Device) -> Self
    where
        B: AutodiffBackend,
        N: Network<B> + AutodiffModule<B> + 'static,
        N::InnerModule: Network<B::InnerBackend>,
    {
        let name = case.name;
        B::seed(device, 1);
        let infer = <N::InnerModule as Network<B::InnerBackend>>::init(device);
        let train = N::init(device);
        Self::new::<B, _, _>(
            label,
            case,
            device,
            7,
            infer,
            move |m: &N::InnerModule, x| {
                m.forward_checked(x)
                    .unwrap_or_else(|e| panic!("the {name} input does not fit {}: {e}", N::NAME))
            },
            train,
            move |m: &N, x| {
                m.forward_checked(x)
                    .unwrap_or_else(|e| panic!("the {name} input does not fit {}: {e}", N::NAME))
            },
        )
    }
}

/// What a row times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Inference forward pass.
    Forward,
    /// Forward, loss, backward and Adam step.
    Train,
}

impl Kind {
    /// `forward` / `train`, also the key suffix in the PyTorch JSON.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Forward => "forward",
            Kind::Train => "train",
        }
    }
}

/// One line of the table: a case and kind, timed for every contender.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The configuration.
    pub case: Case,
    /// Forward or training step.
    pub kind: Kind,
    /// FLOPs of one run (see [`Arch`]).
    pub flops: u64,
    /// `(label, stats)` per contender, the first being the one rated against the others.
    pub timings: Vec<(String, Stats)>,
    /// Peak resident memory of the process while the row ran, MiB.
    pub peak_rss_mib: Option<f64>,
}

impl Row {
    /// `classic_forward` etc.: the row's key in the PyTorch JSON.
    pub fn key(&self) -> String {
        format!("{}_{}", self.case.name, self.kind.name())
    }
}

/// Times `case` for every contender, alternating between them: the forward row, then the
/// training row. `arch` gives the FLOPs.
pub fn measure_case(
    case: &Case,
    arch: &Arch,
    options: &Options,
    contenders: &mut [Contender],
) -> [Row; 2] {
    let mut all: Vec<&mut Contender> = contenders.iter_mut().collect();
    let forward = measure_row(
        case,
        Kind::Forward,
        arch.forward_flops(case.batch, case.size),
        options.warmup,
        options.forward_repeats,
        &mut all,
    );
    let train = measure_row(
        case,
        Kind::Train,
        arch.train_flops(case.batch, case.size),
        options.warmup,
        options.train_repeats,
        &mut all,
    );
    [forward, train]
}

/// One row: `kind` of `case` for every contender, alternating between them, `warmup` untimed
/// and `repeats` timed runs each, with the peak memory of the process while it ran.
pub fn measure_row(
    case: &Case,
    kind: Kind,
    flops: u64,
    warmup: usize,
    repeats: usize,
    contenders: &mut [&mut Contender],
) -> Row {
    reset_peak_rss();
    let labels: Vec<String> = contenders.iter().map(|c| c.label.clone()).collect();
    let mut closures: Vec<Box<dyn FnMut() + '_>> = contenders
        .iter_mut()
        .map(|c| -> Box<dyn FnMut() + '_> {
            match kind {
                Kind::Forward => Box::new(|| c.forward_once()),
                Kind::Train => Box::new(|| c.train_once()),
            }
        })
        .collect();
    let mut runs: Vec<&mut dyn FnMut()> = closures
        .iter_mut()
        .map(|c| &mut **c as &mut dyn FnMut())
        .collect();
    let stats = time_alternating(warmup, repeats, &mut runs);
    unet::kernels::set_fast_conv(true);
    Row {
        case: *case,
        kind,
        flops,
        timings: labels.into_iter().zip(stats).collect(),
        peak_rss_mib: peak_rss_mib(),
    }
}

/// The measured fp32 matmul rate of a backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Matmul {
    /// Side of the square matrices.
    pub size: usize,
    /// Timings of one product.
    pub stats: Stats,
}

impl Matmul {
    /// FLOPs of one product, `2 n^3`.
    pub fn flops(&self) -> f64 {
        2.0 * (self.size as f64).powi(3)
    }

    /// The peak: GFLOP/s of the fastest run.
    pub fn gflops(&self) -> f64 {
        self.flops() / self.stats.min / 1e9
    }
}

/// Times an `n x n` by `n x n` fp32 matmul on `device`: the machine's practical peak on this
/// backend.
pub fn matmul_peak<B: Backend>(
    device: &B::Device,
    n: usize,
    warmup: usize,
    repeats: usize,
) -> Matmul {
    let a = Tensor::<B, 2>::random([n, n], Distribution::Uniform(-1.0, 1.0), device);
    let b = Tensor::<B, 2>::random([n, n], Distribution::Uniform(-1.0, 1.0), device);
    let mut run = || {
        let c = a.clone().matmul(b.clone());
        sync::<B>(device);
        drop(c);
    };
    let stats = time_alternating(warmup, repeats, &mut [&mut run])[0];
    Matmul { size: n, stats }
}

/// Threads of the CPU backends' pool: `RAYON_NUM_THREADS` if set, else the available cores.
pub fn cpu_threads() -> Option<usize> {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
}

/// The process's peak resident set size so far (`VmHWM`), in MiB; `None` off Linux.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak resident set size to the current one (`echo 5 > /proc/self/clear_refs`),
/// so the next [`peak_rss_mib`] covers only what ran since. Returns whether it worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A PyTorch run of the same cases, as written by `scripts/bench_torch.py --json`.
#[derive(Clone, Debug, PartialEq)]
pub struct TorchReference {
    /// Median seconds per row key (`classic_forward`, `classic_train`, ...).
    pub seconds: Vec<(String, f64)>,
    /// `torch.get_num_threads()` of the run.
    pub threads: Option<u64>,
    /// `torch.__version__`.
    pub version: Option<String>,
    /// Peak resident memory of the PyTorch process, MiB.
    pub max_rss_mib: Option<f64>,
    /// PyTorch's fp32 matmul peak, GFLOP/s, when measured.
    pub matmul_gflops: Option<f64>,
}

impl TorchReference {
    /// Parses the script's JSON.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let object = value
            .as_object()
            .ok_or("the PyTorch reference is not a JSON object")?;
        let mut seconds = Vec::new();
        for case in CASES {
            for kind in [Kind::Forward, Kind::Train] {
                let key = format!("{}_{}", case.name, kind.name());
                if let Some(v) = object.get(&key).and_then(|v| v.as_f64()) {
                    seconds.push((key, v));
                }
            }
        }
        if seconds.is_empty() {
            return Err("the PyTorch reference has none of the keys classic_forward, classic_train, small_forward, small_train".into());
        }
        Ok(Self {
            seconds,
            threads: object.get("threads").and_then(|v| v.as_u64()),
            version: object
                .get("torch_version")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            max_rss_mib: object.get("max_rss_mb").and_then(|v| v.as_f64()),
            matmul_gflops: object.get("matmul_gflops").and_then(|v| v.as_f64()),
        })
    }

    /// Reads and parses a JSON file.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// PyTorch's median seconds for a row key.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.seconds.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// Everything a run measured; `Display` prints the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The backend, e.g. `flex`.
    pub backend: String,
    /// Compute threads, where known.
    pub threads: Option<usize>,
    /// The matmul peak, if measured.
    pub matmul: Option<Matmul>,
    /// The table's rows.
    pub rows: Vec<Row>,
    /// The PyTorch reference, if given.
    pub torch: Option<TorchReference>,
    /// Pairs of contender labels `(a, b)` expected to take the same time (the macro network
    /// against the same network written by hand); each gets a verdict line.
    pub even: Vec<(String, String)>,
}

/// Tolerance of the contender ratio called "even" in the report: `1.00 +- 0.02`.
pub const RATIO_TOLERANCE: f64 = 0.02;

impl Report {
    /// The median ratio `a / b` of every pair in [`Report::even`], per row where both ran:
    /// `(row key, "a/b", ratio)`.
    pub fn ratios(&self) -> Vec<(String, String, f64)> {
        let mut out = Vec::new();
        for row in &self.rows {
            let median = |label: &str| {
                row.timings
                    .iter()
                    .find(|(l, _)| l == label)
                    .map(|(_, s)| s.median)
            };
            for (a, b) in &self.even {
                if let (Some(ta), Some(tb)) = (median(a), median(b)) {
                    out.push((row.key(), format!("{a}/{b}"), ta / tb));
                }
            }
        }
        out
    }
}

fn seconds(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.2}")
    } else if s >= 0.1 {
        format!("{s:.3}")
    } else {
        format!("{s:.4}")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let threads = self
            .threads
            .map(|t| format!(", {t} thread(s)"))
            .unwrap_or_default();
        writeln!(f, "backend: {}{threads}", self.backend)?;
        let peak = self.matmul.map(|m| m.gflops());
        if let Some(m) = &self.matmul {
            writeln!(
                f,
                "fp32 matmul {n}x{n}: {:.1} GFLOP/s peak (best of {}; median {:.1})",
                m.gflops(),
                m.stats.runs,
                m.flops() / m.stats.median / 1e9,
                n = m.size,
            )?;
        }
        if let Some(t) = &self.torch {
            let mut parts = vec![format!(
                "PyTorch {}",
                t.version.as_deref().unwrap_or("(version unknown)")
            )];
            if let Some(n) = t.threads {
                parts.push(format!("{n} thread(s)"));
            }
            if let Some(g) = t.matmul_gflops {
                parts.push(format!("matmul {g:.1} GFLOP/s"));
            }
            if let Some(m) = t.max_rss_mib {
                parts.push(format!("max RSS {m:.0} MiB"));
            }
            writeln!(f, "reference: {}", parts.join(", "))?;
        }
        writeln!(
            f,
            "times are seconds per run (median / min over the timed runs); GFLOP/s and % of peak from the first column's median"
        )?;

        let others: Vec<String> = self
            .rows
            .first()
            .map(|r| r.timings.iter().skip(1).map(|(l, _)| l.clone()).collect())
            .unwrap_or_default();
        let first = self
            .rows
            .first()
            .and_then(|r| r.timings.first())
            .map(|(l, _)| l.clone())
            .unwrap_or_else(|| "time".into());
        let mut header = vec![
            "run".to_string(),
            "GFLOP".into(),
            format!("{first} median"),
            format!("{first} min"),
        ];
        for other in &others {
            header.push(format!("{other} median"));
            header.push(format!("{first}/{other}"));
        }
        header.extend(["GFLOP/s".into(), "% peak".into(), "peak RSS MiB".into()]);
        if self.torch.is_some() {
            header.push("torch median".into());
            header.push(format!("{first}/torch"));
        }
        let mut lines = vec![header];
        for row in &self.rows {
            let Some((_, main)) = row.timings.first() else {
                continue;
            };
            let gflops = row.flops as f64 / 1e9;
            let mut cells = vec![
                format!("{} {}", row.case.name, row.kind.name()),
                format!("{gflops:.2}"),
                seconds(main.median),
                seconds(main.min),
            ];
            for other in &others {
                match row.timings.iter().find(|(l, _)| l == other) {
                    Some((_, s)) => {
                        cells.push(seconds(s.median));
                        cells.push(format!("{:.3}", main.median / s.median));
                    }
                    None => cells.extend(["-".into(), "-".into()]),
                }
            }
            let rate = gflops / main.median;
            cells.push(format!("{rate:.1}"));
            cells.push(peak.map_or("-".into(), |p| format!("{:.1}%", 100.0 * rate / p)));
            cells.push(row.peak_rss_mib.map_or("-".into(), |m| format!("{m:.0}")));
            if let Some(t) = &self.torch {
                match t.get(&row.key()) {
                    Some(s) => {
                        cells.push(seconds(s));
                        cells.push(format!("{:.2}", main.median / s));
                    }
                    None => cells.extend(["-".into(), "-".into()]),
                }
            }
            lines.push(cells);
        }
        let columns = lines[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| lines.iter().map(|l| l[c].len()).max().unwrap_or(0))
            .collect();
        for (i, line) in lines.iter().enumerate() {
            let cells: Vec<String> = line
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (cell, &w))| {
                    if c == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            writeln!(f, "| {} |", cells.join(" | "))?;
            if i == 0 {
                let rule: Vec<String> = widths
                    .iter()
                    .enumerate()
                    .map(|(c, &w)| {
                        if c == 0 {
                            "-".repeat(w)
                        } else {
                            format!("{}:", "-".repeat(w.saturating_sub(1)))
                        }
                    })
                    .collect();
                writeln!(f, "| {} |", rule.join(" | "))?;
            }
        }
        for (key, pair, ratio) in self.ratios() {
            let verdict = if (ratio - 1.0).abs() <= RATIO_TOLERANCE {
                "within"
            } else {
                "OUTSIDE"
            };
            writeln!(
                f,
                "{key}: {pair} = {ratio:.3} ({verdict} 1.00 +- {RATIO_TOLERANCE:.2})"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classic() -> Arch {
        Arch::new(
            1,
            1,
            &[64, 128, 256, 512, 1024],
            UpMode::Transposed,
            PaddingKind::Same,
        )
    }

    #[test]
    fn classic_forward_is_about_96_gflop() {
        let flops = classic().forward_flops(1, [256, 256]);
        let g = flops as f64 / 1e9;
        assert!((96.0..96.5).contains(&g), "{g}");
        // 23 layers: 2 per encoder level, the bottleneck's 2, 3 per decoder level, the head.
        assert_eq!(classic().convs(1, [256, 256]).len(), 23);
    }

    #[test]
    fn train_is_three_forwards_minus_the_first_input_gradient() {
        let arch = classic();
        let convs = arch.convs(1, [256, 256]);
        let forward = arch.forward_flops(1, [256, 256]);
        assert_eq!(
            arch.train_flops(1, [256, 256]),
            3 * forward - 2 * convs[0].macs
        );
        assert!(!convs[0].input_grad && convs[1..].iter().all(|c| c.input_grad));
    }

    #[test]
    fn small_case_is_about_6_gflop() {
        let arch = Arch::new(
            3,
            1,
            &[16, 32, 64, 128, 256],
            UpMode::Transposed,
            PaddingKind::Same,
        );
        let g = arch.forward_flops(SMALL.batch, SMALL.size) as f64 / 1e9;
        assert!((6.0..6.2).contains(&g), "{g}");
    }

    #[test]
    fn valid_padding_shrinks_every_conv() {
        let arch = Arch {
            padding: PaddingKind::Valid,
            classes: 2,
            ..classic()
        };
        let convs = arch.convs(1, [572, 572]);
        // down1.conv1 outputs 570x570 from one channel.
        assert_eq!(convs[0].macs, 64 * 570 * 570 * 9);
        // The head sees the 388x388 output.
        assert_eq!(convs.last().unwrap().macs, 2 * 388 * 388 * 64);
    }

    #[test]
    fn stats_take_the_median_and_minimum() {
        let s = Stats::from_seconds(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.runs), (2.0, 1.0, 3));
        let s = Stats::from_seconds(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(Stats::from_seconds(&[]).is_none());
    }

    #[test]
    fn alternating_runs_interleave() {
        let order = std::cell::RefCell::new(Vec::new());
        let mut a = || order.borrow_mut().push('a');
        let mut b = || order.borrow_mut().push('b');
        let stats = time_alternating(1, 2, &mut [&mut a, &mut b]);
        assert_eq!(stats.len(), 2);
        assert_eq!(order.into_inner(), vec!['a', 'b', 'a', 'b', 'a', 'b']);
    }

    #[test]
    fn torch_reference_reads_the_script_keys() {
        let t = TorchReference::from_json(
            r#"{"classic_forward": 0.66, "classic_train": 2.1, "small_forward": 0.05,
                "small_train": 0.2, "threads": 2, "torch_version": "2.15.0", "max_rss_mb": 900.5}"#,
        )
        .unwrap();
        assert_eq!(t.get("classic_train"), Some(2.1));
        assert_eq!(t.threads, Some(2));
        assert_eq!(t.version.as_deref(), Some("2.15.0"));
        assert!(TorchReference::from_json(r#"{"threads": 2}"#).is_err());
        assert!(TorchReference::from_json("[]").is_err());
    }

    #[test]
    fn report_prints_ratios_and_torch_columns() {
        let stats = |s| Stats::from_seconds(&[s]).unwrap();
        let report = Report {
            backend: "test".into(),
            threads: Some(2),
            matmul: Some(Matmul {
                size: 1000,
                stats: stats(0.02),
            }),
            rows: vec![Row {
                case: CLASSIC,
                kind: Kind::Forward,
                flops: 96_000_000_000,
                timings: vec![("macro".into(), stats(1.01)), ("hand".into(), stats(1.0))],
                peak_rss_mib: Some(500.0),
            }],
            torch: TorchReference::from_json(r#"{"classic_forward": 0.5}"#).ok(),
            even: vec![("macro".into(), "hand".into())],
        };
        let text = report.to_string();
        assert!(text.contains("100.0 GFLOP/s peak"), "{text}");
        assert!(text.contains("macro/hand"), "{text}");
        assert!(text.contains(" 1.010 |"), "{text}");
        assert!(text.contains(" 2.02 |"), "{text}");
        assert!(text.contains("within 1.00 +- 0.02"), "{text}");
    }
}
