//! The epoch loop: train steps, validation, checkpoint and run-folder files, in that order,
//! on the calling thread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use burn::optim::{GradientsAccumulator, GradientsParams, Optimizer};
use burn::record::RecorderError;
use burn::tensor::backend::{AutodiffBackend, Backend};

use super::batch::{augmentation, draw_batch, epoch_order, SegBatch};
use super::checkpoint::{decode, decoder_message, encode, load_same_shape, module_bytes};
use super::cluster::{
    bytes_fingerprint, flatten_grads, model_fingerprint, samples_fingerprint, unflatten_grads,
    ClusterError, Group,
};
use super::config::{Parallel, TrainConfig};
use super::events::{Event, Observer, Saved};
use super::loss::{Loss, LossError};
use super::run::{
    best_row, claim, clear_run, complete_checkpoints, read_rows, EpochRow, Occupant, RunFolder,
};
use super::schedule::{self, OptimizerKind};
use super::step::{scalar, valid_step, weighted_train_step, EpochStats, StepError};
use crate::data::{DataError, Example};
use crate::error::ShapeError;
use crate::infer::imaging::ImagingError;
use crate::infer::scores::ImageScores;
use crate::network::TrainableNetwork;
use rayon::iter::{IntoParallelIterator, ParallelIterator};

/// Validation samples kept for each epoch's picture.
const PREVIEW: usize = 4;

