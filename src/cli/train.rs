//! `train`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use super::{default_run_dir, shown, with_backend, BackendArgs, Family};
use crate::burn::backend::Autodiff;
use crate::data::{self, BorderWeight, Sample};
use crate::train::cluster::{Cluster, Group, Launch};
use crate::train::{
    Choice, LossKind, OptimizerKind, ProgressDisplay, Schedule, TrainConfig, TrainError, Training,
};
use crate::Network;

/// Side of the default synthetic images and of the crops of folder data.
const SYNTHETIC_SIZE: usize = 64;
/// Folder data: 128-pixel crops give four times the optimizer steps of 256-pixel ones for the
/// same compute, which is what short CPU runs lack (measured on ISBI 2012, see BENCHMARKS.md).
const FOLDER_CROP: usize = 128;
const DEFAULT_EPOCHS: usize = 3;
/// The epoch limit of a run bounded by `--minutes` alone.
const UNBOUNDED_EPOCHS: usize = 1_000_000;
/// Mixed into the seed of the synthetic validation images, so they differ from training's.
const VALID_SEED: u64 = 0x05ee_d0f5_a11d;

/// Options of `unet train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Model name (see `models`) [default: the first].
    #[arg(long)]
    pub(super) model: Option<String>,
    /// `synthetic` (generated shapes) or a folder with `image/` and `label/` (PNG, JPEG, TIFF
    /// incl. multi-page stacks, BMP, GIF, WebP; masks paired by file name without extension).
    #[arg(long, default_value = "synthetic")]
    data: String,
    /// Seed of data, shuffling, augmentation and initialisation.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of epochs [default: 3].
    #[arg(long, conflicts_with = "minutes")]
    epochs: Option<usize>,
    /// Time budget: train until it is spent, finishing the epoch's validation, then save.
    #[arg(long)]
    minutes: Option<f64>,
    /// Batch size.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Side of the square training crops [default: 64 for synthetic data, 128 for folders,
    /// moved to the nearest size the model accepts].
    #[arg(long)]
    crop: Option<usize>,
    /// Peak learning rate [default: 1e-3 for adam and adamw, 1e-2 for sgd]; with --resume,
    /// the run goes on at this rate.
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// How the rate moves over the run (over the time budget with --minutes): constant,
    /// cosine (down to 0) or poly (nnU-Net's `lr * (1 - progress)^0.9`) [default: constant].
    #[arg(long, value_parser = parse_choice::<Schedule>)]
    schedule: Option<Schedule>,
    /// Fraction of the run over which the rate rises linearly from 0 first [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    warmup: Option<f64>,
    /// Optimizer: adam, adamw, or sgd (Nesterov momentum 0.99, as nnU-Net) [default: adam].
    #[arg(long, value_parser = parse_choice::<OptimizerKind>, conflicts_with = "resume")]
    optimizer: Option<OptimizerKind>,
    /// L2 weight decay, decoupled for adamw [default: 0.01 for adamw, 0 otherwise].
    #[arg(long, allow_negative_numbers = true)]
    weight_decay: Option<f64>,
    /// Stop when the validation Dice has not improved for this many epochs.
    #[arg(long)]
    patience: Option<usize>,
    /// Loss: bce, ce, dice, bce+dice (also dice+ce: nnU-Net's), focal (gamma 2) or tversky
    /// (FP 0.3, FN 0.7) [default: bce for 1-class models, ce otherwise].
    #[arg(long, value_parser = parse_loss)]
    loss: Option<LossKind>,
    /// The U-Net paper's weight map on the cross-entropy, `w0,sigma` (the paper: `10,5`):
    /// background pixels between two objects weigh up to w0 more.
    #[arg(long, value_parser = parse_border, conflicts_with = "resume")]
    border_weight: Option<BorderWeight>,
    /// One loss weight per class, comma-separated (two for a 1-class model: background,
    /// foreground; one per label with --multi-label), e.g. `1,5`.
    #[arg(long, value_parser = parse_class_weights, conflicts_with = "resume")]
    class_weights: Option<ClassWeights>,
    /// A mask value whose pixels are left out of the loss and the scores (an unlabelled
    /// region), as stored in the mask files: e.g. 255, or 128 in 0/255 masks. Models of at
    /// most 255 classes; folder data only.
    #[arg(long, conflicts_with = "resume")]
    ignore_label: Option<u16>,
    /// Multi-label masks: several labels per pixel, one sigmoid per output channel. The data
    /// folder holds one mask folder per label, `label/<name>/<image stem>.png`, as many as
    /// the model's classes (label 0 is the first name in sorted order).
    #[arg(long, conflicts_with = "resume")]
    multi_label: bool,
    /// Fraction of a folder's images held out for validation (the last ones by file name).
    #[arg(long, default_value_t = 0.2)]
    val_split: f64,
    /// Turn off flips and 90-degree rotations.
    #[arg(long)]
    no_flip: bool,
    /// Elastic deformation, the paper's augmentation for small datasets.
    #[arg(long)]
    elastic: bool,
    /// Validate with test-time augmentation (the Dice of mirrored inputs' mean logits).
    #[arg(long)]
    tta: bool,
    /// Intensity augmentation: random brightness, contrast, gamma, Gaussian noise and blur,
    /// each with nnU-Net's probability.
    #[arg(long)]
    intensity: bool,
    /// Training crops per epoch [default: 1024 for synthetic data; 16 per image for folders].
    #[arg(long)]
    epoch_size: Option<usize>,
    /// Number of synthetic training images (validation gets a quarter, from another seed).
    #[arg(long, default_value_t = 2048)]
    synthetic_count: usize,
    /// Batches prepared ahead of the training step on another thread (0: in the loop).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Run folder [default: runs/<model>-<data>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in the run folder from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Start over in a run folder that holds a run, replacing its files (a folder holding
    /// anything else is still refused).
    #[arg(long, conflicts_with = "resume")]
    force: bool,
    #[command(flatten)]
    nodes: NodeArgs,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Data-parallel training across processes (one per node): each flag falls back on the
