//! Training on burn-train's Learner: data loaders, metrics, atomic checkpoints, resume, a time
//! budget, and per-epoch CSV, curves and validation pictures in the run folder.
//!
//! A run folder `runs/NAME/` holds `config.json`, `metrics.csv`, `curves.png`,
//! `samples/epoch-NNN.png`, `best.mpk` and `last.mpk` (model records, written atomically), and
//! burn's own `checkpoint/` (model, optimizer and scheduler of the last epochs, for `--resume`).

mod batch;
pub mod checkpoint;
mod hook;
mod loss;
mod metrics;
mod record;
mod renderer;
mod step;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::module::AutodiffModule;
use burn::optim::AdamConfig;
use burn::tensor::backend::AutodiffBackend;
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::metric::LossMetric;
use burn::train::{
    ExecutionStrategy, InferenceStep, Learner, MultiDeviceOptim, SupervisedTraining, TrainStep,
    TrainingStrategy,
};
use serde::{Deserialize, Serialize};

pub use batch::{AugmentedDataset, SegBatch, SegBatcher};
pub use hook::{read_rows, EpochHook, EpochRow, CSV_HEADER};
pub use loss::{predict_classes, segmentation_loss, LossKind};
pub use metrics::{EpochBoard, EpochRecorder, EpochStats, Score, SegMetric};
pub use record::{promote, AtomicRecorder, CheckpointRecorder};
pub use renderer::LineRenderer;
pub use step::{train_step, valid_step, Preview, SegOutput, SegOutputSync, SegStats};

use crate::data::{Augment, Elastic, Sample};
use crate::infer::imaging::atomic_write;
use crate::network::Network;

/// Everything that defines a run; saved as `config.json` in the run folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Model name in the CLI's registry.
    pub model: String,
    /// `synthetic` or a folder with `image/` and `label/`.
    pub data: String,
    /// Seed of data generation, shuffling, augmentation and initialisation.
    pub seed: u64,
    /// Total epochs (with `--minutes`, an upper bound).
    pub epochs: usize,
    /// Time budget in minutes: when it runs out, the epoch's training ends early, its
    /// validation and checkpoint run, and training stops.
    pub minutes: Option<f64>,
    /// Batch size.
    pub batch: usize,
    /// Side of the square training crops (the network's input size).
    pub crop: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// The loss.
    pub loss: LossKind,
    /// Fraction of the samples held out for validation (by file order, the last ones).
    pub val_split: f64,
    /// Random flips and 90-degree rotations.
    pub flip: bool,
    /// Elastic deformation (the paper's augmentation).
    pub elastic: bool,
    /// Training items (augmented draws) per epoch; 0 = one pass over the samples.
    pub epoch_size: usize,
    /// Data loader worker threads.
    pub workers: usize,
}

impl TrainConfig {
    /// Parses a `config.json`.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The `config.json` text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("config serialises")
    }
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A setting does not fit the model or data.
    #[error("{0}")]
    Config(String),
    /// `--resume` with nothing to resume from.
    #[error("nothing to resume in {dir}: no complete checkpoint (model, optim and scheduler) in {dir}/checkpoint")]
    NothingToResume {
        /// The run folder.
        dir: String,
    },
    /// Writing the run folder failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    /// Every epoch's row, including those of earlier runs when resuming.
    pub rows: Vec<EpochRow>,
    /// Problems writing per-epoch outputs (training itself went on).
    pub warnings: Vec<String>,
    /// The run folder.
    pub run_dir: PathBuf,
}

/// The newest epoch whose model, optimizer and scheduler checkpoints all exist.
pub fn last_complete_checkpoint(run_dir: &Path) -> Option<usize> {
    let dir = run_dir.join("checkpoint");
    let epochs = std::fs::read_dir(&dir).ok()?.filter_map(|e| {
        let name = e.ok()?.file_name().into_string().ok()?;
        name.strip_prefix("model-")?
            .strip_suffix(".mpk")?
            .parse::<usize>()
            .ok()
    });
    epochs
        .filter(|e| {
            ["optim", "scheduler"]
                .iter()
                .all(|k| dir.join(format!("{k}-{e}.mpk")).exists())
        })
        .max()
}

/// The augmentation a configuration asks for, cropping to the network's input size.
pub fn augmentation(config: &TrainConfig) -> Augment {
    Augment {
        crop: Some(config.crop),
        flip: config.flip,
        rot90: config.flip,
        elastic: config.elastic.then(Elastic::default),
    }
}