/// Why a run could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A setting is out of range or does not fit the network.
    #[error("{setting} {value}: expected {expected}")]
    Setting {
        /// The setting's name in [`TrainConfig`].
        setting: &'static str,
        /// The value given.
        value: String,
        /// What it must be.
        expected: String,
    },
    /// The loss does not fit the network's outputs.
    #[error(transparent)]
    Loss(#[from] LossError),
    /// Too few samples.
    #[error("need at least one training and one validation sample, got {train} and {valid}")]
    NoSamples {
        /// Training samples.
        train: usize,
        /// Validation samples.
        valid: usize,
    },
    /// A training step's loss was NaN or infinite: the weights are garbage from here on, so
    /// the run stops (its checkpoints hold the epochs before).
    #[error("the training loss became {loss} at epoch {epoch}, step {step}: the run diverged; lower lr (it is {lr:?})")]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// The loss.
        loss: f64,
        /// The learning rate.
        lr: f64,
    },
    /// No device to train on.
    #[error("no device given to train on")]
    NoDevice,
    /// A fresh run into a folder that holds another run.
    #[error("{} already holds a run: resume it, replace it, or train into another folder", dir.display())]
    RunExists {
        /// The run folder.
        dir: PathBuf,
    },
    /// The run folder holds files that are not a run's, which a run never overwrites.
    #[error("{} holds {}, which is not a file of a run: train into a new or empty folder", dir.display(), found.display())]
    NotARunFolder {
        /// The folder.
        dir: PathBuf,
        /// The first entry that is not a run's.
        found: PathBuf,
    },
    /// A checkpoint to resume from holds another network's weights.
    #[error("checkpoint {} holds {found} values, but the network has {expected}: it was saved from another network", path.display())]
    WrongModel {
        /// The checkpoint.
        path: PathBuf,
        /// The network's count.
        expected: usize,
        /// The checkpoint's.
        found: usize,
    },
    /// Resuming with nothing to resume from.
    #[error("nothing to resume in {}: no complete checkpoint (model and optimizer) in its checkpoint folder", dir.display())]
    NothingToResume {
        /// The run folder.
        dir: PathBuf,
    },
    /// A file of the run folder could not be written.
    #[error("writing {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint could not be read.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be encoded or decoded.
    #[error("checkpoint {}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// The recorder's error.
        #[source]
        source: RecorderError,
    },
    /// `metrics.csv` could not be read or written.
    #[error("metrics table {}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The CSV error.
        #[source]
        source: csv::Error,
    },
    /// A picture could not be drawn.
    #[error("drawing {}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// The imaging error.
        #[source]
        source: ImagingError,
    },
    /// A batch does not fit the network.
    #[error("a training batch does not fit the network")]
    Shape(#[from] ShapeError),
    /// The samples of a batch cannot be stacked.
    #[error("building a batch")]
    Data(#[from] DataError),
    /// Validation failed.
    #[error("validation")]
    Step(#[from] StepError),
    /// The group of nodes went apart, or its nodes do not agree.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    /// Every epoch's row, including those of earlier runs when resuming.
    pub rows: Vec<EpochRow>,
    /// The run folder.
    pub run_dir: PathBuf,
    /// Whether the time budget ended the run.
    pub out_of_time: bool,
    /// Whether a stop request ([`Training::stop_when`]) ended the run; its last epoch was
    /// cut short, and is checkpointed, so the run resumes from the next one.
    pub interrupted: bool,
    /// Whether early stopping ended the run: the validation Dice had not improved for
    /// [`TrainConfig::patience`] epochs.
    pub stopped_early: bool,
}

impl TrainSummary {
    /// The row with the best validation Dice (the first of equals, as `best.mpk` holds).
    pub fn best(&self) -> Option<&EpochRow> {
        best_row(&self.rows)
    }
}

/// A run to start: configuration, run folder, devices, observers. `B` is the autodiff
/// backend to train on; `D` the rank of the network's tensors: 4 (the default) for images,
/// 5 for volumes (`Training::<B, 5>::new(config, dir).fit::<MyVolumeNet<B>>(train, valid)`).
pub struct Training<'a, B: AutodiffBackend, const D: usize = 4> {
    config: TrainConfig,
    run_dir: PathBuf,
    devices: Vec<B::Device>,
    resume: bool,
    replace: bool,
    stop: Option<Arc<AtomicBool>>,
    observers: Vec<Box<dyn Observer + 'a>>,
    group: Option<Group>,
}

impl<'a, B: AutodiffBackend, const D: usize> Training<'a, B, D> {
    /// A run of `config` into `run_dir`, on the default device.
    pub fn new(config: TrainConfig, run_dir: impl Into<PathBuf>) -> Self {
        Self {
            config,
            run_dir: run_dir.into(),
            devices: vec![Default::default()],
            resume: false,
            replace: false,
            stop: None,
            observers: Vec::new(),
            group: None,
        }
    }

    /// Trains on `devices`: with more than one, each step runs one batch per device and the
    /// summed gradients update the model on the first.
    pub fn devices(mut self, devices: Vec<B::Device>) -> Self {
        self.devices = devices;
        self
    }

    /// Continues the run in the run folder from its newest complete checkpoint.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Starts over in a run folder that holds a run (only a run's files: anything else in
    /// the folder is never removed), instead of refusing it.
    pub fn replace(mut self, replace: bool) -> Self {
        self.replace = replace;
        self
    }

    /// Stops the run when `stop` becomes true (a Ctrl-C handler sets it): the step under way
    /// finishes, the epoch so far is validated and checkpointed like a finished one, and
    /// [`TrainSummary::interrupted`] says so. A resumed run goes on from the next epoch.
    pub fn stop_when(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Trains as one node of `group` ([`Cluster::connect`](super::cluster::Cluster::connect)):
    /// each step's samples are those of one node's step times the nodes, each node draws and
    /// trains on its part, and their gradients are summed before every node takes the same
    /// optimizer step. Node 0 alone reads a checkpoint to resume, validates and writes the run
    /// folder; the others start from its weights and follow its decisions to stop. Every
    /// node must train the same configuration on the same training set, which is checked.
    pub fn cluster(mut self, group: Group) -> Self {
        self.group = Some(group);
        self
    }

    /// This node's rank: 0 alone, or the coordinator.
    fn rank(&self) -> usize {
        self.group.as_ref().map_or(0, Group::rank)
    }

    /// The number of nodes training together: 1 alone.
    fn nodes(&self) -> usize {
        self.group.as_ref().map_or(1, Group::nodes)
    }

    /// Whether this process writes the run folder: it trains alone, or is node 0.
    fn leads(&self) -> bool {
        self.rank() == 0
    }

    /// Adds an observer of the run's [`Event`]s.
    pub fn observe(mut self, observer: impl Observer + 'a) -> Self {
        self.observers.push(Box::new(observer));
        self
    }

    /// Trains `N` on `train`, validating on `valid` (whole images when they share a size
    /// the network takes, else their centre crops): [`Sample`](crate::data::Sample)s for a
    /// 2D network, [`VolumeSample`](crate::data::VolumeSample)s for a 3D one.
    ///
    /// # Errors
    /// A setting does not fit, there is nothing to resume, or a file cannot be read or
    /// written; the run stops at the first error.
    pub fn fit<N: TrainableNetwork<B, D>>(
        self,
        train: Vec<impl Example<D>>,
        valid: Vec<impl Example<D>>,
    ) -> Result<TrainSummary, TrainError> {
        self.run::<N, _, _>(train, valid)
    }

    fn run<N: TrainableNetwork<B, D>, S: Example<D>, V: Example<D>>(
        mut self,
        train: Vec<S>,
        valid: Vec<V>,
    ) -> Result<TrainSummary, TrainError> {
        self.config.check::<B, N, D>()?;
        if train.is_empty() || valid.is_empty() {
            return Err(TrainError::NoSamples {
                train: train.len(),
                valid: valid.len(),
            });
        }
        let device = self.devices.first().cloned().ok_or(TrainError::NoDevice)?;
        if let Some(group) = self.group.as_mut() {
            let text = self.config.to_json();
            group.agree("configuration", bytes_fingerprint(text.as_bytes()))?;
            group.agree("training set", samples_fingerprint(&train))?;
            // A step gives each node the same share, a batch per device.
            group.agree("number of devices", self.devices.len() as u64)?;
        }
        self.config.parallel = Parallel::new(self.devices.len(), self.nodes());
        if self.leads() {
            self.claim_folder()?;
        }
        B::seed(&device, self.config.seed);
        let model = materialized(N::init(&device));
        let decay = self.config.weight_decay();
        match self.config.optimizer {
            OptimizerKind::Adam => {
                self.run_with(model, schedule::adam::<B, N>(decay), train, valid)
            }
            OptimizerKind::AdamW => {
                self.run_with(model, schedule::adamw::<B, N>(decay), train, valid)
            }
            OptimizerKind::Sgd => self.run_with(model, schedule::sgd::<B, N>(decay), train, valid),
        }
    }

    /// [`Self::run`] with the optimizer built: resume, then the epochs.
    fn run_with<N: TrainableNetwork<B, D>, S: Example<D>, V: Example<D>, O: Optimizer<N, B>>(
        mut self,
        model: N,
        optim: O,
        train: Vec<S>,
        valid: Vec<V>,
    ) -> Result<TrainSummary, TrainError> {
        let config = self.config.clone();
        let (start, mut model, mut optim) = self.starting_point(model, optim)?;
        let run = match self.leads() {
            true => Some(self.open_run_folder(&config, N::CLASSES, start)?),
            false => None,
        };
        let valid = validation_set::<B, N, V, D>(valid, config.crop);
        // The weight map is computed once per mask, before any crop, and moves with it.
        let train: Vec<S> = match &config.border_weight {
            Some(border) => train
                .into_par_iter()
                .map(|s: S| s.with_border_weights(border))
                .collect(),
            None => train,
        };
        let mut state = LoopState {
            config: &config,
            train: &train,
            valid: &valid,
            run,
            started: Instant::now(),
            deadline: config
                .minutes
                .map(|m| Instant::now() + Duration::from_secs_f64(m * 60.0)),
            steps: 0,
            stop: self.stop.clone(),
            agreed: self.group.as_ref().map(|_| Agreed::default()),
        };
        let (mut out_of_time, mut interrupted, mut stopped_early) = (false, false, false);
        for epoch in start.map_or(1, |e| e + 1)..=config.epochs {
            model = self.epoch::<N, S, V>(epoch, model, &mut optim, &mut state)?;
            let early = epoch < config.epochs;
            let stale = early
                && state.run.as_ref().is_some_and(|run| {
                    run.stale_for(epoch) >= config.patience.unwrap_or(usize::MAX)
                });
            let (stop, stale) = self.settle(&mut state, stale)?;
            if stop {
                interrupted = early && state.stopped();
                out_of_time = early && !interrupted;
                break;
            }
            if stale {
                stopped_early = true;
                break;
            }
        }
        Ok(TrainSummary {
            rows: state.run.as_ref().map_or(Vec::new(), |r| r.rows().to_vec()),
            run_dir: self.run_dir,
            out_of_time,
            interrupted,
            stopped_early,
        })
    }

    /// The epoch the run goes on from (`None`: a new run), with its model and optimizer: the
    /// newest loadable checkpoint's when resuming. Every node of a group takes node 0's.
    #[allow(clippy::type_complexity)]
    fn starting_point<N: TrainableNetwork<B, D>, O: Optimizer<N, B>>(
        &mut self,
        mut model: N,
        mut optim: O,
    ) -> Result<(Option<usize>, N, O), TrainError> {
        let device = self.devices[0].clone();
        let mut start = None;
        if self.resume && self.leads() {
            let (epoch, model_record, optim_record) = self.newest_loadable::<N, _>(&device)?;
            if epoch >= self.config.epochs {
                return Err(TrainError::Setting {
                    setting: "epochs",
                    value: self.config.epochs.to_string(),
                    expected: format!(
                        "more than {epoch}, the epochs {} holds",
                        self.run_dir.display()
                    ),
                });
            }
            model = load_same_shape(model, model_record).map_err(|(expected, found)| {
                TrainError::WrongModel {
                    path: self.run_dir.join(format!("checkpoint/model-{epoch}.mpk")),
                    expected,
                    found,
                }
            })?;
            optim = optim.load_record(optim_record);
            start = Some(epoch);
        }
        let leads = self.leads();
        let Some(group) = self.group.as_mut() else {
            return Ok((start, model, optim));
        };
        let unreadable = |what: &'static str| {
            move |e: RecorderError| ClusterError::Record {
                what,
                message: decoder_message(&e.to_string()),
            }
        };
        let (epoch, model_bytes, optim_bytes) = match leads {
            true => (
                start.map_or(0, |e| e as u64 + 1).to_le_bytes().to_vec(),
                module_bytes::<B, N>(&model).map_err(unreadable("weights"))?,
                encode::<B, _>(optim.to_record()).map_err(unreadable("optimizer state"))?,
            ),
            false => Default::default(),
        };
        let epoch = group.broadcast(epoch)?;
        let model_bytes = group.broadcast(model_bytes)?;
        let optim_bytes = group.broadcast(optim_bytes)?;
        if !leads {
            let record =
                decode::<B, N::Record>(model_bytes, &device).map_err(unreadable("weights"))?;
            model = load_same_shape(model, record).map_err(|(expected, found)| {
                ClusterError::Record {
                    what: "weights",
                    message: format!("{found} values for a network of {expected}"),
                }
            })?;
            optim = optim.load_record(
                decode::<B, O::Record>(optim_bytes, &device)
                    .map_err(unreadable("optimizer state"))?,
            );
            let epoch: [u8; 8] = epoch
                .as_slice()
                .try_into()
                .map_err(|_| ClusterError::Record {
                    what: "start epoch",
                    message: format!("{} bytes, not 8", epoch.len()),
                })?;
            start = u64::from_le_bytes(epoch).checked_sub(1).map(|e| e as usize);
        }
        Ok((start, model, optim))
    }

    /// Opens the run folder, keeping the rows up to `start` when resuming.
    fn open_run_folder(
        &mut self,
        config: &TrainConfig,
        classes: usize,
        start: Option<usize>,
    ) -> Result<RunFolder, TrainError> {
        let (previous, discarded) = match start {
            Some(epoch) => {
                let rows = read_rows(&self.run_dir.join("metrics.csv"), usize::MAX)?;
                let discarded = rows.iter().any(|r| r.epoch > epoch);
                (
                    rows.into_iter().filter(|r| r.epoch <= epoch).collect(),
                    discarded,
                )
            }
            None => (Vec::new(), false),
        };
        let (mut run, config_path) = RunFolder::open(&self.run_dir, config, classes, previous)?;
        if discarded {
            // `best.mpk` may hold an epoch after the checkpoint resumed from, whose weights
            // this run no longer has: the next epoch replaces it.
            run.forget_best();
        }
        self.emit(&Event::Written { path: &config_path });
        Ok(run)
    }

    /// Whether the run stops after an epoch: the time budget or a stop request, and whether
    /// validation has gone stale (`stale`, known to node 0 alone). In a group the nodes sum
    /// their flags, so each stops where any asks it to, all at the same epoch.
    fn settle<S, V>(
        &mut self,
        state: &mut LoopState<'_, S, V>,
        stale: bool,
    ) -> Result<(bool, bool), TrainError> {
        let Some(group) = self.group.as_mut() else {
            return Ok((state.out_of_time() || state.stopped(), stale));
        };
        let mut flags = state.flags(group.rank());
        let at = flags.len();
        flags.push(f32::from(u8::from(stale)));
        group.sum(&mut flags)?;
        state.agreed = Some(Agreed::from_sums(&flags));
        Ok((state.out_of_time() || state.stopped(), flags[at] > 0.0))
    }

    /// Checks what the run folder holds before anything is written ([`claim`]), and clears a
    /// run that this one replaces. Resuming from nothing is found by [`Self::newest_loadable`].
    fn claim_folder(&self) -> Result<(), TrainError> {
        let held = claim(&self.run_dir, self.resume, self.replace)?;
        if held == Occupant::Run && self.replace && !self.resume {
            clear_run(&self.run_dir)?;
        }
        Ok(())
    }

    /// The newest checkpoint whose model and optimizer records both read back, with its
    /// records; a newer one that does not (a truncated or corrupt file) is skipped with a
    /// [`Event::CheckpointSkipped`].
    fn newest_loadable<N: TrainableNetwork<B, D>, O: burn::record::Record<B>>(
        &mut self,
        device: &B::Device,
    ) -> Result<(usize, N::Record, O), TrainError> {
        let dir = self.run_dir.join("checkpoint");
        for epoch in complete_checkpoints(&self.run_dir) {
            let model_path = dir.join(format!("model-{epoch}.mpk"));
            let optim_path = dir.join(format!("optim-{epoch}.mpk"));
            let records = read_record::<B, N::Record>(&model_path, device)
                .and_then(|m| read_record::<B, O>(&optim_path, device).map(|o| (m, o)));
            match records {
                Ok((model, optim)) => return Ok((epoch, model, optim)),
                Err(error) => self.emit(&Event::CheckpointSkipped {
                    epoch,
                    error: &error,
                }),
            }
        }
        Err(TrainError::NothingToResume {
            dir: self.run_dir.clone(),
        })
    }

    /// Samples this process trains on in an optimizer step: a batch per device (saturating: a
    /// batch past the epoch is one step).
    fn per_step(&self, config: &TrainConfig) -> usize {
        config.batch.saturating_mul(self.devices.len())
    }

    /// Samples an optimizer step takes over every node.
    fn global_step(&self, config: &TrainConfig) -> usize {
        self.per_step(config).saturating_mul(self.nodes())
    }

    fn emit(&mut self, event: &Event<'_>) {
        for observer in &mut self.observers {
            observer.observe(event);
        }
    }

    /// One epoch: training (cut short by the deadline), then, where this process writes the
    /// run folder, validation, checkpoint and files. Returns the model.
    fn epoch<N: TrainableNetwork<B, D>, S: Example<D>, V: Example<D>>(
        &mut self,
        epoch: usize,
        model: N,
        optim: &mut impl Optimizer<N, B>,
        state: &mut LoopState<'_, S, V>,
    ) -> Result<N, TrainError> {
        let (config, train) = (state.config, state.train);
        let items = if config.epoch_size == 0 {
            train.len()
        } else {
            config.epoch_size
        };
        let order = epoch_order(train.len(), items, config.seed, epoch);
        let batches = order.len().div_ceil(self.global_step(config));
        self.emit(&Event::EpochStart { epoch, batches });
        let loss = config.loss_for(N::CLASSES);
        let (model, train_stats, interrupted) =
            self.train_epoch(epoch, model, optim, &order, &loss, state)?;
        if let Some(group) = self.group.as_mut() {
            group.agree("weights", model_fingerprint(&model))?;
        }
        if state.run.is_some() {
            self.finish_epoch(
                epoch,
                &model,
                optim,
                state,
                (&loss, train_stats, interrupted),
            )?;
        }
        Ok(model)
    }

    /// Validation, checkpoint and the run folder's files after `epoch`'s training.
    fn finish_epoch<N: TrainableNetwork<B, D>, S: Example<D>, V: Example<D>>(
        &mut self,
        epoch: usize,
        model: &N,
        optim: &impl Optimizer<N, B>,
        state: &mut LoopState<'_, S, V>,
        (loss, train_stats, interrupted): (&Loss, EpochStats, bool),
    ) -> Result<(), TrainError> {
        let config = state.config;
        let Some(run) = state.run.as_mut() else {
            return Ok(());
        };
        let inner = model.valid();
        let device = self.devices[0].clone();
        let mut valid_stats = EpochStats::for_targets(N::CLASSES, loss.targets);
        for chunk in state.valid.chunks(config.batch) {
            let batch = SegBatch::<B::InnerBackend, D>::from_samples(chunk, loss.clone(), &device)?;
            valid_step(&inner, batch, config.tta, &mut valid_stats, PREVIEW)?;
        }
        self.emit(&Event::Validated { epoch, interrupted });

        let model_bytes = module_bytes::<B, N>(model).map_err(|source| TrainError::Record {
            path: run.dir().join("checkpoint"),
            source,
        })?;
        let optim_bytes =
            encode::<B, _>(optim.to_record()).map_err(|source| TrainError::Record {
                path: run.dir().join("checkpoint"),
                source,
            })?;
        let image = ImageScores::mean(&valid_stats.scores);
        let row = EpochRow {
            epoch,
            train_loss: train_stats.loss(),
            valid_loss: valid_stats.loss(),
            pixel_accuracy: valid_stats.confusion.pixel_accuracy(),
            dice: valid_stats.confusion.mean_dice(),
            iou: valid_stats.confusion.mean_iou(),
            image_dice: image.map(|s| s.dice),
            boundary_f1: image.map(|s| s.boundary_f1),
            hd95: image.and_then(|s| s.hd95),
            v_rand: image.map(|s| s.rand.score),
            v_info: image.map(|s| s.info.score),
            seconds: state.started.elapsed().as_secs_f64(),
        };
        let (written, best) = run.record_epoch(row.clone(), &valid_stats.preview, &model_bytes)?;
        for (kind, path) in &written {
            match kind {
                Some(kind) => self.emit(&Event::CheckpointSaved {
                    epoch,
                    kind: *kind,
                    path,
                }),
                None => self.emit(&Event::Written { path }),
            }
        }
        // The checkpoint commits the epoch: written last, so a run resumed after a crash or a
        // failed write starts from an epoch whose row and files are all there.
        let path = run.save_checkpoint(epoch, &model_bytes, &optim_bytes)?;
        self.emit(&Event::CheckpointSaved {
            epoch,
            kind: Saved::Checkpoint,
            path: &path,
        });
        self.emit(&Event::EpochEnd { row: &row, best });
        Ok(())
    }

    /// The training steps of one epoch. Returns the model, the epoch's statistics and
    /// whether the deadline cut it short (never before the run's first step).
    fn train_epoch<N: TrainableNetwork<B, D>, S: Example<D>, V: Example<D>>(
        &mut self,
        epoch: usize,
        model: N,
        optim: &mut impl Optimizer<N, B>,
        order: &[usize],
        loss: &Loss,
        state: &mut LoopState<'_, S, V>,
    ) -> Result<(N, EpochStats, bool), TrainError> {
        let (config, train) = (state.config, state.train);
        let augment = augmentation(config);
        let (per_step, global) = (self.per_step(config), self.global_step(config));
        let rank = self.rank();
        let steps = order.len().div_ceil(global);
        let mut stats = EpochStats::for_targets(N::CLASSES, loss.targets);
        let mut interrupted = false;
        let model = std::thread::scope(|scope| -> Result<N, TrainError> {
            let mut model = model;
            // Batches are drawn ahead on one thread, `workers` steps deep; dropping the
            // receiver (deadline, error) ends the producer at its next send.
            let (sender, receiver) = mpsc::sync_channel(config.workers.max(1));
            // This node's part of step `k`: its rank's `per_step` of the step's draws, each
            // augmented by its place in the epoch, as one process drawing them all would.
            let make = |k: usize, indices: &[usize]| {
                let from = rank.saturating_mul(per_step).min(indices.len());
                let to = from.saturating_add(per_step).min(indices.len());
                let first = k.saturating_mul(global).saturating_add(from);
                let samples = draw_batch(
                    train,
                    &indices[from..to],
                    first,
                    &augment,
                    config.seed,
                    epoch,
                );
                (samples, indices.len())
            };
            let mut inline = order.chunks(global).enumerate();
            if config.workers > 0 {
                let chunks: Vec<(usize, &[usize])> = order.chunks(global).enumerate().collect();
                scope.spawn(move || {
                    for (k, indices) in chunks {
                        if sender.send(make(k, indices)).is_err() {
                            break;
                        }
                    }
                });
            } else {
                drop(sender);
            }
            let mut next = || match config.workers {
                0 => inline.next().map(|(k, indices)| make(k, indices)),
                _ => receiver.recv().ok(),
            };
            let mut step = 0;
            while let Some((samples, images)) = {
                if state.steps > 0 && (state.out_of_time() || state.stopped()) {
                    interrupted = true;
                    None
                } else {
                    next()
                }
            } {
                let lr = config.lr_at(state.progress(epoch, step, steps));
                let (value, next_model) =
                    self.step(model, optim, (&samples, images), lr, loss, state)?;
                model = next_model;
                step += 1;
                if !value.is_finite() {
                    return Err(TrainError::Diverged {
                        epoch,
                        step,
                        loss: value,
                        lr,
                    });
                }
                state.steps += 1;
                stats.add_loss(value, images);
                self.emit(&Event::Step {
                    epoch,
                    step,
                    loss: value,
                    lr,
                });
            }
            Ok(model)
        })?;
        Ok((model, stats, interrupted))
    }

    /// One optimizer step over `samples`, this process's part of a step of `images` samples:
    /// its gradients, summed over the nodes in a group, update the model. Returns the step's
    /// mean loss (over every node's samples) and the updated model.
    fn step<N: TrainableNetwork<B, D>, S: Example<D>, V>(
        &mut self,
        model: N,
        optim: &mut impl Optimizer<N, B>,
        (samples, images): (&[S], usize),
        lr: f64,
        loss: &Loss,
        state: &mut LoopState<'_, S, V>,
    ) -> Result<(f64, N), TrainError> {
        let batch = state.config.batch;
        let (loss_sum, grads) =
            local_gradients(&model, &self.devices, samples, batch, images, loss)?;
        let Some(group) = self.group.as_mut() else {
            return Ok((
                loss_sum / images.max(1) as f64,
                optim.step(lr, model, grads),
            ));
        };
        let mut values = Vec::new();
        flatten_grads(&model, grads, &mut values);
        let length = values.len();
        values.extend(state.flags(group.rank()));
        values.push(loss_sum as f32);
        group.sum(&mut values)?;
        state.agreed = Some(Agreed::from_sums(&values[length..]));
        let loss_sum = f64::from(values[values.len() - 1]);
        let grads = unflatten_grads(&model, &values[..length]);
        Ok((
            loss_sum / images.max(1) as f64,
            optim.step(lr, model, grads),
        ))
    }
}

/// What the loop reads and keeps across epochs.
struct LoopState<'d, S, V> {
    config: &'d TrainConfig,
    train: &'d [S],
    valid: &'d [V],
    /// The run folder, where this process writes it.
    run: Option<RunFolder>,
    started: Instant,
    deadline: Option<Instant>,
    steps: usize,
    stop: Option<Arc<AtomicBool>>,
    /// In a group: what the nodes agreed at the last exchange, which every node acts on
    /// instead of its own clock and stop flag.
    agreed: Option<Agreed>,
}