/// variables launchers set (torchrun's `WORLD_SIZE`, `RANK`, `MASTER_ADDR`, `MASTER_PORT`;
/// Slurm's `SLURM_NTASKS`, `SLURM_PROCID`).
#[derive(Args, Debug)]
struct NodeArgs {
    /// Processes training together, one per node [default: WORLD_SIZE, SLURM_NTASKS or 1].
    /// Nodes other than 0 take node 0's settings and data path and write nothing.
    #[arg(long)]
    nodes: Option<usize>,
    /// This process's rank among them; node 0 writes the run [default: RANK or SLURM_PROCID].
    #[arg(long)]
    node_rank: Option<usize>,
    /// HOST:PORT where node 0 listens [default: MASTER_ADDR:MASTER_PORT, port 29500].
    #[arg(long)]
    coordinator: Option<String>,
    /// Seconds a node waits for another (to join, for a step, for node 0's validation)
    /// before it ends with an error.
    #[arg(long, default_value_t = 300)]
    node_timeout: u64,
}

impl NodeArgs {
    /// The group this process belongs to, or `None` to train alone.
    fn cluster(&self) -> anyhow::Result<Option<Cluster>> {
        let launch = Launch::from_env(|name| std::env::var(name).ok())?;
        let nodes = self.nodes.or(launch.nodes).unwrap_or(1);
        if nodes <= 1 {
            return Ok(None);
        }
        let Some(rank) = self.node_rank.or(launch.rank) else {
            bail!("--nodes {nodes} needs --node-rank (or RANK, or SLURM_PROCID)");
        };
        let Some(coordinator) = self.coordinator.clone().or(launch.coordinator) else {
            bail!("--nodes {nodes} needs --coordinator HOST:PORT (or MASTER_ADDR)");
        };
        if rank >= nodes {
            bail!("--node-rank {rank}: expected below --nodes {nodes}");
        }
        Ok(Some(
            Cluster::new(nodes, rank, coordinator)?
                .with_timeout(Duration::from_secs(self.node_timeout)),
        ))
    }
}

