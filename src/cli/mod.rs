//! The `unet` tool as a library: [`cli!`](crate::cli!) turns any list of `unet!` networks into
//! a binary with every command (`models`, `summary`, `train`, `eval`, `predict`, `import`,
//! `export`, `bench`). The project's own `unet` binary is this macro over its five networks.
//!
//! Every failure is one line on stderr (the error and its causes, joined by `: `) and exit
//! code 2.

mod bench;
mod eval;
mod export;
mod import;
mod predict;
mod train;

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::burn::tensor::backend::{AutodiffBackend, Backend};
use crate::Network;
use crate::TrainableNetwork;

/// A generated network as a family of types, one per backend: what the tool needs to run
/// every command on any backend. [`cli!`](crate::cli!) implements it for each network it is
/// given; implement it by hand only for networks written without the macro.
pub trait Family: 'static {
    /// The network on an inference backend (which `export` writes as ONNX).
    type Net<B: Backend>: Network<B> + crate::onnx::Export<B>;
    /// The network on an autodiff backend, for training.
    type Train<B: AutodiffBackend>: TrainableNetwork<B>;
}

/// The commands of one registered network, with its family's types fixed.
trait Commands {
    fn params(&self) -> usize;
    fn description(&self) -> &'static str;
    fn summary(&self) -> crate::Summary;
    fn summary_for(&self, shape: [usize; 4]) -> Result<crate::ShapedSummary, crate::ShapeError>;
    fn in_channels(&self) -> usize;
    fn train(&self, args: &train::TrainArgs, name: &str) -> anyhow::Result<()>;
    fn eval(&self, args: &eval::EvalArgs) -> anyhow::Result<()>;
    fn predict(&self, args: &predict::PredictArgs) -> anyhow::Result<()>;
    fn import(&self, args: &import::ImportArgs, name: &str) -> anyhow::Result<()>;
    fn export(&self, args: &export::ExportArgs) -> anyhow::Result<()>;
    fn bench(&self, args: &bench::BenchArgs) -> anyhow::Result<()>;
}

struct Of<F>(PhantomData<F>);

impl<F: Family> Commands for Of<F> {
    fn params(&self) -> usize {
        <F::Net<crate::backend::Cpu> as Network<crate::backend::Cpu>>::PARAMS
    }
    fn description(&self) -> &'static str {
        <F::Net<crate::backend::Cpu> as Network<crate::backend::Cpu>>::DESCRIPTION
    }
    fn summary(&self) -> crate::Summary {
        <F::Net<crate::backend::Cpu> as Network<crate::backend::Cpu>>::layer_summary()
    }
    fn summary_for(&self, shape: [usize; 4]) -> Result<crate::ShapedSummary, crate::ShapeError> {
        <F::Net<crate::backend::Cpu> as Network<crate::backend::Cpu>>::summary_for(shape)
    }
    fn in_channels(&self) -> usize {
        <F::Net<crate::backend::Cpu> as Network<crate::backend::Cpu>>::IN_CHANNELS
    }
    fn train(&self, args: &train::TrainArgs, name: &str) -> anyhow::Result<()> {
        train::run::<F>(args, name)
    }
    fn eval(&self, args: &eval::EvalArgs) -> anyhow::Result<()> {
        eval::run::<F>(args)
    }
    fn predict(&self, args: &predict::PredictArgs) -> anyhow::Result<()> {
        predict::run::<F>(args)
    }
    fn import(&self, args: &import::ImportArgs, name: &str) -> anyhow::Result<()> {
        import::run::<F>(args, name)
    }
    fn export(&self, args: &export::ExportArgs) -> anyhow::Result<()> {
        export::run::<F>(args)
    }
    fn bench(&self, args: &bench::BenchArgs) -> anyhow::Result<()> {
        bench::run::<F>(args)
    }
}

/// One network of the tool: its name on the command line and its commands.
pub struct Model {
    name: &'static str,
    commands: Box<dyn Commands>,
}

impl Model {
    /// The network family `F` under `name`.
    pub fn of<F: Family>(name: &'static str) -> Self {
        Self {
            name,
            commands: Box::new(Of::<F>(PhantomData)),
        }
    }

    /// Its name on the command line.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// The tool: its name, version and networks.
pub struct Tool {
    name: &'static str,
    version: &'static str,
    models: Vec<Model>,
}

impl Tool {
    /// A tool called `name` (as in `--help`) at `version`, serving `models`; the first is
    /// the default of `summary` and `train`.
    pub fn new(name: &'static str, version: &'static str, models: Vec<Model>) -> Self {
        Self {
            name,
            version,
            models,
        }
    }