/// The nodes' shared view of the run's end, from the sums of their [`LoopState::flags`].
#[derive(Clone, Copy, Debug, Default)]
struct Agreed {
    /// A node's time budget is spent.
    out_of_time: bool,
    /// A node was asked to stop.
    stopped: bool,
    /// Node 0's fraction of the time budget spent.
    time: f64,
}

impl Agreed {
    fn from_sums(sums: &[f32]) -> Self {
        Self {
            out_of_time: sums[0] > 0.0,
            stopped: sums[1] > 0.0,
            time: f64::from(sums[2]),
        }
    }
}

impl<S, V> LoopState<'_, S, V> {
    fn out_of_time(&self) -> bool {
        match self.agreed {
            Some(agreed) => agreed.out_of_time,
            None => self.deadline.is_some_and(|d| Instant::now() >= d),
        }
    }

    fn stopped(&self) -> bool {
        match self.agreed {
            Some(agreed) => agreed.stopped,
            None => self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)),
        }
    }

    /// This process's view for [`Agreed`]: out of time, stopped, and (node 0's alone, so the
    /// sum is its) the fraction of the time budget spent.
    fn flags(&self, rank: usize) -> Vec<f32> {
        let out_of_time = self.deadline.is_some_and(|d| Instant::now() >= d);
        let stopped = self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
        let time = if rank == 0 { self.clock_time() } else { 0.0 };
        vec![
            f32::from(u8::from(out_of_time)),
            f32::from(u8::from(stopped)),
            time as f32,
        ]
    }

    /// The fraction of the time budget this process has spent.
    fn clock_time(&self) -> f64 {
        self.config
            .minutes
            .map_or(0.0, |m| self.started.elapsed().as_secs_f64() / (m * 60.0))
    }

    /// How far the run is at `step` (from 0) of `steps` in `epoch`: the fraction of the
    /// epochs done, or of the time budget spent when that is further (node 0's in a group, so
    /// every node takes the same rate).
    fn progress(&self, epoch: usize, step: usize, steps: usize) -> f64 {
        let epochs = (epoch - 1) as f64 + step as f64 / steps.max(1) as f64;
        let by_epochs = epochs / self.config.epochs as f64;
        let by_time = self.agreed.map_or_else(|| self.clock_time(), |a| a.time);
        by_epochs.max(by_time)
    }
}

