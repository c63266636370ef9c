//! Training any [`Network`](crate::Network): an explicit epoch loop over the network's
//! training and validation steps, with checkpoints, resume, a time budget, several devices,
//! and the run folder's files written at a defined point of each epoch.
//!
//! [`Training`] takes a [`TrainConfig`], a run folder, devices and [`Observer`]s, and
//! `fit::<N>(train, valid)` trains any [`TrainableNetwork`](crate::TrainableNetwork);
//! `examples/train_your_own` of the `unet` crate is a whole program.
//!
//! A run folder `runs/NAME/` holds `config.json`, `metrics.csv`, `curves.png`,
//! `samples/epoch-NNN.png`, `best.mpk` and `last.mpk` (model records), and `checkpoint/`
//! (model and optimizer of the last two epochs, for resuming). Every file is written
//! atomically and durably; a write that fails ends the run with an error naming the file.

mod batch;
pub mod checkpoint;
pub mod cluster;
mod config;
mod events;
mod fit;
mod loss;
mod progress;
mod run;
mod schedule;
mod step;

pub use batch::{augmentation, draw_batch, epoch_order, SegBatch};
pub use config::{Parallel, Strategy, TrainConfig};
pub use events::{Event, Observer, Saved};
pub use fit::{TrainError, TrainSummary, Training};
pub use loss::{predict_classes, predict_labels, segmentation_loss, Loss, LossError, LossKind};
pub use progress::ProgressDisplay;
pub use run::{
    best_row, claim, clear_run, complete_checkpoints, last_complete_checkpoint, occupant,
    read_rows, EpochRow, Occupant, RunFolder, Written, RUN_ENTRIES,
};
pub use schedule::{Choice, OptimizerKind, Schedule};
pub use step::{train_step, valid_step, EpochStats, Preview, StepError};

/// Has the C allocator keep the memory a training step frees for the next step, instead of
/// handing its large blocks back to the system and faulting them in again: glibc's
/// `mallopt` with a 32 MiB mmap threshold (its largest) and no trimming. flex allocates and
/// frees the same large tensors every step; on 2 cores this made an ISBI 2012 epoch of
/// `small` about 10% faster (BENCHMARKS.md). Call it once at the start of a program that
/// trains or predicts on the CPU; `unet::cli!` tools do. The process keeps its peak memory
/// until it ends. Returns whether the allocator took the settings (never on other C
/// libraries, where it does nothing).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets allocator parameters; both values are in glibc's
        // documented ranges (the mmap threshold at most HEAP_MAX_SIZE / 2 = 32 MiB).
        unsafe {
            let mmap = libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            let trim = libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
            mmap == 1 && trim == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_allocator_settings() {
        assert!(super::keep_freed_memory());
    }
}