    fn find(&self, name: &str) -> anyhow::Result<&Model> {
        self.models.iter().find(|m| m.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.models.iter().map(|m| m.name).collect();
            anyhow!("unknown model `{name}` (available: {})", names.join(", "))
        })
    }

    /// `--model` given, or the tool's first network.
    fn chosen(&self, model: Option<&str>) -> anyhow::Result<&Model> {
        match model {
            Some(name) => self.find(name),
            None => self
                .models
                .first()
                .ok_or_else(|| anyhow!("this tool has no model")),
        }
    }

    /// Parses the process's arguments and runs the command.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// [`Tool::run`] on the given arguments (the first is the program name).
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        quiet_on_closed_pipe();
        crate::train::keep_freed_memory();
        let command = Cli::command()
            .name(self.name)
            .bin_name(self.name)
            .version(self.version);
        let cli = match command
            .try_get_matches_from(args)
            .and_then(|m| Cli::from_arg_matches(&m))
        {
            Ok(cli) => cli,
            Err(e) => {
                // `--help` and `--version` print to stdout and succeed; usage errors exit 2.
                let _ = e.print();
                return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
            }
        };
        match self.check().and_then(|()| self.dispatch(cli.command)) {
            Ok(()) => ExitCode::SUCCESS,
            // Said on stdout already, with how to resume; 128 + SIGINT, as shells report it.
            Err(e) if e.is::<Interrupted>() => ExitCode::from(130),
            Err(e) => {
                eprintln!("error: {}", one_line(&e));
                ExitCode::from(2)
            }
        }
    }

    /// Every model name once.
    fn check(&self) -> anyhow::Result<()> {
        for (i, model) in self.models.iter().enumerate() {
            if self.models[..i].iter().any(|m| m.name == model.name) {
                bail!("model name `{}` is registered twice", model.name);
            }
        }
        Ok(())
    }

    fn dispatch(&self, command: Command) -> anyhow::Result<()> {
        match command {
            Command::Models => {
                self.list();
                Ok(())
            }
            Command::Summary(args) => {
                let model = self.chosen(args.model.as_deref())?;
                println!("{}", args.table(model.commands.as_ref())?);
                Ok(())
            }
            Command::Train(args) => {
                let model = self.chosen(args.model.as_deref())?;
                model.commands.train(&args, model.name)
            }
            Command::Predict(args) => {
                let name = predict::model_of(&args.checkpoint, args.model.as_deref())?;
                self.find(&name)?.commands.predict(&args)
            }
            Command::Eval(args) => {
                let name = predict::model_of(&args.checkpoint, args.model.as_deref())?;
                self.find(&name)?.commands.eval(&args)
            }
            Command::Import(args) => {
                let model = self.find(&args.model)?;
                model.commands.import(&args, model.name)
            }
            Command::Export(args) => {
                let name = predict::model_of(&args.checkpoint, args.model.as_deref())?;
                self.find(&name)?.commands.export(&args)
            }
            Command::Bench(args) => {
                args.check()?;
                let models: Vec<&Model> = match &args.model {
                    Some(name) => vec![self.find(name)?],
                    None => self.models.iter().collect(),
                };
                for model in models {
                    println!("{}:", model.name);
                    model.commands.bench(&args)?;
                }
                Ok(())
            }
        }
    }

    fn list(&self) {
        println!("{:<8}  {:>12}  description", "model", "parameters");
        for model in &self.models {
            println!(
                "{:<8}  {:>12}  {}",
                model.name,
                crate::group_thousands(model.commands.params()),
                model.commands.description()
            );
        }
    }
}

/// The most memory generated images may take (every one is held for the command).
const MAX_SYNTHETIC_BYTES: u128 = 4 << 30;

/// Refuses `count` generated `size` x `size` images of `channels` channels (with their masks)
/// that would take more than [`MAX_SYNTHETIC_BYTES`]; `flags` names the settings for the
/// message.
fn synthetic_fits(count: usize, size: usize, channels: usize, flags: &str) -> anyhow::Result<()> {
    let bytes = (count as u128)
        .checked_mul((size as u128).pow(2))
        .and_then(|b| b.checked_mul(4 * channels as u128 + 1))
        .unwrap_or(u128::MAX);
    if bytes > MAX_SYNTHETIC_BYTES {
        bail!(
            "{flags}: {:.1e} GiB of generated images, above the {} GiB a command may hold (lower either)",
            bytes as f64 / f64::from(1u32 << 30),
            MAX_SYNTHETIC_BYTES >> 30
        );
    }
    Ok(())
}