/// The gradients of a step over `samples`, split into one batch per device: each device runs
/// forward and backward on its replica of the model, its loss weighted by its share of the
/// step's `images` (this process's samples, or every node's), and the gradients are summed on
/// the first device. Over every part of the step, the sum is the gradient of the whole step's
/// mean loss, as on one device (PyTorch DDP's mean). The devices' work is queued in turn from
/// this thread; backends that run asynchronously (CUDA, wgpu) overlap it, and no loss is read
/// until every device has its batch. Returns the sum of the losses times their images, and the
/// gradients (none without samples).
fn local_gradients<B: AutodiffBackend, N: TrainableNetwork<B, D>, S: Example<D>, const D: usize>(
    model: &N,
    devices: &[B::Device],
    samples: &[S],
    batch: usize,
    images: usize,
    loss: &Loss,
) -> Result<(f64, GradientsParams), TrainError> {
    let mut accumulator = GradientsAccumulator::new();
    let mut losses = Vec::with_capacity(devices.len());
    for (i, (device, chunk)) in devices.iter().zip(samples.chunks(batch)).enumerate() {
        // The first device holds the model; the others train a copy with fresh autodiff
        // leaves and the same parameter ids, so their gradients map back onto the model.
        let replica = if i == 0 {
            model.clone()
        } else {
            model.clone().fork(device)
        };
        let batch = SegBatch::from_samples(chunk, loss.clone(), device)?;
        let share = chunk.len() as f64 / images.max(1) as f64;
        let (value, grads) = weighted_train_step(&replica, batch, share)?;
        let grads = GradientsParams::from_grads(grads, &replica);
        accumulator.accumulate(model, grads.to_device(&devices[0], model));
        losses.push((value, chunk.len()));
    }
    let sum = losses
        .into_iter()
        .map(|(value, n)| scalar(value) * n as f64)
        .sum();
    Ok((sum, accumulator.grads()))
}

