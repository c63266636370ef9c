//! The typed configuration of a run, with defaults, saved as `config.json` in the run folder.

use serde::{Deserialize, Serialize};

use super::fit::TrainError;
use super::loss::{Loss, LossKind};
use super::schedule::{OptimizerKind, Schedule};
use crate::data::{BorderWeight, MaskMode, MaskSpec, Targets, MAX_LABELS};
use crate::infer::tta::Tta;
use crate::network::Network;

/// The largest crop side: a 3D crop of this side is already 256 GiB of floats.
pub const MAX_CROP: usize = 4096;

/// Most batches prepared ahead ([`TrainConfig::workers`]).
pub const MAX_WORKERS: usize = 64;
/// Most draws per epoch ([`TrainConfig::epoch_size`]).
pub const MAX_EPOCH_SIZE: usize = 10_000_000;

/// Everything that defines a run; saved as `config.json` in the run folder. Build it with
/// [`TrainConfig::new`] and the `with_*` methods (burn's `Config` style).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The network's name in the run (the name a tool registered it under).
    pub model: String,
    /// What the data is: `synthetic`, a folder, or any label; recorded, not read.
    pub data: String,
    /// Seed of shuffling, augmentation and initialisation.
    pub seed: u64,
    /// Total epochs (with `minutes`, an upper bound).
    pub epochs: usize,
    /// Time budget in minutes: when it runs out, the epoch's training ends early, its
    /// validation and checkpoint run, and training stops.
    pub minutes: Option<f64>,
    /// Batch size (per device).
    pub batch: usize,
    /// Side of the square training crops (the network's input size).
    pub crop: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// How the rate moves over the run.
    #[serde(default)]
    pub schedule: Schedule,
    /// The fraction of the run (of `epochs`, or of `minutes` when set) over which the rate
    /// rises linearly from 0 before the schedule starts.
    #[serde(default)]
    pub warmup: f64,
    /// The optimizer.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// L2 weight decay (decoupled for AdamW); `None`: PyTorch's default for the optimizer.
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// Stop when the validation Dice has not improved for this many epochs.
    #[serde(default)]
    pub patience: Option<usize>,
    /// The loss; `None`: binary cross-entropy for 1-class networks, cross-entropy otherwise.
    #[serde(default)]
    pub loss: Option<LossKind>,
    /// One loss weight per class (2 for a 1-class network; one per label for a multi-label
    /// run); `None`: all 1.
    #[serde(default)]
    pub class_weights: Option<Vec<f64>>,
    /// The U-Net paper's weight map on the cross-entropy (images only).
    #[serde(default)]
    pub border_weight: Option<BorderWeight>,
    /// A mask value (gray value as stored, or palette index) whose pixels are left out of the
    /// loss and of every score: [`MaskSpec::ignore`]. Networks of at most 255 classes.
    #[serde(default)]
    pub ignore_label: Option<u16>,
    /// A multi-label run ([`Targets::Labels`]): the labels' names, one per output channel in
    /// order, as the folders `label/<name>/` of the data; `None`: one class per pixel.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Fraction of the samples held out for validation (by file order, the last ones).
    pub val_split: f64,
    /// Random flips and 90-degree rotations.
    pub flip: bool,
    /// Elastic deformation (the paper's augmentation).
    pub elastic: bool,
    /// Random brightness, contrast, gamma, noise and blur ([`crate::data::Intensity`]'s
    /// defaults).
    #[serde(default)]
    pub intensity: bool,
    /// Test-time augmentation in validation: the validation Dice of mirrored inputs.
    #[serde(default)]
    pub tta: Tta,
    /// Training items (augmented draws) per epoch; 0 = one pass over the samples.
    pub epoch_size: usize,
    /// Batches prepared ahead of the training step on a separate thread (0: in the loop).
    pub workers: usize,
    /// How the run's steps are spread over devices and nodes: not a setting, but the record
    /// [`Training`](super::Training) keeps of its run (a resumed run records its own).
    #[serde(default)]
    pub parallel: Parallel,
}

/// How a run spreads each optimizer step, as `config.json` records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parallel {
    /// The strategy.
    pub strategy: Strategy,
    /// Devices per node.
    pub devices: usize,
    /// Processes training together.
    pub nodes: usize,
}

impl Parallel {
    /// The record of a run on `devices` devices in each of `nodes` processes.
    pub fn new(devices: usize, nodes: usize) -> Self {
        let strategy = match (devices, nodes) {
            (_, 2..) => Strategy::Nodes,
            (2.., _) => Strategy::MultiDevice,
            _ => Strategy::OneDevice,
        };
        Self {
            strategy,
            devices,
            nodes,
        }
    }
}