/// A run stopped by Ctrl-C (or SIGTERM) after saving a resumable checkpoint: exit code 130.
#[derive(Debug)]
struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// A closed pipe (`unet models | head -1`) ends the tool the way it ends other Unix tools, by
/// SIGPIPE and without a word, instead of `println!`'s panic: Rust's runtime ignores SIGPIPE,
/// so every write to a closed pipe would fail.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: `signal` with `SIG_DFL` installs no handler; it only restores the default
    // action for SIGPIPE, as the process had before Rust's runtime changed it.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The error and its causes on one line, each cause once (a cause whose text its parent
/// already shows is left out).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Train and use typed U-Nets generated by the `unet!` macro.
#[derive(Parser, Debug)]
#[command(about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the models with their parameter counts.
    Models,
    /// Print a model's per-layer table: symbolic sizes, or every layer's shape and the
    /// memory of a training step for an input.
    Summary(SummaryArgs),
    /// Train a model on synthetic shapes or an image/mask folder.
    Train(Box<train::TrainArgs>),
    /// Segment images with a trained checkpoint.
    Predict(predict::PredictArgs),
    /// Evaluate a checkpoint on synthetic images or a folder: pixel accuracy, Dice, IoU.
    Eval(eval::EvalArgs),
    /// Import PyTorch weights (.pt/.pth/.safetensors) into a run folder.
    Import(import::ImportArgs),
    /// Write a checkpoint as an ONNX model (for onnxruntime, TensorRT, OpenVINO, browsers).
    Export(export::ExportArgs),
    /// Time forward passes and training steps of the models.
    Bench(bench::BenchArgs),
}

/// The options of `summary`.
#[derive(Args, Debug)]
struct SummaryArgs {
    /// Model name (see `models`) [default: the first].
    #[arg(long)]
    model: Option<String>,
    /// Input size, `HEIGHTxWIDTH` or one side for a square (e.g. `572x572`): every layer's
    /// output shape and memory for it [default: the network's declared input, if any].
    #[arg(long, value_parser = parse_size)]
    input: Option<[usize; 2]>,
    /// Batch size for the shapes and memory (needs an input).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    batch: Option<u32>,
}

impl SummaryArgs {
    /// The symbolic table, or the shaped one for `--input` (or a declared input).
    fn table(&self, net: &dyn Commands) -> anyhow::Result<String> {
        let summary = net.summary();
        let declared = summary.input.and_then(|s| <[usize; 2]>::try_from(s).ok());
        let Some([h, w]) = self.input.or(declared) else {
            if self.batch.is_some() {
                bail!("--batch needs --input: this network declares no input size");
            }
            return Ok(summary.to_string());
        };
        let batch = self.batch.map_or(1, |b| b as usize);
        let shaped = net.summary_for([batch, net.in_channels(), h, w])?;
        Ok(shaped.to_string())
    }
}

/// `572x572` or `572`: a spatial size for `--input`.
fn parse_size(text: &str) -> Result<[usize; 2], String> {
    let side = |t: &str| match t.trim().parse::<usize>() {
        Ok(0) | Err(_) => Err(format!("`{t}` is not a positive size")),
        Ok(n) => Ok(n),
    };
    match text.split_once(['x', 'X']) {
        Some((h, w)) => Ok([side(h)?, side(w)?]),
        None => side(text).map(|s| [s, s]),
    }
}

/// Where to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendKind {
    /// burn's flex CPU backend.
    Cpu,
    /// burn-cuda (needs the `cuda` feature and an NVIDIA driver).
    Cuda,
    /// burn-wgpu (needs the `wgpu` feature and a Vulkan, Metal or DirectX 12 adapter; Mesa's
    /// lavapipe is one on the CPU).
    Wgpu,
}

/// The backend options shared by the commands.
#[derive(Args, Debug, Clone)]
struct BackendArgs {
    /// Compute backend.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendKind,
    /// Devices for training, e.g. `cuda:0,cuda:1` (one batch per device and step).
    #[arg(long, value_delimiter = ',')]
    devices: Vec<String>,
}

