//! What a run tells its observers, at defined points of the epoch loop.

use std::path::Path;

use super::fit::TrainError;
use super::run::EpochRow;

/// Which file a checkpoint went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    /// `checkpoint/model-N.mpk` and `checkpoint/optim-N.mpk`, for resuming.
    Checkpoint,
    /// `last.mpk`: the newest epoch's model.
    Last,
    /// `best.mpk`: the model of the epoch with the best validation Dice so far.
    Best,
}

/// One thing that happened in a run. Events come in loop order on the training thread:
/// `EpochStart`, `Step` per batch, then `Validated`, `Written` and `CheckpointSaved` for
/// each file, and `EpochEnd` last.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An epoch's training begins; `batches` is its planned number of steps.
    EpochStart {
        /// 1-based epoch.
        epoch: usize,
        /// Planned training steps.
        batches: usize,
    },
    /// One optimizer step finished.
    Step {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// The batch's mean loss.
        loss: f64,
        /// The learning rate the step applied.
        lr: f64,
    },
    /// The epoch's validation finished; `interrupted` when the time budget or a stop request
    /// cut its training.
    Validated {
        /// 1-based epoch.
        epoch: usize,
        /// Whether the epoch's training ended early.
        interrupted: bool,
    },
    /// A file of the run folder was written (metrics, curves, a sample grid, the config).
    Written {
        /// The file.
        path: &'a Path,
    },
    /// A model (and, for [`Saved::Checkpoint`], optimizer) record was written.
    CheckpointSaved {
        /// 1-based epoch of the weights.
        epoch: usize,
        /// Which file.
        kind: Saved,
        /// The model file.
        path: &'a Path,
    },
    /// A checkpoint that does not read back (truncated or corrupt) was passed over when
    /// resuming; the run resumes from an older one.
    CheckpointSkipped {
        /// 1-based epoch of the checkpoint.
        epoch: usize,
        /// Why it does not read back.
        error: &'a TrainError,
    },
    /// The epoch is done and recorded.
    EpochEnd {
        /// The epoch's row of `metrics.csv`.
        row: &'a EpochRow,
        /// Whether it has the best validation Dice so far.
        best: bool,
    },
}

/// Code that watches a run: called for every [`Event`], on the training thread, in order.
/// Any `FnMut(&Event)` is one.
pub trait Observer {
    /// Called once per event.
    fn observe(&mut self, event: &Event<'_>);
}

impl<F: FnMut(&Event<'_>)> Observer for F {
    fn observe(&mut self, event: &Event<'_>) {
        self(event)
    }
}