/// A [`Choice`] from its name, or the names there are.
fn parse_choice<C: Choice>(text: &str) -> Result<C, String> {
    C::parse(text).ok_or_else(|| {
        format!(
            "unknown {} `{text}` (expected {})",
            C::WHAT,
            C::NAMES.join(", ")
        )
    })
}

fn parse_loss(text: &str) -> Result<LossKind, String> {
    LossKind::parse(text).ok_or_else(|| {
        format!(
            "unknown loss `{text}` (expected {})",
            LossKind::NAMES.join(", ")
        )
    })
}

/// `w0,sigma`.
fn parse_border(text: &str) -> Result<BorderWeight, String> {
    match parse_weights(text)?.as_slice() {
        &[w0, sigma] => Ok(BorderWeight {
            w0: w0 as f32,
            sigma: sigma as f32,
        }),
        _ => Err(format!(
            "`{text}` is not two numbers w0,sigma (the paper's: 10,5)"
        )),
    }
}

/// `--class-weights`' numbers, one value for clap (a `Vec` would be read as several).
#[derive(Clone, Debug)]
struct ClassWeights(Vec<f64>);

fn parse_class_weights(text: &str) -> Result<ClassWeights, String> {
    parse_weights(text).map(ClassWeights)
}

/// Comma-separated numbers.
fn parse_weights(text: &str) -> Result<Vec<f64>, String> {
    text.split(',')
        .map(|w| {
            w.trim()
                .parse::<f64>()
                .map_err(|_| format!("`{w}` in `{text}` is not a number"))
        })
        .collect()
}

fn load_data(
    config: &TrainConfig,
    channels: usize,
    classes: usize,
    synthetic_count: usize,
) -> anyhow::Result<(Vec<Sample>, Vec<Sample>)> {
    if config.data == "synthetic" {
        let valid_count = (synthetic_count / 4).max(16);
        super::synthetic_fits(
            synthetic_count.saturating_add(valid_count),
            config.crop,
            channels,
            &format!(
                "--synthetic-count {synthetic_count} at --crop {}",
                config.crop
            ),
        )?;
        let train = data::generate(config.seed, synthetic_count, config.crop, channels);
        let valid = data::generate(config.seed ^ VALID_SEED, valid_count, config.crop, channels);
        return Ok((train, valid));
    }
    let folder = data::read_folder(Path::new(&config.data), channels, config.masks(classes))?;
    if let Some(labels) = config.labels.as_ref().filter(|l| **l != folder.labels) {
        bail!(
            "{}: the run's labels are {labels:?}, and label/ now holds {:?}",
            config.data,
            folder.labels
        );
    }
    for note in &folder.notes {
        eprintln!("note: {note}");
    }
    let (train, valid) = data::split_validation(folder.samples, config.val_split);
    if valid.is_empty() {
        bail!(
            "{}: {} image(s) leave nothing for validation with --val-split {}",
            config.data,
            train.len(),
            config.val_split
        );
    }
    Ok((train, valid))
}

/// The labels of the data folder `dir` for `--multi-label`: one mask folder per output
/// channel of `N`.
fn folder_labels<N: Network<B>, B: crate::burn::tensor::backend::Backend>(
    dir: &Path,
) -> anyhow::Result<Vec<String>> {
    let labels = data::label_names(dir)?;
    if labels.len() != N::CLASSES || labels.len() > data::MAX_LABELS {
        bail!(
            "--multi-label: {} holds {} label folder(s) {labels:?}, and model `{}` has {} output channel(s): one folder per label, at most {}",
            shown(&dir.join("label")),
            labels.len(),
            N::NAME,
            N::CLASSES,
            data::MAX_LABELS
        );
    }
    Ok(labels)
}