impl BackendArgs {
    /// CUDA device indices from `--devices` (default: 0), checking the driver first.
    #[cfg(feature = "cuda")]
    fn cuda_devices(&self) -> anyhow::Result<Vec<crate::burn::backend::cuda::CudaDevice>> {
        let indices: Vec<usize> = if self.devices.is_empty() {
            vec![0]
        } else {
            self.devices
                .iter()
                .map(|d| {
                    d.strip_prefix("cuda:")
                        .and_then(|i| i.parse().ok())
                        .ok_or_else(|| anyhow!("--devices: `{d}` is not of the form cuda:N"))
                })
                .collect::<Result<_, _>>()?
        };
        indices
            .into_iter()
            .map(|i| crate::backend::cuda_device(i).map_err(anyhow::Error::from))
            .collect()
    }

    /// Rejects `--devices` for the CPU backend (one device only).
    fn check_cpu(&self) -> anyhow::Result<()> {
        match self.devices.as_slice() {
            [] => Ok(()),
            [d] if d == "cpu" => Ok(()),
            other => bail!(
                "--devices {} needs --backend cuda; the CPU backend has one device",
                other.join(",")
            ),
        }
    }

    /// The wgpu device (burn's default adapter), checking that there is an adapter first;
    /// `--devices` is refused: burn-wgpu computes on one adapter here.
    #[cfg(feature = "wgpu")]
    fn wgpu_devices(&self) -> anyhow::Result<Vec<crate::burn::backend::wgpu::WgpuDevice>> {
        if !self.devices.is_empty() {
            bail!(
                "--devices {} needs --backend cuda; --backend wgpu computes on its default adapter",
                self.devices.join(",")
            );
        }
        Ok(vec![crate::backend::wgpu_device()?])
    }
}

/// Runs `$body` with `$B` bound to the chosen backend and `$devices` to its devices (one for
/// the CPU; `--devices` for CUDA, each checked against the driver first; wgpu's default
/// adapter, checked to exist).
macro_rules! with_backend {
    ($args:expr, $B:ident, $devices:ident => $body:expr) => {{
        let args: &$crate::cli::BackendArgs = $args;
        match args.backend {
            $crate::cli::BackendKind::Cpu => {
                args.check_cpu()?;
                type $B = $crate::backend::Cpu;
                let $devices: Vec<$crate::burn::tensor::Device<$B>> = vec![Default::default()];
                $body
            }
            $crate::cli::BackendKind::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    type $B = $crate::backend::Cuda;
                    let $devices = args.cuda_devices()?;
                    $body
                }
                #[cfg(not(feature = "cuda"))]
                {
                    Err(anyhow::Error::from(
                        $crate::backend::BackendError::NotCompiled { backend: "cuda" },
                    ))
                }
            }
            $crate::cli::BackendKind::Wgpu => {
                #[cfg(feature = "wgpu")]
                {
                    type $B = $crate::backend::Wgpu;
                    let $devices = args.wgpu_devices()?;
                    $body
                }
                #[cfg(not(feature = "wgpu"))]
                {
                    Err(anyhow::Error::from(
                        $crate::backend::BackendError::NotCompiled { backend: "wgpu" },
                    ))
                }
            }
        }
    }};
}
use with_backend;

/// A path for messages.
fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Default run folder: `runs/<model>-<data>`.
fn default_run_dir(model: &str, data: &str) -> PathBuf {
    let data = Path::new(data)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| data.to_string());
    PathBuf::from("runs").join(format!("{model}-{data}"))
}

/// The whole `unet` tool for the given networks, as an expression of type
/// [`std::process::ExitCode`]: every command, with the networks named as given.
///
/// ```no_run
/// use unet::prelude::*;
/// unet!(pub MyNet<depth: 3, base: 8>);
/// unet!(pub Wide<depth: 2, base: 32, in_channels: 3, classes: 4, norm: batch>);
/// fn main() -> std::process::ExitCode {
///     unet::cli!(mynet = MyNet, wide = Wide)
/// }
/// ```
#[macro_export]
macro_rules! cli {
    ($($name:ident = $($net:ident)::+),+ $(,)?) => {
        $crate::cli::Tool::new(
            match ::core::option_env!("CARGO_BIN_NAME") {
                ::core::option::Option::Some(name) => name,
                ::core::option::Option::None => ::core::env!("CARGO_PKG_NAME"),
            },
            ::core::env!("CARGO_PKG_VERSION"),
            ::std::vec![$({
                enum __UnetFamily {}
                impl $crate::cli::Family for __UnetFamily {
                    type Net<B: $crate::burn::tensor::backend::Backend> = $($net)::+<B>;
                    type Train<B: $crate::burn::tensor::backend::AutodiffBackend> = $($net)::+<B>;
                }
                $crate::cli::Model::of::<__UnetFamily>(::core::stringify!($name))
            }),+],
        )
        .run()
    };
}