/// The module with every parameter initialised. burn initialises parameters lazily, and a
/// clone of an uninitialised parameter draws values of its own: without this, the replicas a
/// step trains and the model the optimizer updates would start from different weights.
fn materialized<B: Backend, M: burn::module::Module<B>>(module: M) -> M {
    // Visiting a parameter reads it, which initialises it in place.
    let _ = module.num_params();
    module
}

/// Reads a record written by this loop.
fn read_record<B: Backend, R: burn::record::Record<B>>(
    path: &Path,
    device: &B::Device,
) -> Result<R, TrainError> {
    let bytes = std::fs::read(path).map_err(|source| TrainError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decode::<B, R>(bytes, device).map_err(|e| TrainError::Record {
        path: path.to_path_buf(),
        source: RecorderError::Unknown(decoder_message(&e.to_string())),
    })
}

/// Whole images when they share a size the network takes; otherwise the middle crop of
/// the training crop size (mirror-padded if smaller).
fn validation_set<B: AutodiffBackend, N: TrainableNetwork<B, D>, V: Example<D>, const D: usize>(
    valid: Vec<V>,
    crop: usize,
) -> Vec<V> {
    let shape = valid[0].shape();
    let whole = shape[1..].iter().all(|&side| N::fits(side))
        && valid.iter().all(|s| s.shape()[1..] == shape[1..]);
    if whole {
        valid
    } else {
        valid.iter().map(|s| s.center_cropped(crop)).collect()
    }
}