/// The library's setting names as the flags that set them.
fn flagged(error: TrainError) -> anyhow::Error {
    match error {
        TrainError::Setting {
            setting,
            value,
            expected,
        } => anyhow::anyhow!(
            "--{} {value}: expected {expected}",
            setting.replace('_', "-")
        ),
        // Each message starts with the setting's name.
        TrainError::Loss(e) => {
            let text = e.to_string();
            let (setting, rest) = text.split_once(' ').unwrap_or((&text, ""));
            anyhow::anyhow!("--{} {rest}", setting.replace('_', "-"))
        }
        TrainError::RunExists { dir } => anyhow::anyhow!(
            "--out {} already holds a run: pass --resume to continue it, --force to start over, or another --out",
            shown(&dir)
        ),
        TrainError::NotARunFolder { dir, found } => anyhow::anyhow!(
            "--out {} holds {}, which is not a file of a run: pass a new or empty folder",
            shown(&dir),
            shown(&found)
        ),
        // The library's time limit is the flag here.
        TrainError::Cluster(e) => {
            anyhow::anyhow!(e.to_string().replace("the `timeout` setting", "--node-timeout"))
        }
        other => other.into(),
    }
}

/// A flag that the first SIGINT or SIGTERM sets, so the run stops after the step under way
/// and saves a resumable checkpoint; a second signal ends the process at once.
fn stop_on_signal() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    // Fails only if a handler is already installed (a tool that trains twice in one process):
    // the first one's flag then goes on stopping nothing, and the signal keeps its default.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("stopping after the current step (press Ctrl-C again to quit at once)");
    });
    stop
}

/// Runs `train` for the network family `F` registered as `name`.
pub(super) fn run<F: Family>(args: &TrainArgs, name: &str) -> anyhow::Result<()> {
    type Cpu = crate::backend::Cpu;
    let cluster = args.nodes.cluster()?;
    if let Some(cluster) = cluster.as_ref().filter(|c| c.rank() > 0) {
        return follow::<F>(args, name, cluster);
    }
    let run_dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_run_dir(name, &args.data));
    // Before any data is read: a folder the run could not be written into is refused now.
    crate::train::claim(&run_dir, args.resume, args.force).map_err(flagged)?;
    let config = configure::<F::Net<Cpu>, Cpu>(args, name, &run_dir)?;
    config.check::<Cpu, F::Net<Cpu>, 4>().map_err(flagged)?;
    let (train, valid) = load_data(
        &config,
        <F::Net<Cpu> as Network<Cpu>>::IN_CHANNELS,
        <F::Net<Cpu> as Network<Cpu>>::CLASSES,
        args.synthetic_count,
    )?;
    let config = TrainConfig {
        epoch_size: if config.epoch_size == 0 {
            16 * train.len()
        } else {
            config.epoch_size
        },
        ..config
    };
    println!(
        "training {} ({} parameters) on {} ({} train / {} validation images, crops {}x{}) into {}",
        config.model,
        crate::group_thousands(<F::Net<Cpu> as Network<Cpu>>::PARAMS),
        config.data,
        train.len(),
        valid.len(),
        config.crop,
        config.crop,
        shown(&run_dir)
    );
    let epochs = config.epochs;
    let group = match &cluster {
        Some(cluster) => Some(lead(cluster, &config, args.synthetic_count)?),
        None => None,
    };
    let stop = stop_on_signal();
    let summary = with_backend!(&args.backend, B, devices => {
        let training = Training::<Autodiff<B>>::new(config, &run_dir)
            .devices(devices)
            .resume(args.resume)
            .replace(args.force)
            .stop_when(stop.clone())
            .observe(ProgressDisplay::new(epochs));
        match group {
            Some(group) => training.cluster(group),
            None => training,
        }
        .fit::<F::Train<Autodiff<B>>>(train, valid)
        .map_err(flagged)
    })?;
    let dir = shown(&summary.run_dir);
    if summary.interrupted {
        let epoch = summary.rows.last().map_or(0, |r| r.epoch);
        println!("interrupted: epoch {epoch} was cut short, validated and checkpointed in {dir}");
        println!("  resume with: unet train --out {dir} --resume");
        return Err(super::Interrupted.into());
    }
    if summary.stopped_early {
        let best = summary.best().map_or(0, |r| r.epoch);
        println!("stopped early: no better validation Dice since epoch {best}");
    }
    match (summary.rows.last(), summary.best()) {
        (Some(last), Some(best)) => {
            println!(
                "done: {} epochs in {:.0}s; best epoch {} (valid Dice {:.4}, IoU {:.4}, pixel accuracy {:.4})",
                last.epoch, last.seconds, best.epoch, best.dice, best.iou, best.pixel_accuracy
            );
            println!("  checkpoints: {dir}/best.mpk, {dir}/last.mpk; metrics: {dir}/metrics.csv; curves: {dir}/curves.png");
        }
        _ => println!("done: no epoch finished"),
    }
    Ok(())
}

