//! `unet train`.

use std::path::PathBuf;

use clap::Args;
use unet::burn::backend::Autodiff;
use unet::data::{self, MaskMode, Sample};
use unet::train::{self, LossKind, TrainConfig};
use unet::Network;

use super::models::with_model;
use super::{default_run_dir, shown, with_backend, BackendArgs, CliError};

/// Side of the default synthetic images and of the crops of folder data.
const SYNTHETIC_SIZE: usize = 64;
/// Folder data: 128-pixel crops give four times the optimizer steps of 256-pixel ones for the
/// same compute, which is what short CPU runs lack (measured on ISBI 2012, see BENCHMARKS.md).
const FOLDER_CROP: usize = 128;
const DEFAULT_EPOCHS: usize = 3;
/// Mixed into the seed of the synthetic validation images, so they differ from training's.
const VALID_SEED: u64 = 0x05ee_d0f5_a11d;

/// Options of `unet train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Model name (see `unet models`).
    #[arg(long, default_value = "small")]
    model: String,
    /// `synthetic` (generated shapes) or a folder with `image/*.png` and `label/*.png`.
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
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Loss: bce, ce, dice or bce+dice [default: bce for 1-class models, ce otherwise].
    #[arg(long, value_parser = parse_loss)]
    loss: Option<LossKind>,
    /// Fraction of a folder's images held out for validation (the last ones by file name).
    #[arg(long, default_value_t = 0.2)]
    val_split: f64,
    /// Turn off flips and 90-degree rotations.
    #[arg(long)]
    no_flip: bool,
    /// Elastic deformation, the paper's augmentation for small datasets.
    #[arg(long)]
    elastic: bool,
    /// Training crops per epoch [default: 1024 for synthetic data; 16 per image for folders].
    #[arg(long)]
    epoch_size: Option<usize>,
    /// Number of synthetic training images (validation gets a quarter, from another seed).
    #[arg(long, default_value_t = 2048)]
    synthetic_count: usize,
    /// Data loader threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Run folder [default: runs/<model>-<data>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in the run folder from its last checkpoint.
    #[arg(long)]
    resume: bool,
    #[command(flatten)]
    backend: BackendArgs,
}

fn parse_loss(text: &str) -> Result<LossKind, String> {
    LossKind::parse(text)
        .ok_or_else(|| format!("unknown loss `{text}` (expected bce, ce, dice or bce+dice)"))
}

fn load_data(
    config: &TrainConfig,
    channels: usize,
    classes: usize,
    synthetic_count: usize,
) -> Result<(Vec<Sample>, Vec<Sample>), CliError> {
    if config.data == "synthetic" {
        let valid_count = (synthetic_count / 4).max(16);
        let train = data::generate(config.seed, synthetic_count, config.crop, channels);
        let valid = data::generate(config.seed ^ VALID_SEED, valid_count, config.crop, channels);
        return Ok((train, valid));
    }
    let mode = if classes <= 2 {
        MaskMode::Binary
    } else {
        MaskMode::Indexed { classes }
    };
    let samples = data::load_folder(std::path::Path::new(&config.data), channels, mode)?;
    let (train, valid) = data::split_validation(samples, config.val_split);
    if valid.is_empty() {
        return Err(CliError(format!(
            "{}: {} image(s) leave nothing for validation with --val-split {}",
            config.data,
            train.len(),
            config.val_split
        )));
    }
    Ok((train, valid))
}

/// Runs `unet train`.
pub fn run(args: &TrainArgs) -> Result<(), CliError> {
    with_model!(args.model.as_str(), N => train_model::<N<unet::backend::Cpu>>(args, |config, run_dir, train, valid| {
        with_backend!(&args.backend, B, devices => {
            train::fit::<Autodiff<B>, N<Autodiff<B>>>(config, run_dir, &devices, args.resume, train, valid).map_err(CliError::from)
        })
    }))
}

fn train_model<N: Network<unet::backend::Cpu>>(
    args: &TrainArgs,
    fit: impl FnOnce(
        &TrainConfig,
        &std::path::Path,
        Vec<Sample>,
        Vec<Sample>,
    ) -> Result<train::TrainSummary, CliError>,
) -> Result<(), CliError> {
    let run_dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_run_dir(&args.model, &args.data));
    let config = if args.resume {
        let path = run_dir.join("config.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError(format!("--resume: cannot read {}: {e}", shown(&path))))?;
        let mut saved = TrainConfig::from_json(&text).map_err(|e| {
            CliError(format!(
                "--resume: {} is not a unet run config: {e}",
                shown(&path)
            ))
        })?;
        if saved.model != args.model {
            return Err(CliError(format!(
                "--resume: {} was trained as model `{}`, not `{}`",
                shown(&run_dir),
                saved.model,
                args.model
            )));
        }
        if let Some(e) = args.epochs {
            saved.epochs = e;
            saved.minutes = None;
        }
        if let Some(m) = args.minutes {
            saved.minutes = Some(m);
            saved.epochs = 1_000_000;
        }
        saved
    } else {
        if run_dir.join("config.json").exists() {
            return Err(CliError(format!(
                "{} already holds a run: pass --resume to continue it, or --out for a new one",
                shown(&run_dir)
            )));
        }
        let synthetic = args.data == "synthetic";
        if !synthetic && !std::path::Path::new(&args.data).is_dir() {
            return Err(CliError(format!(
                "--data {}: no such folder (use `synthetic` or a folder with image/ and label/)",
                args.data
            )));
        }
        let crop = N::fitting_size(args.crop.unwrap_or(if synthetic {
            SYNTHETIC_SIZE + N::MARGIN
        } else {
            FOLDER_CROP
        }));
        if let Some(m) = args.minutes.filter(|m| m.is_nan() || *m <= 0.0) {
            return Err(CliError(format!("--minutes {m}: must be positive")));
        }
        if args.batch == 0 || args.epochs == Some(0) {
            return Err(CliError("--batch and --epochs must be at least 1".into()));
        }
        TrainConfig {
            model: args.model.clone(),
            data: args.data.clone(),
            seed: args.seed,
            epochs: if args.minutes.is_some() {
                1_000_000
            } else {
                args.epochs.unwrap_or(DEFAULT_EPOCHS)
            },
            minutes: args.minutes,
            batch: args.batch,
            crop,
            lr: args.lr,
            loss: args.loss.unwrap_or(LossKind::default_for(N::CLASSES)),
            val_split: args.val_split,
            flip: !args.no_flip,
            elastic: args.elastic,
            epoch_size: args.epoch_size.unwrap_or(if synthetic { 1024 } else { 0 }),
            workers: args.workers,
        }
    };
    config.loss.check(N::CLASSES).map_err(CliError)?;
    let (train, valid) = load_data(&config, N::IN_CHANNELS, N::CLASSES, args.synthetic_count)?;
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
        unet::group_thousands(N::PARAMS),
        config.data,
        train.len(),
        valid.len(),
        config.crop,
        config.crop,
        shown(&run_dir)
    );
    let summary = fit(&config, &run_dir, train, valid)?;
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    let best = summary.rows.iter().max_by(|a, b| a.dice.total_cmp(&b.dice));
    let dir = shown(&summary.run_dir);
    match (summary.rows.last(), best) {
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