/// Trains `N` on `train`, validating on `valid`, in `run_dir`. With `resume`, continues from
/// the newest complete checkpoint there. `devices` with more than one entry use burn's
/// multi-device data-parallel strategy.
pub fn fit<B, N>(
    config: &TrainConfig,
    run_dir: &Path,
    devices: &[B::Device],
    resume: bool,
    train: Vec<Sample>,
    valid: Vec<Sample>,
) -> Result<TrainSummary, TrainError>
where
    B: AutodiffBackend,
    N: Network<B> + AutodiffModule<B> + TrainStep<Input = SegBatch<B>, Output = SegOutput<B>>,
    N::InnerModule: Network<B::InnerBackend>
        + InferenceStep<Input = SegBatch<B::InnerBackend>, Output = SegOutput<B::InnerBackend>>,
{
    config.loss.check(N::CLASSES).map_err(TrainError::Config)?;
    if train.is_empty() || valid.is_empty() {
        return Err(TrainError::Config(format!(
            "need at least one training and one validation sample, got {} and {}",
            train.len(),
            valid.len()
        )));
    }
    if !N::fits(config.crop) {
        let (below, above) = crate::geometry::nearest_valid(N::DEPTH, N::PADDING, config.crop);
        return Err(TrainError::Config(format!(
            "--crop {} does not fit model {} (depth {}, {:?} padding); nearest valid: {}",
            config.crop,
            config.model,
            N::DEPTH,
            N::PADDING,
            crate::geometry::nearest_text(below, above)
        )));
    }
    let device = devices
        .first()
        .cloned()
        .ok_or_else(|| TrainError::Config("no device given".into()))?;
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |e: std::io::Error| TrainError::Io {
            path,
            message: e.to_string(),
        }
    };
    std::fs::create_dir_all(run_dir).map_err(io(run_dir))?;

    let start = if resume {
        Some(
            last_complete_checkpoint(run_dir).ok_or_else(|| TrainError::NothingToResume {
                dir: run_dir.display().to_string(),
            })?,
        )
    } else {
        None
    };
    let config_path = run_dir.join("config.json");
    atomic_write(&config_path, config.to_json().as_bytes()).map_err(io(&config_path))?;

    B::seed(&device, config.seed);
    let items = if config.epoch_size == 0 {
        train.len()
    } else {
        config.epoch_size
    };
    let deadline = config
        .minutes
        .map(|m| std::time::Instant::now() + Duration::from_secs_f64(m * 60.0));
    let mut train_set =
        AugmentedDataset::new(Arc::new(train), augmentation(config), config.seed, items);
    if let Some(deadline) = deadline {
        // The epoch in which the budget runs out ends early; its validation and save still run.
        train_set = train_set.with_deadline(deadline, config.batch);
    }
    // Validation sees whole images when they share a size the network takes; otherwise the
    // middle crop of the training crop size (mirror-padded if smaller).
    let (h, w) = (valid[0].image.height, valid[0].image.width);
    let whole = N::fits(h)
        && N::fits(w)
        && valid
            .iter()
            .all(|s| (s.image.height, s.image.width) == (h, w));
    let valid: Vec<Sample> = if whole {
        valid
    } else {
        valid
            .iter()
            .map(|s| crate::data::center_crop(s, config.crop))
            .collect()
    };
    let mut loader_train = DataLoaderBuilder::new(SegBatcher::new(config.loss, false))
        .batch_size(config.batch)
        .shuffle(config.seed);
    // Worker threads prefetch a whole epoch ahead of training, which would defeat the deadline;
    // under a time budget, items are made on demand (augmentation is cheap next to a step).
    if deadline.is_none() && config.workers > 0 {
        loader_train = loader_train.num_workers(config.workers);
    }
    let loader_train = loader_train.build(train_set);
    let loader_valid =
        DataLoaderBuilder::<B::InnerBackend, _, _>::new(SegBatcher::new(config.loss, true))
            .batch_size(config.batch)
            .build(InMemDataset::new(valid));

    let board = EpochBoard::default();
    let first_epoch = start.map_or(1, |e| e + 1);
    let previous = read_rows(&run_dir.join("metrics.csv"), first_epoch - 1);
    let hook = EpochHook::new(
        run_dir,
        board.clone(),
        first_epoch,
        previous,
        deadline,
        N::CLASSES,
    );

    let mut training = SupervisedTraining::new(run_dir, loader_train, loader_valid)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .metrics((
            SegMetric::new(Score::Dice),
            SegMetric::new(Score::Iou),
            SegMetric::new(Score::PixelAccuracy),
        ))
        .metric_train(EpochRecorder::new(board.clone(), false, 0))
        .metric_valid(EpochRecorder::new(board, true, 4))
        .with_file_checkpointer(CheckpointRecorder::default())
        .with_checkpointing_strategy(KeepLastNCheckpoints::new(2))
        .early_stopping(hook.clone())
        .num_epochs(config.epochs)
        .with_application_logger(None);
    if !std::io::stdout().is_terminal() {
        training = training.renderer(LineRenderer::new(Duration::from_secs(10)));
    }
    if let Some(epoch) = start {
        training = training.checkpoint(epoch);
    }
    if devices.len() > 1 {
        training = training.with_training_strategy(TrainingStrategy::Default(
            ExecutionStrategy::MultiDevice(devices.to_vec(), MultiDeviceOptim::OptimMainDevice),
        ));
    }
    let model = N::init(&device);
    let optim = AdamConfig::new().with_epsilon(1e-8).init();
    let _ = training.launch(Learner::new(model, optim, config.lr));
    let (rows, warnings) = hook.finish();
    Ok(TrainSummary {
        rows,
        warnings,
        run_dir: run_dir.to_path_buf(),
    })
}