/// Node 0: waits for the other nodes, then sends them the run's configuration and synthetic
/// image count, so every node trains the same run whatever flags it was given.
fn lead(cluster: &Cluster, config: &TrainConfig, synthetic_count: usize) -> anyhow::Result<Group> {
    println!(
        "node 0 of {}: waiting for the others at {} (up to {} s)",
        cluster.nodes(),
        cluster.coordinator(),
        cluster.timeout().as_secs()
    );
    let mut group = cluster.connect()?;
    let mut shared = (synthetic_count as u64).to_le_bytes().to_vec();
    shared.extend(config.to_json().into_bytes());
    group.broadcast(shared)?;
    println!("all {} nodes joined", cluster.nodes());
    Ok(group)
}

/// A node other than 0: joins the group, takes node 0's configuration, reads the same data and
/// trains its part of every step; node 0 writes the run.
fn follow<F: Family>(args: &TrainArgs, name: &str, cluster: &Cluster) -> anyhow::Result<()> {
    type Cpu = crate::backend::Cpu;
    let (rank, nodes) = (cluster.rank(), cluster.nodes());
    println!(
        "node {rank} of {nodes}: joining {} (up to {} s)",
        cluster.coordinator(),
        cluster.timeout().as_secs()
    );
    let mut group = cluster.connect()?;
    let shared = group.broadcast(Vec::new())?;
    let (count, text) = shared
        .split_at_checked(8)
        .context("node 0 sent no configuration")?;
    let synthetic_count = usize::try_from(u64::from_le_bytes(count.try_into()?))?;
    let config = TrainConfig::from_json(std::str::from_utf8(text)?)
        .context("node 0 sent a configuration this node cannot read")?;
    if config.model != name {
        bail!("--model {name}: node 0 trains `{}`", config.model);
    }
    let (train, valid) = load_data(
        &config,
        <F::Net<Cpu> as Network<Cpu>>::IN_CHANNELS,
        <F::Net<Cpu> as Network<Cpu>>::CLASSES,
        synthetic_count,
    )?;
    println!(
        "node {rank} of {nodes}: training on {} ({} images); node 0 writes the run",
        config.data,
        train.len()
    );
    let run_dir = default_run_dir(name, &config.data);
    let stop = stop_on_signal();
    let summary = with_backend!(&args.backend, B, devices => {
        Training::<Autodiff<B>>::new(config, &run_dir)
            .devices(devices)
            .stop_when(stop.clone())
            .cluster(group)
            .fit::<F::Train<Autodiff<B>>>(train, valid)
            .map_err(flagged)
    })?;
    if summary.interrupted {
        println!("node {rank} of {nodes}: interrupted; node 0 checkpointed the run");
        return Err(super::Interrupted.into());
    }
    println!("node {rank} of {nodes}: done");
    Ok(())
}