impl Default for Parallel {
    fn default() -> Self {
        Self::new(1, 1)
    }
}

/// How the gradients of a step's parts come together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One device computes the whole step.
    OneDevice,
    /// burn's multi-device strategy in one process: each device computes a batch and its
    /// gradients are summed on the first device, which steps the model. (burn 0.21's DDP
    /// strategy lives in burn-train's learner and needs burn-collective's NCCL path.)
    MultiDevice,
    /// Several processes ([`crate::train::cluster`]): each computes its part, on one or more
    /// devices, and the nodes' gradients are summed over TCP before each step.
    Nodes,
}

impl TrainConfig {
    /// The defaults for a run of the network named `model`: seed 42, 3 epochs, batch 8,
    /// 64-pixel crops, Adam at a constant 1e-3 with no warm-up, weight decay or early
    /// stopping, the network's default loss, flips and rotations,
    /// one pass over the samples per epoch, two batches prepared ahead.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            data: "synthetic".into(),
            seed: 42,
            epochs: 3,
            minutes: None,
            batch: 8,
            crop: 64,
            lr: OptimizerKind::default().default_lr(),
            schedule: Schedule::Constant,
            warmup: 0.0,
            optimizer: OptimizerKind::Adam,
            weight_decay: None,
            patience: None,
            loss: None,
            class_weights: None,
            border_weight: None,
            ignore_label: None,
            labels: None,
            val_split: 0.2,
            flip: true,
            elastic: false,
            intensity: false,
            tta: Tta::Off,
            epoch_size: 0,
            workers: 2,
            parallel: Parallel::default(),
        }
    }

    /// Sets [`TrainConfig::data`].
    pub fn with_data(mut self, data: impl Into<String>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets [`TrainConfig::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`TrainConfig::epochs`].
    pub fn with_epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets [`TrainConfig::minutes`].
    pub fn with_minutes(mut self, minutes: Option<f64>) -> Self {
        self.minutes = minutes;
        self
    }

    /// Sets [`TrainConfig::batch`].
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// Sets [`TrainConfig::crop`].
    pub fn with_crop(mut self, crop: usize) -> Self {
        self.crop = crop;
        self
    }

    /// Sets [`TrainConfig::lr`].
    pub fn with_lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// Sets [`TrainConfig::schedule`].
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Sets [`TrainConfig::warmup`].
    pub fn with_warmup(mut self, warmup: f64) -> Self {
        self.warmup = warmup;
        self
    }

    /// Sets [`TrainConfig::optimizer`].
    pub fn with_optimizer(mut self, optimizer: OptimizerKind) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// Sets [`TrainConfig::weight_decay`].
    pub fn with_weight_decay(mut self, weight_decay: Option<f64>) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets [`TrainConfig::patience`].
    pub fn with_patience(mut self, patience: Option<usize>) -> Self {
        self.patience = patience;
        self
    }

    /// The weight decay the optimizer applies: the configured one or its default.
    pub fn weight_decay(&self) -> f64 {
        self.weight_decay
            .unwrap_or(self.optimizer.default_weight_decay())
    }

    /// The learning rate at `progress` (0 at the first step, 1 at the end) of the run.
    pub fn lr_at(&self, progress: f64) -> f64 {
        self.schedule.rate(self.lr, self.warmup, progress)
    }

    /// Sets [`TrainConfig::loss`].
    pub fn with_loss(mut self, loss: Option<LossKind>) -> Self {
        self.loss = loss;
        self
    }

    /// Sets [`TrainConfig::class_weights`].
    pub fn with_class_weights(mut self, weights: Option<Vec<f64>>) -> Self {
        self.class_weights = weights;
        self
    }

    /// Sets [`TrainConfig::ignore_label`].
    pub fn with_ignore_label(mut self, value: Option<u16>) -> Self {
        self.ignore_label = value;
        self
    }

    /// Sets [`TrainConfig::labels`].
    pub fn with_labels(mut self, labels: Option<Vec<String>>) -> Self {
        self.labels = labels;
        self
    }

    /// What the network's outputs mean in this run: labels when [`TrainConfig::labels`] is
    /// set, classes otherwise.
    pub fn targets(&self) -> Targets {
        Targets::of_labels(self.labels.as_ref())
    }

    /// Sets [`TrainConfig::border_weight`].
    pub fn with_border_weight(mut self, border: Option<BorderWeight>) -> Self {
        self.border_weight = border;
        self
    }

    /// Sets [`TrainConfig::val_split`].
    pub fn with_val_split(mut self, val_split: f64) -> Self {
        self.val_split = val_split;
        self
    }

    /// Sets [`TrainConfig::flip`].
    pub fn with_flip(mut self, flip: bool) -> Self {
        self.flip = flip;
        self
    }

    /// Sets [`TrainConfig::intensity`].
    pub fn with_intensity(mut self, intensity: bool) -> Self {
        self.intensity = intensity;
        self
    }

    /// Sets [`TrainConfig::tta`].
    pub fn with_tta(mut self, tta: Tta) -> Self {
        self.tta = tta;
        self
    }

    /// Sets [`TrainConfig::elastic`].
    pub fn with_elastic(mut self, elastic: bool) -> Self {
        self.elastic = elastic;
        self
    }

    /// Sets [`TrainConfig::epoch_size`].
    pub fn with_epoch_size(mut self, epoch_size: usize) -> Self {
        self.epoch_size = epoch_size;
        self
    }

    /// Sets [`TrainConfig::workers`].
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// The loss for a network with `classes` outputs: the configured one or the default.
    pub fn loss_for(&self, classes: usize) -> Loss {
        let targets = self.targets();
        Loss {
            kind: self
                .loss
                .unwrap_or(LossKind::default_for_targets(classes, targets)),
            class_weights: self.class_weights.clone(),
            ignore: self.ignore_label.is_some(),
            targets,
        }
    }

    /// How the run's mask files are read for a network with `classes` outputs: binary or
    /// indexed by the classes, or one folder per label, with the run's ignore label.
    pub fn masks(&self, classes: usize) -> MaskSpec {
        MaskSpec::from(MaskMode::for_targets(classes, self.targets()))
            .with_ignore(self.ignore_label)
    }

    /// Parses a `config.json`.
    ///
    /// # Errors
    /// The text is not a run configuration.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The `config.json` text.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and options always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every setting, and that the crop, augmentation and loss fit network `N`.
    ///
    /// # Errors
    /// [`TrainError::Setting`] naming the first setting out of range, or the loss's error.
    pub fn check<B: burn::tensor::backend::Backend, N: Network<B, D>, const D: usize>(
        &self,
    ) -> Result<(), TrainError> {
        let bad = |setting: &'static str, value: String, expected: String| TrainError::Setting {
            setting,
            value,
            expected,
        };
        if self.batch == 0 {
            return Err(bad("batch", "0".into(), "at least 1".into()));
        }
        if self.epochs == 0 {
            return Err(bad("epochs", "0".into(), "at least 1".into()));
        }
        // Both size buffers up front: bounded so a typo cannot exhaust memory.
        if self.workers > MAX_WORKERS {
            return Err(bad(
                "workers",
                self.workers.to_string(),
                format!("at most {MAX_WORKERS}"),
            ));
        }
        if self.epoch_size > MAX_EPOCH_SIZE {
            return Err(bad(
                "epoch_size",
                self.epoch_size.to_string(),
                format!("at most {MAX_EPOCH_SIZE} draws"),
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(bad(
                "lr",
                format!("{:?}", self.lr),
                "a finite number above 0".into(),
            ));
        }
        if !(self.warmup.is_finite() && (0.0..1.0).contains(&self.warmup)) {
            return Err(bad(
                "warmup",
                format!("{:?}", self.warmup),
                "a fraction of the run in [0, 1)".into(),
            ));
        }
        if let Some(w) = self.weight_decay {
            if !(w.is_finite() && (0.0..1.0).contains(&w)) {
                return Err(bad(
                    "weight_decay",
                    format!("{w:?}"),
                    "a finite number in [0, 1)".into(),
                ));
            }
        }
        if self.patience == Some(0) {
            return Err(bad("patience", "0".into(), "at least 1 epoch".into()));
        }
        if let Some(m) = self.minutes {
            // A budget beyond a century cannot be represented as an instant on every system.
            if !(m.is_finite() && m > 0.0 && m <= 52_560_000.0) {
                return Err(bad(
                    "minutes",
                    format!("{m:?}"),
                    "a finite number of minutes above 0 (at most 100 years)".into(),
                ));
            }
        }
        if !(self.val_split.is_finite() && (0.0..1.0).contains(&self.val_split)) {
            return Err(bad(
                "val_split",
                format!("{:?}", self.val_split),
                "a fraction in [0, 1)".into(),
            ));
        }
        if self.elastic && N::DIMS != 2 {
            return Err(bad(
                "elastic",
                "true".into(),
                format!(
                    "false for {} ({}D): the elastic deformation is defined for images",
                    N::NAME,
                    N::DIMS
                ),
            ));
        }
        if let Some(b) = self.border_weight {
            let fine = b.w0.is_finite() && b.w0 >= 0.0 && b.sigma.is_finite() && b.sigma > 0.0;
            // Index 255 is the ignore label's, so a 256th class would weigh 0.
            if !fine || N::DIMS != 2 || N::CLASSES > usize::from(crate::data::IGNORE) {
                return Err(bad(
                    "border_weight",
                    format!("w0 {:?}, sigma {:?}", b.w0, b.sigma),
                    format!(
                        "w0 at least 0 and sigma above 0, on an image network of at most 255 classes ({} is {}D, {} classes)",
                        N::NAME,
                        N::DIMS,
                        N::CLASSES
                    ),
                ));
            }
        }
        if let Some(labels) = &self.labels {
            if labels.len() != N::CLASSES || labels.len() > MAX_LABELS || N::DIMS != 2 {
                return Err(bad(
                    "labels",
                    format!("{labels:?}"),
                    format!(
                        "one name per output channel of an image network, at most {MAX_LABELS} ({} is {}D, {} channels)",
                        N::NAME,
                        N::DIMS,
                        N::CLASSES
                    ),
                ));
            }
            if let Some(b) = self.border_weight {
                return Err(bad(
                    "border_weight",
                    format!("{},{}", b.w0, b.sigma),
                    "none on a multi-label run: the weight map separates the objects of one class mask".into(),
                ));
            }
        }
        if self.crop > MAX_CROP {
            return Err(bad(
                "crop",
                self.crop.to_string(),
                format!("at most {MAX_CROP} (a side of the training crops)"),
            ));
        }
        if !N::fits(self.crop) {
            let (below, above) = crate::geometry::nearest_valid(N::DEPTH, N::PADDING, self.crop);
            return Err(bad(
                "crop",
                self.crop.to_string(),
                format!(
                    "a size network {} (depth {}, {:?} padding) accepts; nearest valid: {}",
                    N::NAME,
                    N::DEPTH,
                    N::PADDING,
                    crate::geometry::nearest_text(below, above)
                ),
            ));
        }
        self.check_memory::<B, N, D>()?;
        self.loss_for(N::CLASSES).check(N::CLASSES)?;
        Ok(())
    }

    /// On the CPU backend, refuses a batch (of at most the epoch's draws) whose step needs
    /// more memory than the machine has, by torchsummary's count (the input, every module's
    /// output and its gradient, the parameters): a lower bound of what burn keeps for the
    /// backward pass, so such a run could only end killed by the system.
    fn check_memory<B: burn::tensor::backend::Backend, N: Network<B, D>, const D: usize>(
        &self,
    ) -> Result<(), TrainError> {
        if !crate::backend::on_cpu::<B>() {
            return Ok(());
        }
        let Some(have) = physical_memory() else {
            return Ok(());
        };
        // A batch past the epoch is the epoch.
        let batch = match self.epoch_size {
            0 => self.batch,
            items => self.batch.min(items),
        };
        let mut shape = [self.crop; D];
        shape[0] = batch;
        shape[1] = N::IN_CHANNELS;
        let Ok(summary) = N::summary_for(shape) else {
            return Ok(());
        };
        let need = summary.memory().total_mb() * f64::from(1u32 << 20);
        if need <= have as f64 {
            return Ok(());
        }
        let per_sample = need / batch as f64;
        let gib = |bytes: f64| bytes / f64::from(1u32 << 30);
        let fits = (have as f64 / per_sample).floor();
        if fits < 1.0 {
            return Err(TrainError::Setting {
                setting: "crop",
                value: self.crop.to_string(),
                expected: format!(
                    "a smaller crop: one sample of {} at this crop needs at least {:.1} GiB, and this machine has {:.1} GiB",
                    N::NAME,
                    gib(per_sample),
                    gib(have as f64)
                ),
            });
        }
        Err(TrainError::Setting {
            setting: "batch",
            value: self.batch.to_string(),
            expected: format!(
                "at most {fits} at crop {}: a step of {} needs at least {:.1} GiB, {:.1} GiB a sample, and this machine has {:.1} GiB",
                self.crop,
                N::NAME,
                gib(need),
                gib(per_sample),
                gib(have as f64)
            ),
        })
    }
}

/// The machine's memory in bytes (`MemTotal` of `/proc/meminfo`); `None` where it cannot be
/// read.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}