/// The run's configuration: the saved one with `--epochs`/`--minutes`/`--lr` and the
/// schedule's, decay's, patience's and --tta's flags applied when resuming, else one from the flags.
fn configure<N: Network<B>, B: crate::burn::tensor::backend::Backend>(
    args: &TrainArgs,
    name: &str,
    run_dir: &Path,
) -> anyhow::Result<TrainConfig> {
    if args.resume {
        let path = run_dir.join("config.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("--resume: cannot read {}", shown(&path)))?;
        let mut saved = TrainConfig::from_json(&text)
            .with_context(|| format!("--resume: {} is not a unet run config", shown(&path)))?;
        if saved.model != name {
            bail!(
                "--resume: {} was trained as model `{}`, not `{name}`",
                shown(run_dir),
                saved.model
            );
        }
        if let Some(e) = args.epochs {
            saved.epochs = e;
            saved.minutes = None;
        }
        if let Some(lr) = args.lr {
            saved.lr = lr;
        }
        saved.schedule = args.schedule.unwrap_or(saved.schedule);
        saved.warmup = args.warmup.unwrap_or(saved.warmup);
        saved.weight_decay = args.weight_decay.or(saved.weight_decay);
        saved.patience = args.patience.or(saved.patience);
        if args.tta {
            saved.tta = crate::infer::tta::Tta::Mirror;
        }
        if let Some(m) = args.minutes {
            saved.minutes = Some(m);
            saved.epochs = UNBOUNDED_EPOCHS;
        }
        return Ok(saved);
    }
    let synthetic = args.data == "synthetic";
    if synthetic && args.ignore_label.is_some() {
        bail!("--ignore-label needs --data FOLDER: synthetic masks leave no pixel out");
    }
    if synthetic && args.multi_label {
        bail!("--multi-label needs --data FOLDER with one mask folder per label: synthetic masks are classes");
    }
    if !synthetic && !Path::new(&args.data).is_dir() {
        bail!(
            "--data {}: no such folder (use `synthetic` or a folder with image/ and label/)",
            args.data
        );
    }
    let labels = if args.multi_label {
        Some(folder_labels::<N, B>(Path::new(&args.data))?)
    } else {
        None
    };
    let optimizer = args.optimizer.unwrap_or_default();
    let crop = N::fitting_size(args.crop.unwrap_or(if synthetic {
        SYNTHETIC_SIZE + N::MARGIN
    } else {
        FOLDER_CROP
    }));
    Ok(TrainConfig::new(name)
        .with_data(args.data.clone())
        .with_seed(args.seed)
        .with_epochs(if args.minutes.is_some() {
            UNBOUNDED_EPOCHS
        } else {
            args.epochs.unwrap_or(DEFAULT_EPOCHS)
        })
        .with_minutes(args.minutes)
        .with_batch(args.batch)
        .with_crop(crop)
        .with_optimizer(optimizer)
        .with_lr(args.lr.unwrap_or(optimizer.default_lr()))
        .with_schedule(args.schedule.unwrap_or_default())
        .with_warmup(args.warmup.unwrap_or(0.0))
        .with_weight_decay(args.weight_decay)
        .with_patience(args.patience)
        .with_loss(args.loss)
        .with_class_weights(args.class_weights.clone().map(|w| w.0))
        .with_border_weight(args.border_weight)
        .with_ignore_label(args.ignore_label)
        .with_labels(labels)
        .with_val_split(args.val_split)
        .with_flip(!args.no_flip)
        .with_elastic(args.elastic)
        .with_intensity(args.intensity)
        .with_tta(crate::infer::tta::Tta::mirror_if(args.tta))
        .with_epoch_size(args.epoch_size.unwrap_or(if synthetic { 1024 } else { 0 }))
        .with_workers(args.workers))
}
